"""Bootstrap by run, and intervals for parameters, predictions and derived quantities."""

from .bootstrap import bootstrap, resampling_groups
from .intervals import (
    INTERVAL_KINDS,
    allocation_exponent,
    allocation_exponent_interval,
    derived_interval,
    prediction_interval,
    replicate_params,
    require_bootstrap,
)

__all__ = [
    "INTERVAL_KINDS",
    "allocation_exponent",
    "allocation_exponent_interval",
    "bootstrap",
    "derived_interval",
    "prediction_interval",
    "replicate_params",
    "require_bootstrap",
    "resampling_groups",
]
