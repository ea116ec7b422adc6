"""IsoFLOP analysis: Chinchilla approaches 1 and 2 (Hoffmann et al. 2022, REFERENCE.md §1.3).

Approach 2: at each fixed compute budget, fit the loss as a parabola in
log N (and in log D); its vertex is the compute-optimal size at that budget;
then fit N*(C) = k C^a and D*(C) = k' C^b across budgets.

Approach 1: from runs with intermediate checkpoints, take the lower envelope
of loss against compute over all runs; the run on the envelope at each
compute gives N*(C).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.readers import read_runs
from ..data.runs import FLOPS_PER_PARAM_TOKEN, Runs
from ..errors import InputError, IsoFlopWarning
from ..fitting.result import FitWarning

#: A profile is called asymmetric when a cubic term explains this share of what the parabola leaves.
ASYMMETRY_SHARE = 0.5
#: ... and the cubic term is significant (F statistic of the extra term).
ASYMMETRY_F = 10.0


@dataclass(frozen=True)
class PowerFit:
    """``y = coef * C^exponent`` fitted in log-log, with optional intervals."""

    coef: float
    exponent: float
    interval: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __call__(self, compute: np.ndarray | float) -> np.ndarray:
        return self.coef * np.asarray(compute, dtype=float) ** self.exponent

    def to_dict(self) -> dict[str, object]:
        return {"coef": self.coef, "exponent": self.exponent, "interval": {k: list(v) for k, v in self.interval.items()}}


@dataclass(frozen=True)
class Budget:
    """The vertex of one IsoFLOP profile."""

    C: float
    N_opt: float
    D_opt: float
    loss_opt: float
    n_points: int
    curvature: float

    def to_dict(self) -> dict[str, float | int]:
        return {"C": self.C, "N_opt": self.N_opt, "D_opt": self.D_opt, "loss_opt": self.loss_opt, "n_points": self.n_points}


@dataclass(frozen=True)
class IsoFlop:
    """Approach-2 result: per-budget optima and the N*(C), D*(C) power laws."""

    budgets: tuple[Budget, ...]
    N_opt: PowerFit
    D_opt: PowerFit
    warnings: tuple[FitWarning, ...] = ()
    level: float | None = None
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)  # the runs used, with their budget

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([b.to_dict() for b in self.budgets])

    def to_dict(self) -> dict[str, object]:
        return {
            "approach": 2,
            "budgets": [b.to_dict() for b in self.budgets],
            "N_opt": self.N_opt.to_dict(),
            "D_opt": self.D_opt.to_dict(),
            "level": self.level,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def assign_budgets(runs: Runs, *, budget: str | None = None, tolerance: float = 0.25) -> np.ndarray:
    """Compute budget of each run: a column, or C = 6 N D snapped to clusters.

    Sorted by compute, a run joins the current budget while it is within a
    factor ``1 + tolerance`` of that budget's first (smallest) run, and starts
    a new budget otherwise; a budget's value is the geometric mean of its runs.
    (Chaining consecutive runs instead let one budget span any range: on the
    Marin DCLM ladder it merged 1.8e19 and 3e19.)
    """
    if budget is not None:
        if budget not in runs.table.columns:
            raise InputError(f"budget column {budget!r} is not in the data; the data has: {', '.join(map(str, runs.table.columns))}")
        values = pd.to_numeric(runs.table[budget], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(values) & (values > 0)):
            raise InputError(f"budget column {budget!r} must hold positive numbers of FLOPs")
        return values
    if not (tolerance > 0):
        raise InputError(f"--tolerance must be > 0 (a relative width, e.g. 0.25), got {tolerance!r}")
    compute = runs.values("C")
    order = np.argsort(compute, kind="stable")
    logs = np.log(compute[order])
    cluster = _capped_groups(logs, np.log1p(tolerance))
    centres = np.exp(pd.Series(logs).groupby(cluster).mean().to_numpy())
    out = np.empty_like(compute)
    out[order] = centres[cluster]
    return out


def _capped_groups(sorted_logs: np.ndarray, width: float) -> np.ndarray:
    """Group labels for sorted values: a group spans at most ``width`` from its first value."""
    labels = np.empty(sorted_logs.size, dtype=int)
    label, start = -1, -np.inf
    for i, value in enumerate(sorted_logs):
        if value - start > width:
            label, start = label + 1, value
        labels[i] = label
    return labels


def _vertex(log_x: np.ndarray, loss: np.ndarray) -> tuple[float, float, float] | None:
    """Vertex (log x*, loss*) and curvature of a parabola fit; None if it opens downward."""
    c2, c1, c0 = np.polyfit(log_x, loss, 2)
    if c2 <= 0:
        return None
    v = -c1 / (2 * c2)
    return float(v), float(c0 - c1 * c1 / (4 * c2)), float(c2)


def _power_fit(compute: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    exponent, intercept = np.polyfit(np.log(compute), np.log(values), 1)
    return float(np.exp(intercept)), float(exponent)


def _profile_optima(table: pd.DataFrame, min_points: int) -> tuple[list[Budget], list[FitWarning]]:
    budgets, notes = [], []
    for c, part in table.groupby("budget", sort=True):
        if len(part) < min_points:
            notes.append(FitWarning(IsoFlopWarning.code, f"budget {c:.3g} FLOPs has {len(part)} run(s) (< {min_points}); dropped"))
            continue
        log_n = np.log(part["N"].to_numpy(dtype=float))
        log_d = np.log(part["D"].to_numpy(dtype=float))
        loss = part["loss"].to_numpy(dtype=float)
        in_n, in_d = _vertex(log_n, loss), _vertex(log_d, loss)
        if in_n is None or in_d is None:
            notes.append(FitWarning(IsoFlopWarning.code, f"budget {c:.3g} FLOPs: the profile does not curve upward (no minimum); dropped"))
            continue
        if not (log_n.min() <= in_n[0] <= log_n.max()):
            notes.append(FitWarning(IsoFlopWarning.code, f"budget {c:.3g} FLOPs: the vertex N = {np.exp(in_n[0]):.3g} lies outside the sampled sizes "
                                    f"({np.exp(log_n.min()):.3g} to {np.exp(log_n.max()):.3g}); extend the sweep"))
        if len(part) >= 5:
            residual2 = np.sum((np.polyval(np.polyfit(log_n, loss, 2), log_n) - loss) ** 2)
            residual3 = np.sum((np.polyval(np.polyfit(log_n, loss, 3), log_n) - loss) ** 2)
            f_stat = (residual2 - residual3) / max(residual3 / (len(part) - 4), 1e-300) if len(part) > 4 else 0.0
            if residual2 > 0 and 1 - residual3 / residual2 > ASYMMETRY_SHARE and f_stat > ASYMMETRY_F:
                notes.append(FitWarning(IsoFlopWarning.code, f"budget {c:.3g} FLOPs: the profile is clearly asymmetric (a cubic term removes "
                                        f"{1 - residual3 / residual2:.0%} of the parabola's misfit); its vertex is biased"))
        budgets.append(Budget(float(c), float(np.exp(in_n[0])), float(np.exp(in_d[0])), in_n[1], len(part), in_n[2]))
    return budgets, notes


def isoflop(
    runs: Runs | pd.DataFrame | str,
    *,
    budget: str | None = None,
    tolerance: float = 0.25,
    min_points: int = 3,
    bootstrap: int = 0,
    level: float = 0.95,
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
) -> IsoFlop:
    """Chinchilla's Approach 2 on IsoFLOP runs.

    Parameters
    ----------
    runs: runs with any two of N, D, C (the third is derived with C = 6 N D) and loss.
    budget: a column giving each run's budget; otherwise C is snapped to budgets
        within a factor ``1 + tolerance``.
    min_points: budgets with fewer runs are dropped, with a warning.
    bootstrap: replicates for intervals on the power laws' coefficients and
        exponents; runs are resampled within each budget.

    Returns
    -------
    IsoFlop
        ``budgets`` (C, N_opt, D_opt, loss_opt, n_points) and the power laws
        ``N_opt``, ``D_opt`` (coef, exponent, intervals).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> n = np.geomspace(1e8, 1e10, 9)
    >>> rows = [(c, x, 1.7 + 0.02 * np.log(x / (0.1 * c ** 0.5)) ** 2) for c in (1e19, 1e20, 1e21) for x in n * (c / 1e20) ** 0.5]
    >>> result = isoflop(pd.DataFrame(rows, columns=["C", "N", "loss"]))
    >>> round(result.N_opt.exponent, 3)
    0.5
    """
    runs = read_runs(runs, columns=columns)
    runs.require(["N", "D", "loss"])
    if not isinstance(min_points, int) or min_points < 3:
        raise InputError(f"min_points must be an integer >= 3 (a parabola needs 3 points), got {min_points!r}")
    table = runs.table.assign(budget=assign_budgets(runs, budget=budget, tolerance=tolerance))
    budgets, notes = _profile_optima(table, min_points)
    if len(budgets) < 2:
        raise InputError(f"IsoFLOP analysis needs at least 2 budgets with >= {min_points} runs each; found {len(budgets)} "
                         f"(budgets seen: {table['budget'].nunique()}); check --tolerance or the budget column")
    compute = np.array([b.C for b in budgets])
    n_fit = _power_fit(compute, np.array([b.N_opt for b in budgets]))
    d_fit = _power_fit(compute, np.array([b.D_opt for b in budgets]))
    n_interval: dict[str, tuple[float, float]] = {}
    d_interval: dict[str, tuple[float, float]] = {}
    if bootstrap:
        n_interval, d_interval = _bootstrap_power_laws(table, min_points, bootstrap, level, seed)
    for w in notes:
        warnings.warn(w.message, IsoFlopWarning, stacklevel=2)
    used = table[table["budget"].isin(compute)]
    return IsoFlop(tuple(budgets), PowerFit(*n_fit, n_interval), PowerFit(*d_fit, d_interval), tuple(notes), level if bootstrap else None, used)


def _bootstrap_power_laws(table: pd.DataFrame, min_points: int, replicates: int, level: float, seed: int):
    """Resample runs within each budget (budgets are design choices, runs are noisy)."""
    if replicates < 2 or not (0 < level < 1):
        raise InputError("bootstrap needs >= 2 replicates and a level in (0, 1)")
    rng = np.random.default_rng(seed)
    groups = [part for _, part in table.groupby("budget", sort=True)]
    estimates = []
    for _ in range(replicates):
        sample = pd.concat([part.iloc[rng.integers(0, len(part), len(part))] for part in groups])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            budgets, _ = _profile_optima(sample, min_points)
        if len(budgets) < 2:
            continue
        compute = np.array([b.C for b in budgets])
        estimates.append((*_power_fit(compute, np.array([b.N_opt for b in budgets])), *_power_fit(compute, np.array([b.D_opt for b in budgets]))))
    if len(estimates) < 2:
        raise InputError("too few bootstrap replicates gave usable profiles; add runs per budget")
    values = np.array(estimates)
    tail = (1 - level) / 2
    lo, hi = np.quantile(values, tail, axis=0), np.quantile(values, 1 - tail, axis=0)
    n_interval = {"coef": (float(lo[0]), float(hi[0])), "exponent": (float(lo[1]), float(hi[1]))}
    d_interval = {"coef": (float(lo[2]), float(hi[2])), "exponent": (float(lo[3]), float(hi[3]))}
    return n_interval, d_interval


@dataclass(frozen=True)
class Envelope:
    """Approach-1 result: the lower envelope of loss vs compute and N*(C) from it."""

    points: pd.DataFrame  # C, loss, N, run
    N_opt: PowerFit

    def to_dict(self) -> dict[str, object]:
        return {"approach": 1, "N_opt": self.N_opt.to_dict(), "points": self.points.to_dict(orient="records")}


def envelope(runs: Runs | pd.DataFrame | str, *, points: int = 30, columns: Mapping[str, str] | None = None) -> Envelope:
    """Chinchilla's Approach 1: the run with the lowest loss at each compute.

    Each run's curve (loss against C = 6 N D over its checkpoints) is
    interpolated in log C; at ``points`` log-spaced compute values the run
    with the lowest loss gives N*(C), and N*(C) = k C^a is fitted to those.
    """
    runs = read_runs(runs, columns=columns)
    runs.require(["N", "D", "loss", "run"])
    table = runs.table.assign(C=FLOPS_PER_PARAM_TOKEN * runs.values("N") * runs.values("D"))
    curves = {run: part.sort_values("C") for run, part in table.groupby("run") if len(part) >= 2}
    if len(curves) < 2:
        raise InputError("Approach 1 needs at least 2 runs with 2 or more checkpoints each (a 'run' column and per-checkpoint N, D, loss)")
    lo = max(part["C"].min() for part in curves.values())
    lo = min(part["C"].min() for part in curves.values()) if lo <= 0 else min(part["C"].min() for part in curves.values())
    hi = max(part["C"].max() for part in curves.values())
    rows = []
    for c in np.geomspace(lo, hi, points):
        best = None
        for run, part in curves.items():
            cs = part["C"].to_numpy()
            if not (cs[0] <= c <= cs[-1]):
                continue
            loss = float(np.interp(np.log(c), np.log(cs), part["loss"].to_numpy()))
            if best is None or loss < best[1]:
                best = (run, loss, float(part["N"].iloc[0]))
        if best is not None:
            rows.append({"C": float(c), "loss": best[1], "N": best[2], "run": best[0]})
    frame = pd.DataFrame(rows)
    if frame["N"].nunique() < 2:
        raise InputError("the lower envelope is made of a single run; Approach 1 needs runs of several sizes overlapping in compute")
    return Envelope(frame, PowerFit(*_power_fit(frame["C"].to_numpy(), frame["N"].to_numpy())))


def compare_approaches(runs: Runs, result: IsoFlop, law: str, *, level: float = 0.95, bootstrap: int = 0, seed: int = 0) -> pd.DataFrame:
    """Approach 2's N*(C) exponent next to the parametric law's beta / (alpha + beta) on the same runs."""
    from ..fitting.fit import fit
    from ..uncertainty import allocation_exponent_interval
    from ..uncertainty import bootstrap as run_bootstrap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = run_bootstrap(runs, law, replicates=bootstrap, level=level, seed=seed) if bootstrap else fit(runs, law)
    value, interval = allocation_exponent_interval(fitted, level=level)
    lo2, hi2 = result.N_opt.interval.get("exponent", (np.nan, np.nan))
    rows = [
        {"approach": "2: IsoFLOP parabolas", "a": result.N_opt.exponent, "lower": lo2, "upper": hi2},
        {"approach": f"3: {fitted.law.name} beta/(alpha+beta)", "a": value, "lower": interval[0] if interval else np.nan, "upper": interval[1] if interval else np.nan},
    ]
    return pd.DataFrame(rows)
