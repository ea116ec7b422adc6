r"""Critical batch size: Kaplan et al.'s law and an estimate from your own batch-size sweep.

**Kaplan et al. 2020** (Scaling Laws for Neural Language Models,
arXiv:2001.08361, §5.1, eq. 5.3; REFERENCE.md §1.2):
:math:`B_{crit}(L) = B_* / L^{1/\alpha_B}` with :math:`B_* \approx 2\cdot10^8`
tokens and :math:`\alpha_B \approx 0.21`; L is the loss in nats per token
(their WebText2 byte-pair tokenizer), :math:`B_{crit}` is in tokens. It
doubles for every ~13% decrease of the loss.

**McCandlish et al. 2018** (An Empirical Model of Large-Batch Training,
arXiv:1812.06162, §2.4) and Kaplan et al. eq. 5.1: runs at batch sizes B that
reach the same target loss take S steps and E = B S examples (tokens, or
sequences: the batch's units) with

.. math:: (S/S_{min} - 1)(E/E_{min} - 1) = 1,

i.e. :math:`S = S_{min}(1 + B_{crit}/B)` and :math:`E = E_{min}(1 + B/B_{crit})`
with :math:`B_{crit} = E_{min}/S_{min}`: below :math:`B_{crit}` doubling the
batch nearly halves the steps, above it it nearly doubles the data. At
:math:`B = B_{crit}` a run takes twice the minimum steps and twice the minimum
data. :func:`critical_batch_size` fits :math:`S_{min}` and :math:`B_{crit}` by
least squares in log S (every run counts by its relative error) and puts a
bootstrap interval on them.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from ..errors import DataCleaningWarning, IdentifiabilityWarning, InputError
from ..arguments import check_replicates

#: Kaplan et al. (2020) eq. 5.3: B* in tokens and alpha_B.
KAPLAN_B_STAR = 2.0e8
KAPLAN_ALPHA_B = 0.21
#: How far beyond the swept batch sizes (natural-log units, a factor of about 1100) the fit may place B_crit.
SEARCH_MARGIN = 7.0


def kaplan_critical_batch(loss: float | np.ndarray, *, b_star: float = KAPLAN_B_STAR, alpha_b: float = KAPLAN_ALPHA_B) -> float | np.ndarray:
    r"""Kaplan et al.'s critical batch size :math:`B_{crit}(L) = B_* / L^{1/\alpha_B}`, in tokens.

    Parameters
    ----------
    loss:
        Loss in nats per token (> 0); a number or an array.
    b_star, alpha_b:
        The law's constants (defaults: Kaplan et al. 2020, eq. 5.3, B* = 2e8 tokens, alpha_B = 0.21).

    Examples
    --------
    >>> f"{kaplan_critical_batch(2.0):.4g}"
    '7.371e+06'
    """
    values = np.asarray(loss, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InputError(f"the loss for B_crit(L) must be finite and > 0 (nats per token), got {loss!r}")
    for value, name in ((b_star, "b_star"), (alpha_b, "alpha_b")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    out = b_star / values ** (1.0 / alpha_b)
    return float(out) if np.ndim(loss) == 0 else out


@dataclass(frozen=True)
class CriticalBatchFit:
    r"""The McCandlish-Kaplan trade-off fitted to a batch-size sweep.

    ``b_crit`` is in the units of the batch column; ``s_min`` in steps;
    ``e_min = s_min * b_crit`` in batch units (tokens when the batch is in
    tokens). ``runs`` has one row per run: ``batch``, ``steps`` (to the
    target), ``examples`` (B S), ``fitted_steps`` and ``residual`` (log S −
    log fitted S). ``intervals`` maps ``b_crit``, ``s_min``, ``e_min`` to
    percentile intervals at ``level`` (empty without a bootstrap).
    """

    b_crit: float
    s_min: float
    e_min: float
    runs: pd.DataFrame
    target_loss: float | None
    rms_log_residual: float
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    level: float = 0.95
    bootstrap: int = 0
    usable_replicates: int = 0
    bracketed: bool = True
    status: str = "converged"
    warnings: tuple[str, ...] = ()
    method: str = ""

    def steps(self, batch: float | np.ndarray) -> float | np.ndarray:
        r"""Steps to the target at batch size ``batch``: :math:`S_{min}(1 + B_{crit}/B)`."""
        out = self.s_min * (1.0 + self.b_crit / np.asarray(batch, dtype=float))
        return float(out) if np.ndim(batch) == 0 else out

    def summary(self) -> pd.DataFrame:
        rows = []
        for name, value in (("b_crit", self.b_crit), ("s_min", self.s_min), ("e_min", self.e_min)):
            lower, upper = self.intervals.get(name, (np.nan, np.nan))
            rows.append({"parameter": name, "value": value, "lower": lower, "upper": upper})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": "scalinglaws.critical_batch/1",
            "b_crit": self.b_crit,
            "s_min": self.s_min,
            "e_min": self.e_min,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "level": self.level,
            "bootstrap": {"replicates": self.bootstrap, "usable": self.usable_replicates},
            "target_loss": self.target_loss,
            "rms_log_residual": self.rms_log_residual,
            "bracketed": self.bracketed,
            "status": self.status,
            "warnings": list(self.warnings),
            "method": self.method,
            "formula": "S = S_min (1 + B_crit / B), E = E_min (1 + B / B_crit), B_crit = E_min / S_min",
            "citation": "McCandlish et al. 2018, arXiv:1812.06162; Kaplan et al. 2020, arXiv:2001.08361, eq. 5.1",
            "runs": self.runs.to_dict(orient="records"),
        }


# --- steps to a target loss from learning curves -----------------------------------------------


def _first_crossing(step: np.ndarray, loss: np.ndarray, target: float) -> float | None:
    """First step at which the curve reaches ``target`` (loss interpolated linearly in log step between checkpoints); None if never."""
    below = np.flatnonzero(loss <= target)
    if below.size == 0:
        return None
    i = int(below[0])
    if i == 0:
        return float(step[0])
    s0, s1, l0, l1 = step[i - 1], step[i], loss[i - 1], loss[i]
    share = (l0 - target) / (l0 - l1)
    if s0 > 0:
        # Loss falls roughly as a power of the step, so it is closer to linear in log step between checkpoints.
        return float(np.exp(np.log(s0) + share * (np.log(s1) - np.log(s0))))
    return float(s0 + share * (s1 - s0))


def steps_to_target(curves: pd.DataFrame, *, target_loss: float | None = None, smooth: int = 1) -> tuple[pd.DataFrame, float, list[str]]:
    """Steps each run needs to reach a common target loss, from learning curves.

    ``curves`` has columns ``run``, ``batch``, ``step``, ``loss``. Each run's
    curve is sorted by step, optionally smoothed by a centred rolling mean over
    ``smooth`` checkpoints, and the first crossing of ``target_loss`` is
    interpolated between checkpoints, the loss taken as linear in log step
    (linear in the step from a step-0 checkpoint). A rolling mean trades
    variance for a slight late bias of the crossing on a curve still falling
    fast (S_min +0.3% with ``smooth=5`` on power-law curves with 0.2% noise,
    while its spread fell from 1.9% to 0.7%); B_crit, a ratio of steps, is
    barely affected. The default target is the lowest loss every run reaches
    (the largest of the runs' minimum smoothed losses).

    Returns (one row per run: run, batch, steps), the target, and notes on runs
    dropped or reaching the target at their first checkpoint.
    """
    if isinstance(smooth, bool) or not isinstance(smooth, int) or smooth < 1:
        raise InputError(f"--smooth must be an integer >= 1 (checkpoints in the rolling mean), got {smooth!r}")
    missing = [c for c in ("run", "batch", "step", "loss") if c not in curves.columns]
    if missing:
        raise InputError(f"learning curves need columns run, batch, step and loss; missing {', '.join(missing)}")
    prepared = []
    for run, curve in curves.groupby("run", sort=True):
        if curve["batch"].nunique() != 1:
            raise InputError(f"run {run!r} has several batch sizes ({', '.join(map(str, sorted(curve['batch'].unique())))}); "
                             "give a run column that separates runs (--col run=...)")
        curve = curve.sort_values("step")
        loss = curve["loss"].rolling(smooth, center=True, min_periods=1).mean().to_numpy(float) if smooth > 1 else curve["loss"].to_numpy(float)
        prepared.append((run, float(curve["batch"].iloc[0]), curve["step"].to_numpy(float), loss))
    if target_loss is None:
        target = max(float(loss.min()) for *_, loss in prepared)
    else:
        if isinstance(target_loss, bool) or not isinstance(target_loss, (int, float)) or not np.isfinite(target_loss):
            raise InputError(f"--target-loss must be a finite number, got {target_loss!r}")
        target = float(target_loss)
    rows, never, first = [], [], []
    for run, batch, step, loss in prepared:
        crossing = _first_crossing(step, loss, target)
        if crossing is None:
            never.append(str(run))
        else:
            if loss[0] <= target:
                first.append(str(run))
            rows.append({"run": run, "batch": batch, "steps": crossing})
    notes = []
    if never:
        notes.append(f"{len(never)} run(s) never reach the target loss {target:.4g} and were left out: {', '.join(never)} "
                     "(choose a higher --target-loss to use them)")
    if first:
        notes.append(f"{len(first)} run(s) are already at or below the target loss {target:.4g} at their first checkpoint, so their "
                     f"steps are an upper bound: {', '.join(first)} (choose a lower --target-loss)")
    table = pd.DataFrame(rows, columns=["run", "batch", "steps"]).sort_values(["batch", "steps"], kind="stable").reset_index(drop=True)
    return table, target, notes


# --- the fit ------------------------------------------------------------------------------------


def _fit_tradeoff(batch: np.ndarray, steps: np.ndarray) -> tuple[float, float, bool]:
    """(B_crit, S_min, on_bound): least squares of log S = log S_min + log(1 + B_crit / B), S_min profiled out."""
    log_b, log_s = np.log(batch), np.log(steps)
    lo, hi = log_b.min() - SEARCH_MARGIN, log_b.max() + SEARCH_MARGIN

    def profile(theta: float) -> tuple[float, float]:
        shape = np.logaddexp(0.0, theta - log_b)
        intercept = float(np.mean(log_s - shape))
        resid = log_s - intercept - shape
        return float(resid @ resid), intercept

    grid = np.linspace(lo, hi, 281)
    shapes = np.logaddexp(0.0, grid[:, None] - log_b[None, :])  # log(1 + B_crit / B), overflow-safe
    resid = log_s[None, :] - shapes
    resid -= resid.mean(axis=1, keepdims=True)
    values = np.einsum("ij,ij->i", resid, resid)
    j = int(np.argmin(values))
    a, b = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    result = minimize_scalar(lambda t: profile(t)[0], bounds=(a, b), method="bounded", options={"xatol": 1e-10})
    theta = float(result.x) if result.fun <= values[j] else float(grid[j])
    on_bound = theta - lo < 0.05 or hi - theta < 0.05
    return float(np.exp(theta)), float(np.exp(profile(theta)[1])), on_bound


def _curve_layout(frame: pd.DataFrame, steps: str, loss: str | None, run: str | None,
                  target_loss: float | None) -> tuple[str, str | None, str | None]:
    """(steps, loss, run) columns, switched to learning curves (step, loss, run) when the table holds them and no loss was named."""
    if loss is not None or "loss" not in frame.columns:
        return steps, loss, run
    if steps in frame.columns and target_loss is None:
        return steps, loss, run
    column = steps if steps in frame.columns else "step"
    if column not in frame.columns:
        return steps, loss, run
    return column, "loss", run if run is not None else ("run" if "run" in frame.columns else None)


def critical_batch_size(
    runs: str | os.PathLike[str] | pd.DataFrame,
    *,
    batch: str = "batch",
    steps: str = "steps",
    loss: str | None = None,
    run: str | None = None,
    target_loss: float | None = None,
    smooth: int = 1,
    bootstrap: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> CriticalBatchFit:
    r"""Estimate the critical batch size from runs at several batch sizes (McCandlish et al. 2018; Kaplan et al. 2020).

    Fits :math:`S = S_{min}(1 + B_{crit}/B)` to the steps S each run needs to
    reach a common target loss, by least squares in log S, and derives
    :math:`E_{min} = S_{min} B_{crit}`.

    Parameters
    ----------
    runs:
        A table path or DataFrame. Either one row per run with the batch size
        and the steps it took to reach the target, or learning curves (one row
        per checkpoint) with a ``loss`` column, from which the steps to the
        target are interpolated (then ``steps`` names the step column).
    batch, steps, loss, run:
        Column names. ``loss`` switches to learning curves; ``run`` separates
        the curves (default: one curve per batch size). Without ``loss``,
        a table with a ``loss`` column is read as learning curves when it has
        no ``steps`` column but a ``step`` one, or when ``target_loss`` is
        given (with ``run`` from a ``run`` column if there is one).
    target_loss:
        The common target for learning curves (default: the lowest loss every
        run reaches).
    smooth:
        Checkpoints in a centred rolling mean of each curve before the crossing is found.
    bootstrap:
        Replicates resampling the runs with replacement (redrawn when a resample has
        fewer than 3 distinct batch sizes); 0 for none.
    level, seed:
        Coverage of the percentile intervals and seed of the resampling.

    Returns
    -------
    CriticalBatchFit
        ``b_crit`` in the units of the batch column.

    Raises
    ------
    InputError
        For missing columns, non-positive values, or fewer than 3 distinct batch sizes.

    Warns
    -----
    IdentifiabilityWarning
        When the swept batch sizes do not bracket the estimate, or the data
        cannot bound it (steps proportional to 1/B, or independent of B).

    Examples
    --------
    >>> import pandas as pd
    >>> b = [32, 64, 128, 256, 512, 1024]
    >>> runs = pd.DataFrame({"batch": b, "steps": [1000 * (1 + 200 / x) for x in b]})
    >>> fit = critical_batch_size(runs, bootstrap=0)
    >>> round(fit.b_crit, 6), round(fit.s_min, 6)
    (200.0, 1000.0)
    """
    from ..data.readers import as_frame

    check_replicates(bootstrap)
    if not (0 < level < 1):
        raise InputError(f"--level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    frame = as_frame(runs, "the runs")
    steps, loss, run = _curve_layout(frame, steps, loss, run, target_loss)
    roles = {"batch": batch, "steps": steps, **({"loss": loss} if loss is not None else {}), **({"run": run} if run is not None else {})}
    missing = [f"{column!r} (for {role})" for role, column in roles.items() if column not in frame.columns]
    if missing:
        raise InputError(f"the runs lack column(s) {', '.join(missing)}; they have {', '.join(map(str, frame.columns))}. "
                         "Name yours with --col batch=... --col steps=... (and --col loss=... for learning curves)")
    table = frame[[batch, steps] + ([loss] if loss is not None else [])].apply(pd.to_numeric, errors="coerce")
    table.columns = ["batch", "steps"] + (["loss"] if loss is not None else [])
    table["run"] = frame[run].astype(str) if run is not None else table["batch"]
    values = table.drop(columns="run").to_numpy(float)
    # A learning curve may start at step 0; steps to a target must be > 0.
    steps_ok = (table["steps"] >= 0) if loss is not None else (table["steps"] > 0)
    good = np.isfinite(values).all(axis=1) & (table["batch"] > 0).to_numpy() & steps_ok.to_numpy()
    notes: list[str] = []
    if not good.all():
        message = f"dropped {int((~good).sum())} of {len(table)} rows with a missing, non-numeric or non-positive batch or steps" + (" or loss" if loss else "")
        notes.append(message)
        warnings.warn(message, DataCleaningWarning, stacklevel=2)
    table = table[good]
    target = None
    if loss is not None:
        per_run, target, crossing_notes = steps_to_target(table.rename(columns={"steps": "step"}), target_loss=target_loss, smooth=smooth)
        for note in crossing_notes:
            notes.append(note)
            warnings.warn(note, DataCleaningWarning, stacklevel=2)
        table = per_run
    elif target_loss is not None:
        raise InputError("--target-loss needs learning curves: name their loss column with --col loss=... (Python: loss=...)")
    b, s = table["batch"].to_numpy(float), table["steps"].to_numpy(float)
    if np.unique(b).size < 3:
        raise InputError(f"a critical-batch fit needs runs at 3 or more distinct batch sizes that reach the target; got {np.unique(b).size}"
                         + (f" (batch sizes {', '.join(f'{v:g}' for v in np.unique(b))})" if b.size else ""))

    b_crit, s_min, on_bound = _fit_tradeoff(b, s)
    fitted = s_min * (1.0 + b_crit / b)
    resid = np.log(s) - np.log(fitted)
    bracketed = bool(b.min() <= b_crit <= b.max())
    status = "converged"
    if on_bound:
        status = "B_crit not bounded by the data"
        trend = "steps fall as 1/B throughout (perfect scaling)" if b_crit > b.max() else "steps barely fall with B"
        message = (f"the data cannot bound B_crit: {trend}, so the fit stops at its search limit ({b_crit:.4g}); "
                   "add runs at batch sizes where the trade-off bends")
        notes.append(message)
        warnings.warn(message, IdentifiabilityWarning, stacklevel=2)
    elif not bracketed:
        side = "above the largest" if b_crit > b.max() else "below the smallest"
        message = (f"the swept batch sizes ({b.min():.4g} to {b.max():.4g}) do not bracket the estimated B_crit = {b_crit:.4g} "
                   f"({side} batch swept); the estimate extrapolates the trade-off, add runs at batch sizes beyond it")
        notes.append(message)
        warnings.warn(message, IdentifiabilityWarning, stacklevel=2)

    intervals: dict[str, tuple[float, float]] = {}
    usable = 0
    if bootstrap:
        # Resamples with fewer than 3 distinct batch sizes cannot fit the 2-parameter trade-off: they are redrawn
        # (a bootstrap conditional on an estimable resample), and a high redraw rate is reported.
        rng = np.random.default_rng(seed)
        reps = np.full((bootstrap, 3), np.nan)
        redrawn = 0
        for r in range(bootstrap):
            for _ in range(100):
                i = rng.integers(0, b.size, b.size)
                if np.unique(b[i]).size >= 3:
                    rb, rs, _ = _fit_tradeoff(b[i], s[i])
                    reps[r] = rb, rs, rb * rs
                    break
                redrawn += 1
        ok = np.isfinite(reps).all(axis=1)
        usable = int(ok.sum())
        if usable < 2:
            raise InputError("fewer than 2 bootstrap resamples had 3 distinct batch sizes; add runs (or use bootstrap=0)")
        tail = (1.0 - level) / 2.0
        lower, upper = np.quantile(reps[ok], tail, axis=0), np.quantile(reps[ok], 1.0 - tail, axis=0)
        intervals = {name: (float(lo), float(hi)) for name, lo, hi in zip(("b_crit", "s_min", "e_min"), lower, upper, strict=True)}
        if redrawn > 0.05 * (bootstrap + redrawn):
            message = (f"{redrawn} of {bootstrap + redrawn} bootstrap resamples had fewer than 3 distinct batch sizes and were redrawn; "
                       "with so few runs the intervals are fragile, add runs")
            notes.append(message)
            warnings.warn(message, IdentifiabilityWarning, stacklevel=2)

    out = table[["batch", "steps"]].copy()
    if "run" in table.columns and loss is not None:
        out.insert(0, "run", table["run"].to_numpy())
    out["examples"] = b * s
    out["fitted_steps"] = fitted
    out["residual"] = resid
    method = ("least squares of log S on log S_min + log(1 + B_crit/B) (S_min profiled out, B_crit searched within a factor "
              f"{np.exp(SEARCH_MARGIN):.0f} of the swept batch sizes)")
    if loss is not None:
        method += (f"; steps to the target loss {target:.4g} interpolated in log step between checkpoints"
                   + (f" of curves smoothed over {smooth} checkpoints" if smooth > 1 else ""))
    if bootstrap:
        method += f"; {bootstrap} bootstrap replicates resampling runs, seed {seed}, {level:.0%} percentile intervals"
    return CriticalBatchFit(
        b_crit=b_crit, s_min=s_min, e_min=b_crit * s_min, runs=out.reset_index(drop=True), target_loss=target,
        rms_log_residual=float(np.sqrt(np.mean(resid**2))), intervals=intervals, level=level, bootstrap=bootstrap,
        usable_replicates=usable, bracketed=bracketed, status=status, warnings=tuple(notes), method=method,
    )


def critical_batch_figure(result: CriticalBatchFit, *, batch_label: str = "batch", title: str | None = None):
    """Steps S against examples E = B S (log-log): the runs and the fitted hyperbola (S/S_min - 1)(E/E_min - 1) = 1."""
    from ..report.figures import _pyplot

    plt = _pyplot()
    b = result.runs["batch"].to_numpy(float)
    grid = np.geomspace(min(b.min(), result.b_crit) / 8, max(b.max(), result.b_crit) * 8, 300)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.plot(result.e_min * (1 + grid / result.b_crit), result.s_min * (1 + result.b_crit / grid), color="C0",
            label=r"fit: $(S/S_{min}-1)(E/E_{min}-1)=1$")
    ax.axhline(result.s_min, color="0.6", ls="--", lw=0.8, label=f"S_min = {result.s_min:.3g} steps")
    ax.axvline(result.e_min, color="0.6", ls=":", lw=0.8, label=f"E_min = {result.e_min:.3g}")
    crit = f"B_crit = {result.b_crit:.3g}"
    if "b_crit" in result.intervals:
        lo, hi = result.intervals["b_crit"]
        crit += f" [{lo:.3g}, {hi:.3g}]"
    ax.plot([2 * result.e_min], [2 * result.s_min], marker="*", ms=12, color="C3", ls="none", label=crit)
    ax.scatter(result.runs["examples"], result.runs["steps"], color="k", zorder=3, label="runs")
    for x, y, batch in zip(result.runs["examples"], result.runs["steps"], b, strict=True):
        ax.annotate(f"{batch:g}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"examples to target E = B S ({batch_label} units)")
    ax.set_ylabel("steps to target S")
    target = f" at loss {result.target_loss:.4g}" if result.target_loss is not None else ""
    ax.set_title(title or f"Critical batch size{target} (McCandlish et al. 2018)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ = [
    "KAPLAN_ALPHA_B",
    "KAPLAN_B_STAR",
    "CriticalBatchFit",
    "critical_batch_figure",
    "critical_batch_size",
    "kaplan_critical_batch",
    "steps_to_target",
]
