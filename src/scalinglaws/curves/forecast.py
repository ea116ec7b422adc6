"""Forecast the final loss of a run in progress, and backtest such forecasts on finished runs.

Early in a run the logged curve does not pin the law down: the exponent
alpha of the forward area trades off against the irreducible loss L0, and
the annealing term is invisible until the LR has decayed. Two remedies, both
in :func:`forecast_run`:

- an honest interval: besides the residual bootstrap, the range of the
  forecast over every parameter value the logged part cannot reject (a
  profile-likelihood range, :mod:`.profile`), with a warning when it is wide;
- a prior: the shape parameters (alpha and lambda, or alpha, beta and gamma)
  held at the values fitted on other runs, and the annealing coefficient
  too while the run has not decayed enough to show it; their spread (the
  prior's bootstrap replicates, or the fits of several runs) enters the
  interval.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as t_distribution

from ..errors import IdentifiabilityWarning, InputError, ScalingLawWarning, warning_class
from ..arguments import check_replicates
from ..fitting.result import FitWarning
from .checks import schedule_summary
from .data import Curve, truncate_curve
from .fit import MIN_ANNEAL, fit_curves
from .laws import CurveLaw, get_curve_law
from .predict import DEFAULT_POINTS, CurvePrediction, _default_steps, predict_curve
from .profile import ProfileRange, profile_range
from .result import CurveFit

INTERVALS = ("both", "bootstrap", "profile")
#: A profile-likelihood range wider than this fraction of the forecast means the logged part does not identify it.
NOT_IDENTIFIED = 0.05
#: With a prior, the annealing coefficient is taken from it until the run has decayed this far below its peak LR:
#: on the datablations cosine runs, C fitted on a 12% decay erred by up to 3.4% at 25% of the run, the prior's by 0.6%.
PRIOR_MIN_ANNEAL = 0.5
#: Below this many prior draws (several prior fits), the interval over them is a t prediction interval.
MANY_DRAWS = 20


@dataclass(frozen=True, eq=False)
class RunForecast:
    """The forecast of a run in progress: its final loss, the curve to come and the fit behind it.

    ``interval`` spans the bootstrap interval and, with ``interval="both"`` or
    ``"profile"``, the profile-likelihood range (``profile``); ``prior`` names
    the parameters held at a prior fit's values.
    """

    final_step: int
    final_loss: float
    interval: tuple[float, float] | None
    level: float | None
    interval_method: str
    observed_until: int
    fit: CurveFit
    prediction: CurvePrediction
    warnings: tuple[FitWarning, ...] = ()
    profile: ProfileRange | None = None
    prior: dict[str, float] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": "scalinglaws.run_forecast/1",
            "law": self.fit.law.name,
            "observed_until": self.observed_until,
            "final_step": self.final_step,
            "final_loss": self.final_loss,
            "interval": None if self.interval is None else [v if np.isfinite(v) else None for v in self.interval],
            "level": self.level,
            "interval_method": self.interval_method,
            "profile": None if self.profile is None else {
                "range": [self.profile.lower, self.profile.upper], "level": self.profile.level,
                "accepted": self.profile.accepted, "grid": self.profile.grid,
                "parameters": {k: list(v) for k, v in self.profile.parameters.items()},
            },
            "prior": self.prior,
            "params": {k: float(v) for k, v in self.fit.params.items()},
            "fit_status": self.fit.status,
            "curve": self.prediction.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def prior_values(prior: CurveFit | Sequence[CurveFit], law: CurveLaw) -> tuple[dict[str, float], list[dict[str, float]], str]:
    """The values a prior offers, their draws, and where the draws come from.

    The prior offers the shape parameters, the nonlinear ones that do not
    depend on the LR's units (``alpha`` and ``lam`` of lr_annealing;
    ``alpha``, ``beta``, ``gamma`` of multi_power), and the annealing
    coefficient (``C``; ``B``), in the units of the prior's LR. One fit: its
    values, drawn from its bootstrap replicates. Several fits (e.g. of other
    model sizes): their median, drawn from the fits themselves.
    """
    fits = [prior] if isinstance(prior, CurveFit) else list(prior) if isinstance(prior, (list, tuple)) else None
    if not fits or not all(isinstance(f, CurveFit) for f in fits):
        raise InputError("prior must be a CurveFit or a list of CurveFits of other runs (load_curve_fit, or --prior FIT.json)")
    for f in fits:
        if f.law.name != law.name:
            raise InputError(f"the prior is a fit of law {f.law.name!r} but the forecast uses {law.name!r}; fit the prior with --law {law.name}")
    names = [p.name for p in law.nonlinear if p.name not in law.lr_scaled] + [law.linear[2]]
    if len(fits) == 1:
        central = {n: float(fits[0].params[n]) for n in names}
        draws = [{n: float(r[n]) for n in names} for r in fits[0].replicates]
        source = (f"{len(draws)} bootstrap replicates of the prior" if draws
                  else "the prior's values only (it has no bootstrap replicates: the interval is conditional on them)")
        return central, draws, source
    draws = [{n: float(f.params[n]) for n in names} for f in fits]
    central = {n: float(np.median([d[n] for d in draws])) for n in names}
    return central, draws, f"the {len(fits)} prior fits"


def _draw_range(curve: Curve, law: CurveLaw, held: dict[str, float], draws: Sequence[dict[str, float]], lr: np.ndarray,
                at: np.ndarray, level: float, options: dict[str, object]) -> tuple[float, float]:
    """The central ``level`` range of the forecast (mean over ``at``) refitted with each draw of the prior."""
    values = []
    for draw in draws:
        refit = fit_curves(curve, law, fixed={**held, **draw}, **options)  # type: ignore[arg-type]
        values.append(float(np.mean(law(refit.params, lr, at))))
    tail = (1.0 - level) / 2.0
    if len(values) >= MANY_DRAWS:
        low, high = np.quantile(values, [tail, 1.0 - tail])
        return float(low), float(high)
    # A few prior fits are a small sample of runs, and this run is one more: a t prediction interval
    # (mean +- t sd sqrt(1 + 1/n)) rather than their range.
    n = len(values)
    half = float(t_distribution.ppf(1.0 - tail, n - 1)) * float(np.std(values, ddof=1)) * np.sqrt(1.0 + 1.0 / n)
    centre = float(np.mean(values))
    return min(centre - half, min(values)), max(centre + half, max(values))


def forecast_run(
    curve: Curve,
    law: str | CurveLaw = "lr_annealing",
    *,
    final_step: int | None = None,
    prior: CurveFit | Sequence[CurveFit] | None = None,
    interval: str = "both",
    bootstrap: int = 100,
    level: float = 0.95,
    seed: int = 0,
    points: int = DEFAULT_POINTS,
    min_anneal: float | None = None,
    **fit_options: object,
) -> RunForecast:
    """Forecast the final loss of a run in progress from its logged curve and its planned schedule.

    ``curve.lr`` must be the *whole* planned schedule; ``curve.steps`` and
    ``curve.loss`` the checkpoints logged so far. The law is fitted on those
    checkpoints and evaluated at ``final_step`` (default: the schedule's
    last step).

    Early in a run the LR has barely decayed, and the annealing term cannot be
    told apart from the curvature of the power law in S1: a free fit then
    extrapolates wildly (on the Mamba-3B curve cut at 25%, -80%). So when the
    logged part has decayed by less than ``min_anneal`` (a fraction of the
    peak) while the plan decays further, the annealing coefficient is held at
    0, or at the prior's value (and the fit warns): without a prior the
    forecast then carries no annealing benefit beyond the power law in S1.
    Pass ``min_anneal=0`` to fit it anyway. Default ``min_anneal``: 0.1, or
    0.5 with a prior (a coefficient fitted on a short decay is noisier than
    the prior's).

    Parameters
    ----------
    prior:
        A fit of other runs (or several): its shape parameters (``alpha``,
        ``lam``; ``alpha``, ``beta``, ``gamma``) are held at their values (the
        median of several fits) instead of fitted, and so is its annealing
        coefficient (``C``; ``B``) while this run has not decayed enough to
        fit it (instead of 0; it is in loss per unit of annealing area, so
        give the LR of both in the same units). Their spread (the prior's
        bootstrap replicates, or the several fits) enters the interval. Use it when the logged part is short: on the
        Gemstones constant-LR runs, forecasting the loss at 350B tokens from
        the first 10% errs by 0.71% on average (3.6% at worst) with alpha
        fitted and 0.36% (1.1%) with alpha from the other models' fits.
    interval:
        ``"bootstrap"`` (residual or run bootstrap, ``bootstrap`` replicates),
        ``"profile"`` (the range over the profile-likelihood set, see
        :mod:`scalinglaws.curves.profile`) or ``"both"`` (their union, the
        default): the bootstrap alone is too narrow when the logged part does
        not identify the law.

    Warns
    -----
    IdentifiabilityWarning
        When the annealing coefficient is held at 0, and when the
        profile-likelihood range is wider than 5% of the forecast (the
        forecast is not identified by the logged part).

    Examples
    --------
    >>> from scalinglaws.curves import LR_ANNEALING, schedule_curve, truncate_curve
    >>> truth = {"L0": 2.0, "A": 0.6, "alpha": 0.5, "C": 0.2, "lam": 0.999}
    >>> c = schedule_curve("cosine:peak=1e-3,warmup=100", 4000, at=range(200, 4001, 50))
    >>> c = schedule_curve("cosine:peak=1e-3,warmup=100", 4000, at=c.steps, loss=LR_ANNEALING(truth, c.lr, c.steps))
    >>> f = forecast_run(truncate_curve(c, 3000), bootstrap=0, interval="bootstrap")
    >>> bool(abs(f.final_loss / c.loss[-1] - 1) < 1e-6)
    True
    """
    if not isinstance(curve, Curve) or curve.loss is None:
        raise InputError("forecast_run needs a Curve with logged losses and the whole planned schedule as its lr")
    end = curve.total_steps if final_step is None else int(final_step)
    if not (1 <= end <= curve.total_steps):
        raise InputError(f"final_step must be in [1, {curve.total_steps}] (the planned schedule's length), got {final_step!r}")
    if min_anneal is None:
        min_anneal = MIN_ANNEAL if prior is None else PRIOR_MIN_ANNEAL
    if not (0.0 <= min_anneal <= 1.0):
        raise InputError(f"min_anneal must be a fraction of the peak LR in [0, 1], got {min_anneal!r}")
    if interval not in INTERVALS:
        raise InputError(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise InputError(f"points must be a positive integer, got {points!r}")
    check_replicates(bootstrap, "bootstrap")
    law = get_curve_law(law)
    notes: list[FitWarning] = []
    options = dict(fit_options)
    held = dict(options.pop("fixed", None) or {})  # type: ignore[call-overload]
    central: dict[str, float] | None = None
    draws: list[dict[str, float]] = []
    source = ""
    logged = schedule_summary(curve.lr, int(curve.steps[-1]))["anneal"]
    planned = schedule_summary(curve.lr, end)["anneal"]
    scale = law.linear[2]
    unidentified = logged < min_anneal < planned and scale not in held
    if prior is not None:
        central, draws, source = prior_values(prior, law)
        if not unidentified:  # the annealing coefficient is fitted on this run's own decay (or fixed by the caller)
            central.pop(scale)
            draws = [{k: v for k, v in d.items() if k != scale} for d in draws]
        clash = sorted(set(central) & set(held))
        if clash or ("lam" in central and options.get("lam") is not None):
            raise InputError(f"parameters {', '.join(clash) or 'lam'} are given both by the prior and as fixed values; give them once")
        held.update(central)
    if unidentified:
        held[scale] = held.get(scale, 0.0)
        benefit = (f"held at the prior's value {held[scale]:.4g} (in the units of the prior's LR: give both in the same units)" if prior is not None
                   else "held at 0, so the forecast carries no annealing benefit beyond the power law in S1")
        notes.append(FitWarning(IdentifiabilityWarning.code,
                                f"run {curve.name!r} has decayed only {logged:.0%} below its peak LR so far (plan: {planned:.0%}); the "
                                f"annealing coefficient {scale} is {benefit} (min_anneal={min_anneal:g})"))
    replicates = bootstrap if interval != "profile" else 0
    with warnings.catch_warnings():
        # Both sets are recorded on the results and re-raised once below.
        warnings.simplefilter("ignore", ScalingLawWarning)
        fit = fit_curves(curve, law, fixed=held or None, bootstrap=replicates if not draws else 0, level=level, seed=seed,
                         **options)  # type: ignore[arg-type]
        if draws and replicates:
            fit = _prior_bootstrap(fit, curve, law, held, draws, source, replicates, level, seed, options)
        first = min(int(r["first_step"]) for r in fit.runs)  # the curve from the first fitted checkpoint to the end
        at = np.unique(np.concatenate([_default_steps(end, points, first), [min(int(curve.steps[-1]), end), end]]))
        planned_curve = Curve(lr=curve.lr[:end], steps=[end], name=curve.name, schedule=curve.schedule)
        prediction = predict_curve(fit, planned_curve, at=at[at >= min(first, end)])
    span = None if prediction.lower is None else (float(prediction.lower[-1]), float(prediction.upper[-1]))  # type: ignore[index]
    method = prediction.interval_method if span is not None else ""
    profile = None
    if interval != "bootstrap":
        profile = profile_range(fit, curve, curve.lr[:end], [end], level=level)
        span = _join(span, (profile.lower, profile.upper))
        method = (f"{method}; " if method else "") + (f"joined with the profile-likelihood range ({profile.accepted} of {profile.grid} "
                                                      "grid points not rejected by an F-test at this level)")
        if draws:
            span = _join(span, _draw_range(curve, law, held, draws, curve.lr[:end], np.array([end]), level, options))
            method += f" and with the range of the forecasts refitted with each of {source}"
        width = (profile.upper - profile.lower) / abs(prediction.final_loss)
        if width > NOT_IDENTIFIED:
            spread = ", ".join(f"{k} from {lo:.3g} to {hi:.3g}" for k, (lo, hi) in profile.parameters.items())
            notes.append(FitWarning(IdentifiabilityWarning.code,
                                    f"the logged part of run {curve.name!r} does not identify the forecast: final losses from "
                                    f"{profile.lower:.4g} to {profile.upper:.4g} fit it about equally well ({spread}); treat "
                                    "the point forecast as one of many, or hold the shape parameters at a prior fit of other runs (prior=, --prior FIT.json)"))
    if unidentified and prior is None and span is not None:
        # C >= 0 and the logged part cannot measure it: the annealing still to come can only lower the loss, by an unknown amount.
        span = (float("-inf"), span[1])
        method += ("; lower end open: the annealing benefit of the planned decay is not identified by the logged part "
                   f"(the annealing coefficient {scale} is held at 0); a prior fit of other runs (prior=, --prior) bounds it")
    found = tuple(notes) + tuple(fit.warnings) + tuple(w for w in prediction.warnings if w not in fit.warnings)
    for w in found:
        warnings.warn(w.message, warning_class(w.code), stacklevel=2)
    return RunForecast(end, prediction.final_loss, span, level if span is not None else None, method or "none (bootstrap=0)",
                       int(curve.steps[-1]), fit, prediction, found, profile, central)


def _join(span: tuple[float, float] | None, other: tuple[float, float]) -> tuple[float, float]:
    return other if span is None else (min(span[0], other[0]), max(span[1], other[1]))


def _prior_bootstrap(fit: CurveFit, curve: Curve, law: CurveLaw, held: dict[str, float], draws: Sequence[dict[str, float]],
                     source: str, replicates: int, level: float, seed: int, options: dict[str, object]) -> CurveFit:
    """Bootstrap replicates that also draw the prior's shape parameters: each draw refitted on residual-block resamples."""
    per_draw = max(1, int(np.ceil(replicates / len(draws))))
    pooled: list[dict[str, float]] = []
    method = ""
    for k, draw in enumerate(draws):
        if len(pooled) >= replicates:
            break
        refit = fit_curves(curve, law, fixed={**held, **draw}, bootstrap=per_draw, level=level, seed=seed + k, **options)  # type: ignore[arg-type]
        pooled.extend(dict(r) for r in refit.replicates)
        method = refit.bootstrap_method
    kept = tuple(pooled[:replicates])
    described = (f"{len(kept)} replicates pooled over {len(draws)} draws of the prior's {', '.join(draws[0])} (from {source}), "
                 f"each draw with its own {method}")
    return dataclasses.replace(fit, replicates=kept, bootstrap_method=described, level=level, seed=seed)


def backtest_forecast(
    curve: Curve,
    law: str | CurveLaw = "lr_annealing",
    *,
    fractions: Sequence[float] = (0.1, 0.25, 0.5),
    final_window: int = 0,
    level: float = 0.95,
    prior: CurveFit | Sequence[CurveFit] | None = None,
    **fit_options: object,
) -> pd.DataFrame:
    """Truncate a finished run at fractions of its steps, forecast its last logged loss, and score it.

    ``final_window`` (steps): score the mean over the logged checkpoints of
    the last ``final_window`` steps instead of the last checkpoint alone
    (steadier on noisy training losses); predictions are averaged over the
    same checkpoints. Other options (``prior``, ``min_step``, ``fixed``...)
    go to :func:`forecast_run`; no bootstrap is run.

    Returns one row per fraction: ``fraction``, ``observed_until``,
    ``predicted``, ``actual`` (the final logged loss), ``relative_error``
    (signed, predicted / actual - 1), ``lower`` and ``upper`` (the
    profile-likelihood range of the scored loss at ``level``, joined with
    the range over the prior's draws when a prior is given; ``lower`` is
    ``-inf`` when the annealing coefficient was held at 0 for want of decay,
    ``profile_lower`` then keeps the range's finite end), ``covered``
    (whether it holds the actual loss), ``status`` and ``warnings`` (the
    codes raised by that forecast: recorded here, not re-raised).
    """
    if curve.loss is None or curve.steps.size < 2:
        raise InputError("backtest_forecast needs a logged curve with at least 2 checkpoints")
    last = int(curve.steps[-1])
    if isinstance(final_window, bool) or not isinstance(final_window, int) or final_window < 0:
        raise InputError(f"final_window must be a whole number of steps >= 0, got {final_window!r}")
    tail = curve.steps > last - final_window if final_window else curve.steps == last
    actual = float(np.mean(curve.loss[tail]))
    whole = Curve(lr=curve.lr[:last], steps=curve.steps, loss=curve.loss, name=curve.name, schedule=curve.schedule)
    rows = []
    for fraction in fractions:
        if not (0 < fraction < 1):
            raise InputError(f"fractions must be in (0, 1), got {fraction!r}")
        observed = truncate_curve(whole, int(fraction * last))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScalingLawWarning)
            forecast = forecast_run(observed, law, final_step=last, prior=prior, bootstrap=0, interval="bootstrap", level=level,
                                    **fit_options)  # type: ignore[arg-type]
            profile = profile_range(forecast.fit, observed, whole.lr, curve.steps[tail], level=level)
            span = (profile.lower, profile.upper)
            if prior is not None:
                held = dict(forecast.fit.settings.get("fixed", {}))  # type: ignore[call-overload]
                _, draws, _ = prior_values(prior, forecast.fit.law)
                draws = [{k: v for k, v in d.items() if k in held} for d in draws]
                if draws:
                    options = {k: v for k, v in fit_options.items() if k not in ("fixed", "lam", "min_anneal", "points", "seed")}
                    span = _join(span, _draw_range(observed, forecast.fit.law, held, draws, whole.lr, curve.steps[tail], level, options))
        codes = sorted({getattr(w.category, "code", "warning") for w in caught})
        scale = forecast.fit.law.linear[2]
        if prior is None and scale in dict(forecast.fit.settings.get("fixed", {})) and scale not in dict(fit_options.get("fixed") or {}):  # type: ignore[call-overload]
            span = (float("-inf"), span[1])  # the annealing benefit to come is not identified (see forecast_run)
        predicted = float(np.mean(forecast.fit.law(forecast.fit.params, whole.lr, curve.steps[tail])))
        rows.append({
            "fraction": float(fraction),
            "observed_until": int(observed.steps[-1]),
            "predicted": predicted,
            "actual": actual,
            "relative_error": predicted / actual - 1.0,
            "lower": span[0],
            "upper": span[1],
            "profile_lower": profile.lower,
            "covered": bool(span[0] <= actual <= span[1]),
            "status": forecast.fit.status,
            "warnings": ",".join(codes),
        })
    return pd.DataFrame(rows)


__all__ = ["INTERVALS", "NOT_IDENTIFIED", "RunForecast", "backtest_forecast", "forecast_run", "prior_values"]
