"""Predict whole learning curves for unseen schedules, and forecast runs in progress.

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

from ..errors import IdentifiabilityWarning, InputError, ScalingLawWarning, warning_class
from ..fitting.result import FitWarning
from .areas import warmup_length
from .checks import ScheduleExtrapolationWarning, ZeroLearningRateWarning, compare_to_fitted, schedule_summary, zero_lr_message
from .data import Curve, truncate_curve
from .fit import MIN_ANNEAL, fit_curves
from .laws import CurveLaw, get_curve_law
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
    start = min(max(start, 1), total)
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


@dataclass(frozen=True, eq=False)
class RunForecast:
    """The forecast of a run in progress: its final loss, the curve to come and the fit behind it."""

    final_step: int
    final_loss: float
    interval: tuple[float, float] | None
    level: float | None
    interval_method: str
    observed_until: int
    fit: CurveFit
    prediction: CurvePrediction
    warnings: tuple[FitWarning, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": "scalinglaws.run_forecast/1",
            "law": self.fit.law.name,
            "observed_until": self.observed_until,
            "final_step": self.final_step,
            "final_loss": self.final_loss,
            "interval": None if self.interval is None else list(self.interval),
            "level": self.level,
            "interval_method": self.interval_method,
            "params": {k: float(v) for k, v in self.fit.params.items()},
            "fit_status": self.fit.status,
            "curve": self.prediction.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def forecast_run(
    curve: Curve,
    law: str | CurveLaw = "lr_annealing",
    *,
    final_step: int | None = None,
    bootstrap: int = 100,
    level: float = 0.95,
    seed: int = 0,
    points: int = DEFAULT_POINTS,
    min_anneal: float = MIN_ANNEAL,
    **fit_options: object,
) -> RunForecast:
    """Forecast the final loss of a run in progress from its logged curve and its planned schedule.

    ``curve.lr`` must be the *whole* planned schedule; ``curve.steps`` and
    ``curve.loss`` the checkpoints logged so far. The law is fitted on those
    checkpoints and evaluated at ``final_step`` (default: the schedule's
    last step), with a residual or run bootstrap interval.

    Early in a run the LR has barely decayed, and the annealing term cannot be
    told apart from the curvature of the power law in S1: a free fit then
    extrapolates wildly (on the Mamba-3B curve cut at 25%, -80%). So when the
    logged part has decayed by less than ``min_anneal`` (a fraction of the
    peak) while the plan decays further, the annealing coefficient is held at
    0 (and the fit warns): the forecast then carries no annealing benefit
    beyond the power law in S1. Pass ``min_anneal=0`` to fit it anyway.

    Examples
    --------
    >>> from scalinglaws.curves import LR_ANNEALING, schedule_curve, truncate_curve
    >>> truth = {"L0": 2.0, "A": 0.6, "alpha": 0.5, "C": 0.2, "lam": 0.999}
    >>> c = schedule_curve("cosine:peak=1e-3,warmup=100", 4000, at=range(200, 4001, 50))
    >>> c = schedule_curve("cosine:peak=1e-3,warmup=100", 4000, at=c.steps, loss=LR_ANNEALING(truth, c.lr, c.steps))
    >>> f = forecast_run(truncate_curve(c, 3000), bootstrap=0)
    >>> bool(abs(f.final_loss / c.loss[-1] - 1) < 1e-6)
    True
    """
    if not isinstance(curve, Curve) or curve.loss is None:
        raise InputError("forecast_run needs a Curve with logged losses and the whole planned schedule as its lr")
    end = curve.total_steps if final_step is None else int(final_step)
    if not (1 <= end <= curve.total_steps):
        raise InputError(f"final_step must be in [1, {curve.total_steps}] (the planned schedule's length), got {final_step!r}")
    if not (0.0 <= min_anneal <= 1.0):
        raise InputError(f"min_anneal must be a fraction of the peak LR in [0, 1], got {min_anneal!r}")
    law = get_curve_law(law)
    notes: list[FitWarning] = []
    logged = schedule_summary(curve.lr, int(curve.steps[-1]))["anneal"]
    planned = schedule_summary(curve.lr, end)["anneal"]
    options = dict(fit_options)
    scale = law.linear[2]
    if logged < min_anneal < planned and scale not in dict(options.get("fixed") or {}):  # type: ignore[call-overload]
        options["fixed"] = {**dict(options.get("fixed") or {}), scale: 0.0}  # type: ignore[call-overload]
        notes.append(FitWarning(IdentifiabilityWarning.code,
                                f"run {curve.name!r} has decayed only {logged:.0%} below its peak LR so far (plan: {planned:.0%}); the "
                                f"annealing coefficient {scale} is held at 0, so the forecast carries no annealing benefit beyond the "
                                f"power law in S1 (min_anneal={min_anneal:g})"))
    with warnings.catch_warnings():
        # Both sets are recorded on the results and re-raised once below.
        warnings.simplefilter("ignore", ScalingLawWarning)
        fit = fit_curves(curve, law, bootstrap=bootstrap, level=level, seed=seed, **options)  # type: ignore[arg-type]
        first = min(int(r["first_step"]) for r in fit.runs)  # the curve from the first fitted checkpoint to the end
        at = np.unique(np.concatenate([_default_steps(end, points, first), [min(int(curve.steps[-1]), end), end]]))
        planned = Curve(lr=curve.lr[:end], steps=[end], name=curve.name, schedule=curve.schedule)
        prediction = predict_curve(fit, planned, at=at[at >= min(first, end)])
    found = tuple(notes) + tuple(fit.warnings) + tuple(w for w in prediction.warnings if w not in fit.warnings)
    for w in found:
        warnings.warn(w.message, warning_class(w.code), stacklevel=2)
    interval = None if prediction.lower is None else (float(prediction.lower[-1]), float(prediction.upper[-1]))  # type: ignore[index]
    return RunForecast(end, prediction.final_loss, interval, prediction.level, prediction.interval_method, int(curve.steps[-1]),
                       fit, prediction, found)


def backtest_forecast(
    curve: Curve,
    law: str | CurveLaw = "lr_annealing",
    *,
    fractions: Sequence[float] = (0.1, 0.25, 0.5),
    final_window: int = 0,
    **fit_options: object,
) -> pd.DataFrame:
    """Truncate a finished run at fractions of its steps, forecast its last logged loss, and score it.

    ``final_window`` (steps): score the mean over the logged checkpoints of
    the last ``final_window`` steps instead of the last checkpoint alone
    (steadier on noisy training losses); predictions are averaged over the
    same checkpoints.

    Returns one row per fraction: ``fraction``, ``observed_until``,
    ``predicted``, ``actual`` (the final logged loss), ``relative_error``
    (signed, predicted / actual - 1), ``status`` and ``warnings`` (the
    codes raised by that forecast: recorded here, not re-raised).
    """
    if curve.loss is None or curve.steps.size < 2:
        raise InputError("backtest_forecast needs a logged curve with at least 2 checkpoints")
    last = int(curve.steps[-1])
    if isinstance(final_window, bool) or not isinstance(final_window, int) or final_window < 0:
        raise InputError(f"final_window must be a whole number of steps >= 0, got {final_window!r}")
    tail = curve.steps > last - final_window if final_window else curve.steps == last
    actual = float(np.mean(curve.loss[tail]))
    rows = []
    for fraction in fractions:
        if not (0 < fraction < 1):
            raise InputError(f"fractions must be in (0, 1), got {fraction!r}")
        cut = int(fraction * last)
        observed = truncate_curve(Curve(lr=curve.lr[:last], steps=curve.steps, loss=curve.loss, name=curve.name, schedule=curve.schedule), cut)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScalingLawWarning)
            forecast = forecast_run(observed, law, final_step=last, bootstrap=0, **fit_options)  # type: ignore[arg-type]
        codes = sorted({getattr(w.category, "code", "warning") for w in caught})
        predicted = float(np.mean(forecast.fit.law(forecast.fit.params, curve.lr[:last], curve.steps[tail])))
        rows.append({
            "fraction": float(fraction),
            "observed_until": int(observed.steps[-1]),
            "predicted": predicted,
            "actual": actual,
            "relative_error": predicted / actual - 1.0,
            "status": forecast.fit.status,
            "warnings": ",".join(codes),
        })
    return pd.DataFrame(rows)


__all__ = ["CurvePrediction", "RunForecast", "backtest_forecast", "forecast_run", "predict_curve", "schedule_warnings"]
