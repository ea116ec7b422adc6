"""Runs tables: reading, column roles, derivations and validation."""

from .readers import WELL_KNOWN, map_columns, read_runs, read_table
from .runs import FLOPS_PER_PARAM_TOKEN, ROLES, Runs, validate_positive

__all__ = ["FLOPS_PER_PARAM_TOKEN", "ROLES", "WELL_KNOWN", "Runs", "map_columns", "read_runs", "read_table", "validate_positive"]
