"""Predictions from a fitted law."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import ExtrapolationWarning, InputError
from .fitting.result import Fit, FitWarning, load_fit

#: Warn when an input lies this many times beyond the fitted range.
EXTRAPOLATION_FACTOR = 10.0


@dataclass(frozen=True)
class Prediction:
    """The predicted value of the law at one set of inputs."""

    inputs: dict[str, float]
    loss: float
    interval: tuple[float, float] | None = None
    new_run_interval: tuple[float, float] | None = None
    level: float | None = None
    warnings: tuple[FitWarning, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "inputs": self.inputs,
            "loss": self.loss,
            # The interval of the mean law (parameter uncertainty only) ...
            "interval": list(self.interval) if self.interval else None,
            # ... and of a new run's measured loss (adds the residual scatter).
            "new_run_interval": list(self.new_run_interval) if self.new_run_interval else None,
            "level": self.level,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def as_fit(fit: object) -> Fit:
    """``fit`` itself, or the fit saved at the path ``fit`` (read with :func:`load_fit`).

    Raises
    ------
    InputError
        If ``fit`` is neither a :class:`Fit` nor a path (or if the file is missing or not a fit).
    """
    if isinstance(fit, Fit):
        return fit
    if isinstance(fit, (str, os.PathLike)):
        return load_fit(fit)
    raise InputError(f"fit must be a Fit (from sl.fit) or the path of a fit JSON (written by Fit.save or `scalinglaws fit -o`); "
                     f"got {type(fit).__name__}")


def require_inputs(fit: Fit, inputs: Mapping[str, object]) -> None:
    """Raise :class:`InputError` naming the law's inputs absent from ``inputs``."""
    missing = [v for v in fit.law.variables if v not in inputs]
    if missing:
        example = " ".join(f"{v}=..." for v in fit.law.variables)
        raise InputError(f"missing input(s) {', '.join(missing)} for law {fit.law.name!r}; give all of: {example}")


