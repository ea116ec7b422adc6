"""Backtest learning-curve laws on a held-out schedule (issue 7).

Each law is fitted on the curves of the other schedules and predicts the
whole held-out curve from its schedule alone; the error is scored on the
held-out checkpoints as the absolute relative error ARE = |L̂ − L| / L
(Choshen et al. 2024, REFERENCE.md §6): its mean and maximum over the
checkpoints, and the signed error of the last one. Without an explicit
hold-out every run is held out in turn (leave one schedule out).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, ScalingLawWarning
from ..arguments import check_replicates
from .areas import warmup_length
from .data import Curve
from .fit import fit_curves
from .laws import CurveLaw, get_curve_law
from .predict import CurvePrediction, predict_curve
from .result import CurveFit

DEFAULT_LAWS = ("lr_annealing", "multi_power")
#: Columns of :attr:`ScheduleBacktest.table`.
COLUMNS = ("holdout", "schedule", "law", "fitted_on", "points", "mean_are", "max_are", "final_step", "final_actual",
           "final_predicted", "final_error", "lower", "upper", "covered", "status", "warnings")


@dataclass(frozen=True, eq=False)
class ScheduleBacktest:
    """Held-out-schedule errors of one or more laws.

    Attributes
    ----------
    table: one row per (held-out run, law): ``mean_are`` and ``max_are`` over
        its scored checkpoints, ``final_error`` (signed, predicted / actual - 1)
        at its last one, the interval there (``lower``, ``upper``, ``covered``)
        when the fit has bootstrap replicates, the fit's ``status`` and the
        ``warnings`` codes raised by the fit and the prediction (recorded, not re-raised).
    predictions: (held-out run, law) -> the predicted curve at its scored checkpoints.
    fits: (held-out runs joined by ``+``, law) -> the fit on the other runs.
    heldout: the held-out curves.
    settings: the options used.
    """

    table: pd.DataFrame
    predictions: Mapping[tuple[str, str], CurvePrediction]
    fits: Mapping[tuple[str, str], CurveFit]
    heldout: tuple[Curve, ...]
    settings: Mapping[str, object] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row per law: mean of the per-run mean ARE, worst ARE, mean and worst |final error|, interval coverage."""
        rows = []
        for law, group in self.table.groupby("law", sort=False):
            covered = group["covered"].dropna()
            rows.append({
                "law": law,
                "runs": int(group.shape[0]),
                "mean_are": float(group["mean_are"].mean()),
                "max_are": float(group["max_are"].max()),
                "mean_abs_final_error": float(group["final_error"].abs().mean()),
                "max_abs_final_error": float(group["final_error"].abs().max()),
                "coverage": float(covered.astype(float).mean()) if covered.size else float("nan"),
            })
        return pd.DataFrame(rows).set_index("law")

    def to_dict(self) -> dict[str, object]:
        records = self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records")
        summary = self.summary().reset_index()
        return {
            "schema": "scalinglaws.curve_backtest/1",
            "settings": dict(self.settings),
            "summary": summary.astype(object).where(summary.notna(), None).to_dict(orient="records"),
            "runs": records,
            "fits": {f"{key[0]}|{key[1]}": {"params": {k: float(v) for k, v in fit.params.items()}, "status": fit.status,
                                            "fitted_on": [str(r["name"]) for r in fit.runs]}
                     for key, fit in self.fits.items()},
        }


def _match(curves: Sequence[Curve], key: str) -> list[Curve]:
    """Runs named ``key``; else runs whose schedule spec, or schedule kind, is ``key``."""
    by_name = [c for c in curves if c.name == key]
    if by_name:
        return by_name
    by_spec = [c for c in curves if c.schedule == key]
    if by_spec:
        return by_spec
    return [c for c in curves if c.schedule.partition(":")[0] == key]


