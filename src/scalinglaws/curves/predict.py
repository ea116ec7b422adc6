"""Predict whole learning curves for unseen schedules (forecasts of runs in progress: :mod:`.forecast`).

Intervals come from the bootstrap replicates stored in the fit
(:func:`scalinglaws.curves.fit_curves` with ``bootstrap=R``): a bootstrap
over runs when three or more runs were fitted, otherwise a moving-block
bootstrap of each run's residuals. They are intervals of the law's mean
curve (parameter uncertainty), not of one run's noisy logged loss; the
method is stated in every prediction.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError, warning_class
from ..fitting.result import FitWarning
from .areas import warmup_length
from .checks import ScheduleExtrapolationWarning, ZeroLearningRateWarning, compare_to_fitted, schedule_summary, zero_lr_message
from .data import Curve
from .result import CurveFit
from .schedules import Schedule, learning_rates, parse_schedule

#: Steps at which a whole curve is predicted by default (evenly spaced, last step included).
DEFAULT_POINTS = 200


@dataclass(frozen=True, eq=False)
class CurvePrediction:
    """A predicted learning curve.

    Attributes
    ----------
    steps, loss: the predicted loss at each step.
    lower, upper: interval bounds (``None`` without bootstrap replicates).
    level: the interval's coverage.
    interval_method: how the interval was made.
    schedule: the schedule's spec (or ``"array"``).
    law: the law's name.
    warnings: warnings about the schedule (zero-LR padding, extrapolation).
    """

    steps: np.ndarray
    loss: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    level: float | None
    interval_method: str
    schedule: str
    law: str
    warnings: tuple[FitWarning, ...] = ()

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"step": self.steps, "loss": self.loss})
        if self.lower is not None:
            frame["lower"], frame["upper"] = self.lower, self.upper
        return frame

    def to_dict(self) -> dict[str, object]:
        final: dict[str, object] = {"step": int(self.steps[-1]), "loss": self.final_loss}
        out: dict[str, object] = {
            "schema": "scalinglaws.curve_prediction/1",
            "law": self.law,
            "schedule": self.schedule,
            "steps": [int(s) for s in self.steps],
            "loss": [float(v) for v in self.loss],
        }
        if self.lower is not None and self.upper is not None:
            out.update({"lower": [float(v) for v in self.lower], "upper": [float(v) for v in self.upper], "level": self.level})
            final["interval"] = [float(self.lower[-1]), float(self.upper[-1])]
        out["interval_method"] = self.interval_method
        out["final"] = final
        out["warnings"] = [w.to_dict() for w in self.warnings]
        return out


def _schedule_lr(schedule: Schedule | str | np.ndarray | Curve, steps: int | None) -> tuple[np.ndarray, str]:
    if isinstance(schedule, Curve):
        return schedule.lr, schedule.schedule
    if isinstance(schedule, (Schedule, str)):
        spec = parse_schedule(schedule)
        return learning_rates(spec, steps), spec.spec()
    lr = np.asarray(schedule, dtype=float)
    if lr.ndim != 1 or lr.size == 0 or not np.all(np.isfinite(lr)) or np.any(lr < 0):
        raise InputError("a schedule array must be a non-empty 1-D array of finite learning rates >= 0, one per step")
    if steps is not None and steps != lr.size:
        raise InputError(f"steps={steps} differs from the schedule array's length {lr.size}")
    return lr, "array"


def _default_steps(total: int, points: int, start: int = 1) -> np.ndarray:
    """``points`` evenly spaced steps from ``start`` to ``total``, the last one always included (alone when ``points`` is 1)."""
    start = min(max(start, 1), total)
    if points == 1:
        return np.array([total], dtype=np.int64)
    return np.unique(np.round(np.linspace(start, total, min(points, total - start + 1))).astype(np.int64))


def predict_curve(
    fit: CurveFit,
    schedule: Schedule | str | np.ndarray | Curve,
    *,
    steps: int | None = None,
    at: Sequence[int] | np.ndarray | None = None,
    points: int = DEFAULT_POINTS,
    level: float | None = None,
) -> CurvePrediction:
    """Predict the loss curve of a schedule with a fitted learning-curve law.

    Parameters
    ----------
    fit:
        A :class:`CurveFit`.
    schedule:
        A spec (``"wsd:peak=3e-4,warmup=500,decay=0.2"``), a :class:`Schedule`,
        a per-step LR array or a :class:`Curve`.
    steps:
        Total steps of the schedule (unless the spec or array fixes them).
    at:
        Steps to predict at (default: ``points`` evenly spaced steps from the end of warm-up, the last included).
    level:
        Interval coverage (default: the fit's); needs bootstrap replicates in the fit.

    Returns
    -------
    CurvePrediction

    Warns
    -----
    ZeroLearningRateWarning
        When the schedule pads with zero-LR steps.
    ScheduleExtrapolationWarning
        When the schedule's peak, forward area or annealing depth is far from the fitted runs'.
    """
    lr, label = _schedule_lr(schedule, steps)
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise InputError(f"points must be a positive integer, got {points!r}")
    # By default from the end of warm-up: the laws describe the loss after it.
    where = _default_steps(lr.size, points, warmup_length(lr) + 1) if at is None else np.asarray(at)
    if where.size == 0 or not np.all(np.isfinite(where)) or np.any(where != np.round(where)) or where.min() < 1 or where.max() > lr.size:
        raise InputError(f"steps to predict must be whole numbers in [1, {lr.size}] (the schedule's length)")
    where = np.unique(where.astype(np.int64))
    found = schedule_warnings(fit, lr, int(where[-1]), label)
    loss = fit.law(fit.params, lr, where)
    lower = upper = None
    method = "none (fit without bootstrap replicates; run the fit with bootstrap=R for intervals)"
    coverage = level if level is not None else fit.level
    if level is not None and not (0 < level < 1):
        raise InputError(f"level must be in (0, 1), got {level!r}")
    if fit.replicates:
        with np.errstate(all="ignore"):
            draws = np.array([fit.law(r, lr, where) for r in fit.replicates])
        tail = (1 - float(coverage)) / 2  # type: ignore[arg-type]
        lower, upper = np.nanquantile(draws, [tail, 1 - tail], axis=0)
        method = f"{fit.bootstrap_method}; interval of the mean curve"
    elif level is not None:
        raise InputError("intervals need bootstrap replicates: refit with bootstrap=R (CLI: --bootstrap R)")
    for w in found:
        warnings.warn(w.message, warning_class(w.code), stacklevel=2)
    return CurvePrediction(where, loss, lower, upper, coverage if fit.replicates else None, method, label, fit.law.name, tuple(found))


def schedule_warnings(fit: CurveFit, lr: np.ndarray, last_step: int, label: str = "schedule") -> list[FitWarning]:
    """Zero-LR padding and distance from the fitted schedules, for a schedule predicted up to ``last_step``."""
    out = []
    message = zero_lr_message(lr[:last_step], label)
    if message:
        out.append(FitWarning(ZeroLearningRateWarning.code, message))
    for text in compare_to_fitted(schedule_summary(lr, last_step), fit.runs, label):  # type: ignore[arg-type]
        out.append(FitWarning(ScheduleExtrapolationWarning.code, text))
    return out


__all__ = ["DEFAULT_POINTS", "CurvePrediction", "predict_curve", "schedule_warnings"]