def _inputs(fit: Fit, inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
    unknown = sorted(set(inputs) - set(fit.law.variables))
    if unknown:
        raise InputError(f"law {fit.law.name!r} takes inputs {', '.join(fit.law.variables)}; unknown input(s): {', '.join(unknown)}")
    require_inputs(fit, inputs)
    arrays = {}
    for name in fit.law.variables:
        try:
            values = np.asarray(inputs[name], dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"input {name} must be a number, got {inputs[name]!r}") from None
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise InputError(f"input {name} must be a finite number > 0, got {inputs[name]!r}")
        arrays[name] = values
    empty = [name for name, values in arrays.items() if values.size == 0]
    if empty:
        raise InputError(f"no inputs to predict at: {', '.join(empty)} {'has' if len(empty) == 1 else 'have'} no values; "
                         f"give at least one value for each input, e.g. {' '.join(f'{v}=...' for v in fit.law.variables)}")
    try:
        np.broadcast_shapes(*(values.shape for values in arrays.values()))
    except ValueError:
        sizes = ", ".join(f"{name} has {values.size}" for name, values in arrays.items())
        raise InputError(f"inputs {', '.join(arrays)} have different numbers of values ({sizes}); "
                         "give each input either one value or the same number of values as the others") from None
    return arrays


def extrapolation_warnings(fit: Fit, arrays: Mapping[str, np.ndarray]) -> tuple[FitWarning, ...]:
    """Warn, saying how far, where inputs lie far outside the fitted range."""
    out = []
    arrays = dict(arrays)
    if "C" in fit.data_range and "C" not in arrays and {"N", "D"} <= set(arrays):
        # Plans and predictions in (N, D) are also judged by compute, C = 6 N D.
        arrays["C"] = 6.0 * np.asarray(arrays["N"], dtype=float) * np.asarray(arrays["D"], dtype=float)
    for name, values in arrays.items():
        lo, hi = fit.data_range.get(name, (np.nan, np.nan))
        peak = float(np.max(values))
        if np.isfinite(hi) and peak > EXTRAPOLATION_FACTOR * hi:
            what = "compute" if name == "C" else name
            out.append(FitWarning(ExtrapolationWarning.code, f"{name} = {peak:.3g} is {peak / hi:.0f}x the largest {what} fitted ({hi:.3g})"))
        low = float(np.min(values))
        if np.isfinite(lo) and low < lo / EXTRAPOLATION_FACTOR:
            out.append(FitWarning(ExtrapolationWarning.code, f"{name} = {low:.3g} is {lo / low:.0f}x below the smallest {name} fitted ({lo:.3g})"))
    return tuple(out)


def predict(fit: Fit | str | os.PathLike[str], **inputs: object) -> np.ndarray:
    """Predicted loss at the given inputs (scalars or arrays that broadcast).

    ``fit`` is a :class:`Fit` or the path of a fit saved as JSON (by
    :meth:`Fit.save` or ``scalinglaws fit -o``), read with :func:`load_fit`.

    Examples
    --------
    >>> from scalinglaws.laws import CHINCHILLA, CHINCHILLA_PUBLISHED
    >>> from scalinglaws.fitting import Fit, Loss
    >>> f = Fit(CHINCHILLA, CHINCHILLA_PUBLISHED, 0.0, Loss(), 0, "converged")
    >>> round(float(predict(f, N=70e9, D=1.4e12)), 4)
    1.9208
    """
    fit = as_fit(fit)
    arrays = _inputs(fit, inputs)
    for w in extrapolation_warnings(fit, arrays):
        warnings.warn(w.message, ExtrapolationWarning, stacklevel=2)
    with np.errstate(invalid="ignore"):
        values = np.asarray(fit.law.function(dict(fit.params), arrays), dtype=float)
    for w in domain_warnings(fit, values):
        warnings.warn(w.message, ExtrapolationWarning, stacklevel=2)
    return values


def domain_warnings(fit: Fit, values: np.ndarray) -> tuple[FitWarning, ...]:
    """A warning when some predictions are NaN: the inputs lie outside the law's domain."""
    bad = int(np.count_nonzero(np.isnan(values)))
    if not bad:
        return ()
    return (FitWarning(ExtrapolationWarning.code, f"{bad} of {np.size(values)} prediction(s) are undefined (NaN): the inputs lie outside the domain of "
                                                  f"the fitted {fit.law.name} law (e.g. a loss below a fitted shift); fix that parameter or refit on data that reaches there"),)


def predict_points(fit: Fit | str | os.PathLike[str], points: list[Mapping[str, object]], *, level: float | None = None) -> list[Prediction]:
    """One :class:`Prediction` per point, each with its extrapolation warnings.

    With bootstrap replicates in ``fit`` (or when ``level`` is given, which
    then requires them), each prediction carries the interval of the mean
    law and the wider interval for a new run's measured loss. ``fit`` may
    be the path of a saved fit, as for :func:`predict`.
    """
    from .uncertainty.intervals import prediction_interval

    fit = as_fit(fit)
    want_intervals = fit.bootstrap is not None or level is not None
    level = level if level is not None else (fit.bootstrap.level if fit.bootstrap else None)
    out = []
    for point in points:
        arrays = _inputs(fit, point)
        with np.errstate(invalid="ignore"):
            value = float(fit.law.function(dict(fit.params), arrays))
        interval = new_run = None
        if want_intervals:
            lo, hi = prediction_interval(fit, arrays, level=level, kind="mean")
            interval = (float(lo), float(hi))
            lo, hi = prediction_interval(fit, arrays, level=level, kind="new_run")
            new_run = (float(lo), float(hi))
        out.append(Prediction({k: float(v) for k, v in arrays.items()}, value, interval, new_run, level if want_intervals else None,
                              extrapolation_warnings(fit, arrays) + domain_warnings(fit, np.asarray(value))))
    return out