def _folds(curves: Sequence[Curve], holdout: object) -> list[tuple[list[Curve], list[Curve]]]:
    """(fitted, held out) pairs."""
    if holdout is None:
        if len(curves) < 2:
            raise InputError("a leave-one-schedule-out backtest needs at least 2 runs; give more runs or a held-out run (--holdout)")
        return [([c for c in curves if c is not held], [held]) for held in curves]
    items = [holdout] if isinstance(holdout, (str, Curve)) else list(holdout) if isinstance(holdout, (list, tuple)) else None
    if not items or not all(isinstance(h, (str, Curve)) for h in items):
        raise InputError("holdout must be a run name, a schedule (spec or kind), a Curve, or a list of them")
    external = [h for h in items if isinstance(h, Curve)]
    held: list[Curve] = list(external)
    for key in (h for h in items if isinstance(h, str)):
        found = _match(curves, key)
        if not found:
            raise InputError(f"holdout {key!r} matches no run name, schedule spec or schedule kind; runs are: "
                             f"{', '.join(f'{c.name} ({c.schedule})' for c in curves[:10])}")
        held.extend(c for c in found if all(c is not h for h in held))
    for h in external:
        if h.loss is None:
            raise InputError(f"held-out run {h.name!r} has no logged losses to score the prediction against")
    fitted = [c for c in curves if all(c is not h for h in held)]
    if not fitted:
        raise InputError("every run is held out: keep at least one run to fit the laws on")
    return [(fitted, held)]


def _law_options(law: CurveLaw, lam: float | str | None, fixed: Mapping[str, float] | None) -> dict[str, object]:
    options: dict[str, object] = {}
    if lam is not None and "lam" in law.parameter_names:
        options["lam"] = lam
    mine = {k: v for k, v in (fixed or {}).items() if k in law.parameter_names}
    if mine:
        options["fixed"] = mine
    return options


