"""Intervals for anything computed from a fit's parameters.

Two kinds of prediction interval are distinguished:

- ``"mean"``: where the fitted law itself lies (uncertainty of the parameters);
- ``"new_run"``: where a new run's measured loss lies, which adds the
  residual scatter of single runs (seed noise) to the mean law's uncertainty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..errors import InputError
from ..fitting.result import Fit
from ..predict import require_inputs

INTERVAL_KINDS = ("mean", "new_run")


def require_bootstrap(fit: Fit) -> np.ndarray:
    """The converged replicates (R, P), or a clear error if the fit has none."""
    if fit.bootstrap is None:
        raise InputError(
            "this fit has no bootstrap replicates, so it has no intervals; refit with "
            "`scalinglaws fit RUNS --bootstrap 1000` (Python: scalinglaws.uncertainty.bootstrap)"
        )
    reps = fit.bootstrap.replicates
    return reps[np.all(np.isfinite(reps), axis=1)]


def replicate_params(fit: Fit) -> list[dict[str, float]]:
    """Each converged replicate as a parameter mapping."""
    names = fit.law.parameter_names
    return [dict(zip(names, row, strict=True)) for row in require_bootstrap(fit)]


def percentile_interval(values: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - level) / 2.0
    finite = np.where(np.isfinite(values), values, np.nan)
    return np.nanquantile(finite, tail, axis=axis), np.nanquantile(finite, 1.0 - tail, axis=axis)


def derived_interval(fit: Fit, quantity: Callable[[Mapping[str, float]], float | np.ndarray], *, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``quantity(params)`` over the bootstrap replicates."""
    level = fit.bootstrap.level if level is None and fit.bootstrap else level
    values = np.array([np.asarray(quantity(p), dtype=float) for p in replicate_params(fit)])
    return percentile_interval(values, float(level))  # type: ignore[arg-type]


def prediction_interval(
    fit: Fit,
    inputs: Mapping[str, np.ndarray | float],
    *,
    level: float | None = None,
    kind: str = "mean",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of the predicted loss at ``inputs`` (a value or array for each of the law's inputs).

    ``kind="mean"`` bounds the fitted law; ``kind="new_run"`` bounds a new
    run's loss by adding the fit's residual scatter (drawn in the loss's
    residual space, seeded) to each replicate's prediction.
    """
    if kind not in INTERVAL_KINDS:
        raise InputError(f"interval kind must be one of {', '.join(INTERVAL_KINDS)}, got {kind!r}")
    require_inputs(fit, inputs)
    reps = replicate_params(fit)
    level = fit.bootstrap.level if level is None else level  # type: ignore[union-attr]
    if not (0 < level < 1):
        raise InputError(f"--level must be between 0 and 1, got {level!r}")
    arrays = {k: np.asarray(v, dtype=float) for k, v in inputs.items()}
    with np.errstate(all="ignore"):
        predictions = np.array([np.asarray(fit.law.function(p, arrays), dtype=float) for p in reps])
    if kind == "new_run":
        scatter = fit.bootstrap.residual_std if fit.bootstrap and fit.bootstrap.residual_std else fit.residual_std  # type: ignore[union-attr]
        noise = np.random.default_rng(seed).standard_normal(predictions.shape) * scatter
        predictions = predictions * np.exp(noise) if fit.loss.space == "log" else predictions + noise
    return percentile_interval(predictions, float(level))


def allocation_exponent(params: Mapping[str, float]) -> float:
    r"""Exponent a of N*(C) proportional to C^a for Chinchilla's law: :math:`\beta/(\alpha+\beta)`."""
    return float(params["beta"] / (params["alpha"] + params["beta"]))


def allocation_exponent_interval(fit: Fit, *, level: float | None = None) -> tuple[float, tuple[float, float] | None]:
    """Point value and (with a bootstrap) interval of beta / (alpha + beta)."""
    if not {"alpha", "beta"} <= set(fit.params):
        raise InputError(f"law {fit.law.name!r} has no alpha and beta, so no allocation exponent beta/(alpha+beta)")
    point = allocation_exponent(fit.params)
    if fit.bootstrap is None:
        return point, None
    lo, hi = derived_interval(fit, allocation_exponent, level=level)
    return point, (float(lo), float(hi))