def backtest_schedules(
    curves: Sequence[Curve],
    laws: Sequence[str | CurveLaw] = DEFAULT_LAWS,
    *,
    holdout: str | Curve | Sequence[str | Curve] | None = None,
    min_step: int | None = None,
    lam: float | str | None = None,
    fixed: Mapping[str, float] | None = None,
    loss: str = "squared",
    delta: float = 0.01,
    bootstrap: int = 0,
    level: float = 0.95,
    seed: int = 0,
) -> ScheduleBacktest:
    r"""Fit each law on the other schedules' curves and score its prediction of a held-out curve.

    .. math:: \mathrm{ARE}_s = |\hat L(s) - L(s)| / L(s)

    Parameters
    ----------
    curves:
        Runs with logged losses and their schedules (:func:`read_curves`).
    laws:
        Law names or :class:`CurveLaw` objects (default both built-in laws).
    holdout:
        A run name, a schedule spec or kind (``"cosine"``: every run with that
        schedule), a :class:`Curve` from elsewhere, or a list of them, held
        out together (one fit on the remaining runs). ``None``: every run is
        held out in turn (leave one schedule out).
    min_step:
        Fit and score checkpoints from this step on (default: each run's end of warm-up).
    lam, fixed, loss, delta:
        Passed to :func:`fit_curves` (``lam`` for the laws that have it;
        each ``fixed`` entry for the laws that have that parameter).
    bootstrap, level, seed:
        Bootstrap replicates of each fit, for an interval of the predicted final loss.

    Returns
    -------
    ScheduleBacktest
        Its ``table`` has one row per held-out run and law; ``summary()`` one per law.

    Raises
    ------
    InputError
        For an unknown law or hold-out, runs without losses, or no run left to fit.

    Examples
    --------
    >>> from scalinglaws.curves import LR_ANNEALING, learning_rates, schedule_curve
    >>> truth = {"L0": 2.0, "A": 0.6, "alpha": 0.5, "C": 0.2, "lam": 0.999}
    >>> specs, at = ("constant:peak=1e-3", "cosine:peak=1e-3", "wsd:peak=1e-3"), range(100, 2001, 50)
    >>> runs = [schedule_curve(s, 2000, at=at, loss=LR_ANNEALING(truth, learning_rates(s, 2000), at), name=s[:3]) for s in specs]
    >>> result = backtest_schedules(runs, ["lr_annealing"], holdout="wsd")
    >>> bool(result.table["max_are"].iloc[0] < 1e-6)
    True
    """
    if not isinstance(curves, (list, tuple)) or not curves or not all(isinstance(c, Curve) for c in curves):
        raise InputError("curves must be a non-empty list of Curves (see read_curves and schedule_curve)")
    names = [c.name for c in curves]
    if len(set(names)) != len(names):
        raise InputError(f"run names must be unique, got {names}")
    for c in curves:
        if c.loss is None:
            raise InputError(f"run {c.name!r} has no logged losses")
    check_replicates(bootstrap, "bootstrap")
    if isinstance(laws, (str, CurveLaw)):
        laws = [laws]
    resolved = [get_curve_law(law) for law in laws]
    if not resolved:
        raise InputError("give at least one law to backtest (e.g. lr_annealing, multi_power)")
    known = {n for law in resolved for n in law.parameter_names}
    unknown = sorted(set(fixed or {}) - known)
    if unknown:
        raise InputError(f"fixed parameter(s) {', '.join(unknown)} belong to none of the laws {', '.join(law.name for law in resolved)}")
    rows, predictions, fits, heldout = [], {}, {}, {}
    for fitted, held in _folds(curves, holdout):
        heldout.update({id(h): h for h in held})
        label = "+".join(h.name for h in held)
        for law in resolved:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ScalingLawWarning)
                fit = fit_curves(fitted, law, min_step=min_step, loss=loss, delta=delta, bootstrap=bootstrap, level=level, seed=seed,
                                 **_law_options(law, lam, fixed))  # type: ignore[arg-type]
            fit_codes = {getattr(w.category, "code", "warning") for w in caught}
            fits[(label, law.name)] = fit
            for curve in held:
                row, prediction = _score(fit, curve, min_step, fit_codes)
                rows.append({"holdout": curve.name, "schedule": curve.schedule, "law": law.name,
                             "fitted_on": ", ".join(c.name for c in fitted), **row})
                predictions[(curve.name, law.name)] = prediction
    settings = {"laws": [law.name for law in resolved], "holdout": "leave one schedule out" if holdout is None else
                [h if isinstance(h, str) else h.name for h in ([holdout] if isinstance(holdout, (str, Curve)) else holdout)],
                "min_step": min_step, "lam": lam, "fixed": dict(fixed or {}), "loss": loss, "bootstrap": bootstrap, "level": level,
                "seed": seed, "error": "absolute relative error |predicted - logged| / logged on the held-out checkpoints"}
    return ScheduleBacktest(pd.DataFrame(rows, columns=list(COLUMNS)), predictions, fits, tuple(heldout.values()), settings)


def _score(fit: CurveFit, curve: Curve, min_step: int | None, fit_codes: set[str]) -> tuple[dict[str, object], CurvePrediction]:
    start = min_step if min_step is not None else warmup_length(curve.lr) + 1
    keep = curve.steps >= start
    if not keep.any():
        raise InputError(f"held-out run {curve.name!r} has no checkpoint at or after step {start}; lower min_step")
    steps, actual = curve.steps[keep], curve.loss[keep]  # type: ignore[index]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalingLawWarning)
        prediction = predict_curve(fit, curve, at=steps)
    codes = sorted(fit_codes | {getattr(w.category, "code", "warning") for w in caught})
    are = np.abs(prediction.loss / actual - 1.0)
    lower = upper = covered = None
    if prediction.lower is not None and prediction.upper is not None:
        lower, upper = float(prediction.lower[-1]), float(prediction.upper[-1])
        covered = bool(lower <= actual[-1] <= upper)
    row = {"points": int(steps.size), "mean_are": float(are.mean()), "max_are": float(are.max()), "final_step": int(steps[-1]),
           "final_actual": float(actual[-1]), "final_predicted": float(prediction.loss[-1]),
           "final_error": float(prediction.loss[-1] / actual[-1] - 1.0), "lower": lower, "upper": upper, "covered": covered,
           "status": fit.status, "warnings": ",".join(codes)}
    return row, prediction


__all__ = ["COLUMNS", "DEFAULT_LAWS", "ScheduleBacktest", "backtest_schedules"]
