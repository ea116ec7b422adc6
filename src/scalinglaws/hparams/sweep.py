r"""Fit your own learning-rate and batch-size law to a sweep, with bootstrap intervals.

The law has the Step Law's form (Li et al. 2025, arXiv:2503.04715):
:math:`\eta^* = a\,N^{b} D^{c}` and :math:`B^* = d\,D^{e}` (N parameters,
D training tokens, B in tokens). It is fitted in two stages (REFERENCE.md §3):

1. **Per (N, D) cell**, the optimum :math:`(\log\eta^*, \log B^*)` is the
   minimum of a quadratic in (log lr, log batch) fitted by least squares to
   the cell's best runs: the ``keep`` share with the lowest loss (at least 6).
   The window is a fixed share of the runs, i.e. on a log grid a neighbourhood
   of about fixed size in hyperparameter space, not a fixed band of loss. The
   landscape flattens as D grows and is asymmetric (loss climbs steeply above
   the optimal learning rate and slowly below it), so a loss band reaches
   further into the slow flank at large D, pulls :math:`\eta^*` low there and
   biases the D exponent down; on simulated asymmetric sweeps a 1% band gives
   c = 0.24 for a true 0.307 while the fixed share recovers it
   (tests/test_hparams.py).
2. **Across cells**, log-linear laws by random-effects meta-regression
   (DerSimonian & Laird 1986, Controlled Clinical Trials 7:177; Thompson &
   Sharp 1999, Statistics in Medicine 18:2693): each cell's optimum has its
   own sampling variance :math:`v_k` (from resampling the cell's runs and
   re-locating it) and the cells scatter about the law by a between-cell
   variance :math:`\tau^2` (method of moments); the weights are
   :math:`1/(v_k + \tau^2)`. Cells with a long flat ridge, whose optimum is
   poorly located, thereby count less. ``weights="equal"`` gives ordinary
   least squares.

Bootstrap intervals (percentile, for every coefficient) resample the cells with
replacement and refit stage 2 on each replicate (``resample="cells"``, the
default): with clustered data, resampling the clusters alone estimates the
variance about right, since each cell's own noise is already part of the
scatter between cells, while also resampling within clusters counts it twice
(Davison & Hinkley 1997, *Bootstrap Methods and their Application*, §3.8).
On 60 simulated 25-cell sweeps (tests/test_hparams.py's generator) the 95%
cell intervals covered the true lr_N, lr_D, bs_D in 95%, 90% and 97% of
sweeps. ``resample="both"`` also resamples the runs within each drawn cell and
re-locates its optimum: conservative (it covered all 40 of 40 sweeps, with
intervals 1.5-1.8x wider than the estimator's spread), for sweeps with few
cells or when the grid noise should be shown. ``"runs"`` resamples only within
cells and ignores which scales were run. The :math:`v_k` are held at their
point values in every replicate; :math:`\tau^2` is re-estimated.

On the Step Law dense sweep (17 cells) this gives
:math:`\eta^* = 1.95\,N^{-0.753} D^{0.333}` and :math:`B^* = 0.359\,D^{0.587}`,
inside the 2.5-97.5 percentile range of the authors' 1,000 released bootstrap
fits for every exponent. Their released selection (all runs within 0.25% of
each cell's minimum loss, pooled into one regression) gives
:math:`D^{0.197}` on the same file, outside that range (step-law/steplaw
GitHub issue #10 reports the same).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataCleaningWarning, IdentifiabilityWarning, InputError, ScalingLawWarning
from ..arguments import check_replicates
from .laws import HyperparameterLaw, step_law

#: Names of the fitted coefficients, in the order of :data:`~scalinglaws.hparams.STEP_LAW_PUBLISHED`.
COEFFICIENTS = ("lr_scale", "lr_N", "lr_D", "bs_scale", "bs_D")
#: Column roles of a sweep and the names accepted for each.
SWEEP_ROLES = {"N": ("N",), "D": ("D",), "lr": ("lr",), "bs": ("bs", "batch", "batch_size"), "loss": ("loss",)}
RESAMPLING = ("both", "cells", "runs")
WEIGHTS = ("random_effects", "equal")
#: Fewest runs a cell needs for the quadratic (it has 6 coefficients).
MIN_QUADRATIC_RUNS = 6

Progress = Callable[[int, int], None]


class SweepEdgeWarning(ScalingLawWarning):
    """A cell's optimum sits on the edge of its sweep, so the true optimum may lie outside it."""

    code = "sweep_edge"


@dataclass(frozen=True)
class SweepFit:
    """A Step-Law-style law fitted to a learning-rate x batch-size sweep.

    ``coefficients`` use the names of :data:`COEFFICIENTS` (``lr_scale`` a,
    ``lr_N`` b, ``lr_D`` c, ``bs_scale`` d, ``bs_D`` e). ``cells`` has one row
    per (N, D) cell: the located optimum ``lr_opt``, ``batch_opt`` (tokens),
    their standard errors in natural-log units (``lr_log_se``,
    ``batch_log_se``), the best run, how the optimum was located, the points
    used and an ``edge`` note. ``intervals`` maps each coefficient to its
    percentile interval at ``level`` (empty without a bootstrap);
    ``replicates`` has one row per bootstrap replicate (NaN where the
    resampled cells could not identify the law). ``between_cell_sd`` is
    :math:`\tau` of each law in natural-log units (with ``weights="equal"``:
    the residual standard deviation).
    """

    coefficients: Mapping[str, float]
    cells: pd.DataFrame
    method: str
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    level: float = 0.95
    replicates: pd.DataFrame | None = None
    between_cell_sd: Mapping[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    settings: Mapping[str, object] = field(default_factory=dict)

    def law(self) -> HyperparameterLaw:
        return step_law(self.coefficients)

    @property
    def usable_replicates(self) -> int:
        if self.replicates is None:
            return 0
        return int(np.isfinite(self.replicates.to_numpy()).all(axis=1).sum())

    def summary(self) -> pd.DataFrame:
        """One row per coefficient: value and, with a bootstrap, the interval bounds."""
        rows = []
        for name in COEFFICIENTS:
            lower, upper = self.intervals.get(name, (np.nan, np.nan))
            rows.append({"parameter": name, "value": self.coefficients[name], "lower": lower, "upper": upper})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": "scalinglaws.hparam_fit/1",
            "coefficients": dict(self.coefficients),
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "level": self.level,
            "bootstrap": {"replicates": 0 if self.replicates is None else len(self.replicates), "usable": self.usable_replicates,
                          "resample": self.settings.get("resample"), "seed": self.settings.get("seed")},
            "between_cell_sd": dict(self.between_cell_sd),
            "lr_formula": self.law().lr_formula,
            "batch_formula": self.law().batch_formula,
            "method": self.method,
            "settings": dict(self.settings),
            "warnings": list(self.warnings),
            "cells": self.cells.to_dict(orient="records"),
        }


# --- stage 1: the optimum of one cell ------------------------------------------------------------


def _locate(x: np.ndarray, y: np.ndarray, z: np.ndarray, keep: float) -> tuple[float, float, str, int]:
    """(log lr*, log batch*, how, points used) from logs of lr and batch and the losses of one cell."""
    order = np.argsort(z, kind="stable")
    best = order[0]
    if z.size < MIN_QUADRATIC_RUNS:
        return float(x[best]), float(y[best]), f"best run (fewer than {MIN_QUADRATIC_RUNS} runs)", int(z.size)
    use = order[: max(MIN_QUADRATIC_RUNS, int(np.ceil(keep * z.size)))]
    xu, yu = x[use], y[use]
    design = np.column_stack([np.ones(use.size), xu, yu, xu * xu, yu * yu, xu * yu])
    coef, *_ = np.linalg.lstsq(design, z[use], rcond=None)
    hessian = np.array([[2.0 * coef[3], coef[5]], [coef[5], 2.0 * coef[4]]])
    if not np.all(np.linalg.eigvalsh(hessian) > 0):
        return float(x[best]), float(y[best]), "best run (quadratic not convex)", int(use.size)
    opt = np.linalg.solve(hessian, -coef[1:3])
    if xu.min() <= opt[0] <= xu.max() and yu.min() <= opt[1] <= yu.max():
        return float(opt[0]), float(opt[1]), "quadratic in (log lr, log batch)", int(use.size)
    return float(x[best]), float(y[best]), "best run (quadratic minimum outside the runs used)", int(use.size)


def locate_optimum(lr: np.ndarray, batch: np.ndarray, loss: np.ndarray, *, keep: float = 0.3) -> tuple[float, float, str, int]:
    r"""Optimum of loss over (lr, batch) in one cell: a quadratic in (log lr, log batch) fitted to the best runs.

    :math:`L \approx c_0 + c_1 x + c_2 y + c_3 x^2 + c_4 y^2 + c_5 x y` with
    x = log lr, y = log batch, fitted to the ``keep`` share of runs with the
    lowest loss (at least 6); its minimum is the optimum. Falls back to the
    best run when the quadratic is not convex or its minimum lies outside the
    runs used (an extrapolated optimum), and says so.

    Returns
    -------
    (lr*, batch*, method, points used), lr* and batch* in the units given.

    Examples
    --------
    >>> import numpy as np
    >>> lr, bs = np.meshgrid(np.geomspace(1e-4, 1e-2, 9), np.geomspace(1e5, 4e6, 7))
    >>> loss = 2.5 + 0.05 * np.log(lr / 2e-3) ** 2 + 0.03 * np.log(bs / 5e5) ** 2
    >>> best_lr, best_bs, how, used = locate_optimum(lr.ravel(), bs.ravel(), loss.ravel())
    >>> f"{best_lr:.3g} {best_bs:.3g} {how}"
    '0.002 5e+05 quadratic in (log lr, log batch)'
    """
    lr, batch, loss = (np.asarray(a, dtype=float) for a in (lr, batch, loss))
    if not (lr.shape == batch.shape == loss.shape) or lr.ndim != 1 or lr.size == 0:
        raise InputError("lr, batch and loss must be 1-D arrays of the same, non-zero length")
    if not (np.all(lr > 0) and np.all(batch > 0) and np.all(np.isfinite(loss))):
        raise InputError("lr and batch must be > 0 and loss finite in every run")
    lx, ly, how, used = _locate(np.log(lr), np.log(batch), loss, keep)
    return float(np.exp(lx)), float(np.exp(ly)), how, used


def _edge_note(x: np.ndarray, y: np.ndarray, z: np.ndarray, how: str) -> str:
    """Why the cell's optimum may lie outside its sweep ("" when it is inside)."""
    best = int(np.argmin(z))
    notes = []
    for values, name in ((x, "learning rate"), (y, "batch size")):
        if np.unique(values).size > 1:
            if values[best] <= values.min() + 1e-12:
                notes.append(f"best run at the lowest {name} swept ({np.exp(values[best]):.4g})")
            elif values[best] >= values.max() - 1e-12:
                notes.append(f"best run at the highest {name} swept ({np.exp(values[best]):.4g})")
    if "outside" in how:
        notes.append("the quadratic's minimum lies outside the runs used")
    return "; ".join(notes)


# --- stage 2: laws across cells ------------------------------------------------------------------


def _meta_regression(design: np.ndarray, y: np.ndarray, variance: np.ndarray, weights: str) -> tuple[np.ndarray, float] | None:
    """Coefficients and between-cell variance tau^2 (DerSimonian-Laird moments); None if the design is singular."""
    k, p = design.shape
    if k <= p or np.linalg.matrix_rank(design) < p:
        return None
    if weights == "equal":
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        return coef, float(resid @ resid / (k - p))
    w = 1.0 / variance
    xtw = design.T * w
    xtwx_inv = np.linalg.inv(xtw @ design)
    coef = xtwx_inv @ (xtw @ y)
    q = float(np.sum(w * (y - design @ coef) ** 2))
    # trace of W - W X (X'WX)^-1 X'W, the denominator of the moment estimator
    trace = float(w.sum() - np.trace(xtwx_inv @ ((design.T * w**2) @ design)))
    tau2 = max(0.0, (q - (k - p)) / trace) if trace > 0 else 0.0
    w = 1.0 / (variance + tau2)
    xtw = design.T * w
    coef = np.linalg.solve(xtw @ design, xtw @ y)
    return coef, tau2


def _fit_laws(logn: np.ndarray, logd: np.ndarray, opt: np.ndarray, var: np.ndarray, weights: str) -> tuple[np.ndarray, tuple[float, float]] | None:
    ones = np.ones(logn.size)
    lr = _meta_regression(np.column_stack([ones, logn, logd]), opt[:, 0], var[:, 0], weights)
    bs = _meta_regression(np.column_stack([ones, logd]), opt[:, 1], var[:, 1], weights)
    if lr is None or bs is None:
        return None
    (a, b, c), tau_lr = lr
    (d, e), tau_bs = bs
    return np.array([np.exp(a), b, c, np.exp(d), e]), (tau_lr, tau_bs)


# --- the front door ------------------------------------------------------------------------------


def _sweep_columns(frame: pd.DataFrame, columns: Mapping[str, str] | None, loss: str) -> dict[str, str]:
    names = {"N": "N", "D": "D", "lr": "lr", "bs": "bs", "loss": loss}
    aliases = {alias: role for role, accepted in SWEEP_ROLES.items() for alias in accepted}
    for role, column in dict(columns or {}).items():
        if role not in aliases:
            raise InputError(f"unknown sweep role {role!r}; roles are N, D, lr, bs (or batch, batch_size) and loss, e.g. --col lr=peak_lr")
        names[aliases[role]] = column
    missing = [c for c in names.values() if c not in frame.columns]
    if missing:
        hint = (f" The loss column is {names['loss']!r} by default (the Step Law's smoothed loss): name yours with --loss COLUMN "
                "(Python: loss=...)." if names["loss"] in missing else "")
        raise InputError(f"the sweep lacks column(s) {', '.join(map(repr, missing))}; it has {', '.join(map(str, frame.columns))}.{hint} "
                         "Map the others with --col ROLE=COLUMN (Python: columns={...}); roles N, D, lr, bs, loss")
    return names


def _validate(keep: float, weights: str, bootstrap: int, resample: str, level: float, cell_resamples: int, batch_unit: float) -> None:
    if not (isinstance(keep, (int, float)) and 0 < keep <= 1):
        raise InputError(f"keep must be a fraction in (0, 1], got {keep!r}")
    if weights not in WEIGHTS:
        raise InputError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    check_replicates(bootstrap)
    if resample not in RESAMPLING:
        raise InputError(f"--resample must be one of {', '.join(RESAMPLING)}, got {resample!r}")
    if not (0 < level < 1):
        raise InputError(f"--level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    if isinstance(cell_resamples, bool) or not isinstance(cell_resamples, int) or cell_resamples < 20:
        raise InputError(f"cell_resamples must be an integer >= 20, got {cell_resamples!r}")
    if not (isinstance(batch_unit, (int, float)) and np.isfinite(batch_unit) and batch_unit > 0):
        raise InputError(f"--batch-unit must be a number > 0 (tokens per unit of the batch column), got {batch_unit!r}")


def fit_hparam_sweep(
    sweep: str | os.PathLike[str] | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    loss: str = "smooth loss",
    batch_unit: float = 2048.0,
    keep: float = 0.3,
    weights: str = "random_effects",
    bootstrap: int = 200,
    resample: str = "cells",
    level: float = 0.95,
    seed: int = 0,
    cell_resamples: int = 200,
    progress: Progress | None = None,
) -> SweepFit:
    r"""Fit :math:`\eta^* = a N^{b} D^{c}` and :math:`B^* = d D^{e}` (B in tokens) to a sweep of (N, D, lr, batch, loss).

    Parameters
    ----------
    sweep:
        A table (CSV, Parquet...) or DataFrame with one row per run: ``N``
        (parameters), ``D`` (tokens), ``lr`` (peak learning rate), ``bs``
        (batch size) and the loss (the Step Law release,
        ``dense_lr_bs_loss.csv``, has them).
    columns:
        Role -> column, for roles ``N``, ``D``, ``lr``, ``bs`` (or ``batch``,
        ``batch_size``) and ``loss``.
    loss:
        The loss column (default ``"smooth loss"``, what the Step Law authors
        fitted); ``columns={"loss": ...}`` overrides it.
    batch_unit:
        Tokens per unit of the batch column (2048: sequences of 2048 tokens).
    keep:
        Share of each cell's best runs the quadratic is fitted to.
    weights:
        ``"random_effects"`` (meta-regression, weights 1/(v_k + tau^2)) or
        ``"equal"`` (ordinary least squares across cells).
    bootstrap:
        Bootstrap replicates for the intervals; 0 for none.
    resample:
        ``"cells"`` (the cells with replacement), ``"both"`` (cells, then runs
        within each drawn cell; conservative) or ``"runs"`` (runs within each cell).
    level:
        Coverage of the percentile intervals.
    seed:
        Seed of all resampling (the within-cell variances and the bootstrap).
    cell_resamples:
        Resamples of each cell's runs that estimate the variance v_k of its optimum.
    progress:
        Called as ``progress(done, total)`` during the bootstrap.

    Returns
    -------
    SweepFit

    Raises
    ------
    InputError
        For missing columns, bad options, a cell that does not vary both
        hyperparameters, or fewer than 4 (N, D) cells spanning at least 2
        values of N and of D.

    Warns
    -----
    SweepEdgeWarning
        When a cell's best run sits on the edge of its sweep.
    DataCleaningWarning
        When rows with a missing or non-positive value were dropped.
    IdentifiabilityWarning
        When bootstrap replicates drew cells that cannot identify the law.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = []
    >>> for n in (1e8, 3e8, 1e9):
    ...     for d in (2e9, 1e10, 5e10):
    ...         for lr in np.geomspace(2e-4, 2e-2, 9):
    ...             for bs in (32, 64, 128, 256, 512, 1024):
    ...                 x, y = np.log(lr / (1.79 * n**-0.713 * d**0.307)), np.log(bs * 2048 / (0.58 * d**0.571))
    ...                 rows.append({"N": n, "D": d, "lr": lr, "bs": bs, "loss": 2.5 + 0.02 * x**2 + 0.01 * y**2})
    >>> result = fit_hparam_sweep(pd.DataFrame(rows), loss="loss", bootstrap=0)
    >>> round(result.coefficients["lr_N"], 3), round(result.coefficients["bs_D"], 3)
    (-0.713, 0.571)
    """
    from ..data.readers import as_frame

    _validate(keep, weights, bootstrap, resample, level, cell_resamples, batch_unit)
    frame = as_frame(sweep, "the sweep")
    names = _sweep_columns(frame, columns, loss)
    data = frame[[names[r] for r in ("N", "D", "lr", "bs", "loss")]].apply(pd.to_numeric, errors="coerce")
    data.columns = ["N", "D", "lr", "bs", "loss"]
    good = np.isfinite(data.to_numpy(dtype=float)).all(axis=1) & (data[["N", "D", "lr", "bs"]] > 0).all(axis=1).to_numpy()
    notes: list[str] = []
    if not good.all():
        message = f"dropped {int((~good).sum())} of {len(data)} runs with a missing, non-numeric or non-positive N, D, lr, batch or loss"
        notes.append(message)
        warnings.warn(message, DataCleaningWarning, stacklevel=2)
    data = data[good]

    groups = list(data.groupby(["N", "D"], sort=True))
    cells_n, cells_d = np.array([k[0] for k, _ in groups], dtype=float), np.array([k[1] for k, _ in groups], dtype=float)
    if len(groups) < 4 or np.unique(cells_n).size < 2 or np.unique(cells_d).size < 2:
        raise InputError(f"a sweep needs at least 4 (N, D) cells spanning at least 2 values of N and 2 of D to fit the laws; "
                         f"got {len(groups)} cells, {np.unique(cells_n).size} N and {np.unique(cells_d).size} D")
    arrays = []
    for (n, d), cell in groups:
        x, y = np.log(cell["lr"].to_numpy(float)), np.log(cell["bs"].to_numpy(float) * batch_unit)
        for values, name in ((x, "learning rates"), (y, "batch sizes")):
            if np.unique(values).size < 2:
                raise InputError(f"the cell N={n:.4g}, D={d:.4g} has a single value of {name}; each cell must sweep both lr and batch size")
        arrays.append((x, y, cell["loss"].to_numpy(float)))

    # Stage 1 at the point, then the sampling variance of each optimum from resampling its runs.
    variance_rng, bootstrap_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    rows, opt, var, edges = [], np.empty((len(arrays), 2)), np.empty((len(arrays), 2)), []
    for k, (((n, d), cell), (x, y, z)) in enumerate(zip(groups, arrays, strict=True)):
        lx, ly, how, used = _locate(x, y, z, keep)
        opt[k] = lx, ly
        draws = np.array([_locate(x[i], y[i], z[i], keep)[:2] for i in variance_rng.integers(0, z.size, (cell_resamples, z.size))])
        var[k] = draws.var(axis=0, ddof=1)
        if how.startswith("best run"):
            # A best run is only known to the grid: at least the variance of a uniform error over one grid step.
            var[k] = np.maximum(var[k], [np.median(np.diff(np.unique(v))) ** 2 / 12 for v in (x, y)])
        edge = _edge_note(x, y, z, how)
        if edge:
            edges.append(f"N={n:.4g}, D={d:.4g}: {edge}")
        best = int(np.argmin(z))
        rows.append({"N": n, "D": d, "lr_opt": float(np.exp(lx)), "batch_opt": float(np.exp(ly)),
                     "lr_log_se": float(np.sqrt(var[k, 0])), "batch_log_se": float(np.sqrt(var[k, 1])),
                     "best_lr": float(np.exp(x[best])), "best_batch": float(np.exp(y[best])), "best_loss": float(z[best]),
                     "runs": int(z.size), "points_used": used, "method": how, "edge": edge})
    var = np.maximum(var, 1e-12)
    if edges:
        message = ("the optimum may lie outside the sweep in " + f"{len(edges)} cell(s) (extend the sweep there): " + "; ".join(edges))
        notes.append(message)
        warnings.warn(message, SweepEdgeWarning, stacklevel=2)

    logn, logd = np.log(cells_n), np.log(cells_d)
    point = _fit_laws(logn, logd, opt, var, weights)
    if point is None:  # pragma: no cover - excluded by the cell checks above
        raise InputError("the cells cannot identify the laws (their N and D are collinear); add cells")
    values, (tau_lr, tau_bs) = point

    intervals: dict[str, tuple[float, float]] = {}
    replicates = None
    if bootstrap:
        out = np.full((bootstrap, len(COEFFICIENTS)), np.nan)
        k_all = len(arrays)
        for b in range(bootstrap):
            drawn = bootstrap_rng.integers(0, k_all, k_all) if resample in ("both", "cells") else np.arange(k_all)
            rep_opt = np.empty((drawn.size, 2))
            for j, k in enumerate(drawn):
                if resample in ("both", "runs"):
                    x, y, z = arrays[k]
                    i = bootstrap_rng.integers(0, z.size, z.size)
                    rep_opt[j] = _locate(x[i], y[i], z[i], keep)[:2]
                else:
                    rep_opt[j] = opt[k]
            fitted = _fit_laws(logn[drawn], logd[drawn], rep_opt, var[drawn], weights)
            if fitted is not None:
                out[b] = fitted[0]
            if progress is not None and ((b + 1) % 10 == 0 or b + 1 == bootstrap):
                progress(b + 1, bootstrap)
        replicates = pd.DataFrame(out, columns=list(COEFFICIENTS))
        usable = np.isfinite(out).all(axis=1)
        if usable.sum() < 2:
            raise InputError("fewer than 2 bootstrap replicates could identify the law; add cells (more values of N and D)")
        if not usable.all():
            message = (f"{int((~usable).sum())} of {bootstrap} bootstrap replicates drew cells with too few distinct N or D "
                       f"to identify the law; the intervals use the other {int(usable.sum())}")
            notes.append(message)
            warnings.warn(message, IdentifiabilityWarning, stacklevel=2)
        tail = (1.0 - level) / 2.0
        lower, upper = np.quantile(out[usable], tail, axis=0), np.quantile(out[usable], 1.0 - tail, axis=0)
        intervals = {name: (float(lo), float(hi)) for name, lo, hi in zip(COEFFICIENTS, lower, upper, strict=True)}

    across = ("random-effects meta-regression in logs (weights 1/(v_k + tau^2), DerSimonian-Laird tau^2)" if weights == "random_effects"
              else "ordinary least squares in logs")
    method = (f"per (N, D) cell, a quadratic in (log lr, log batch) fitted to the best {keep:.0%} of runs (at least "
              f"{MIN_QUADRATIC_RUNS}) locates the optimum (the best run when not convex or outside), its variance v_k from "
              f"{cell_resamples} resamples of the cell's runs; then {across} across {len(arrays)} cells")
    if bootstrap:
        unit = {"both": "cells, then runs within each drawn cell", "cells": "cells", "runs": "runs within each cell"}[resample]
        method += f"; {bootstrap} bootstrap replicates resampling {unit}, seed {seed}, {level:.0%} percentile intervals"
    settings = {"loss": names["loss"], "batch_unit": batch_unit, "keep": keep, "weights": weights, "bootstrap": bootstrap,
                "resample": resample, "level": level, "seed": seed, "cell_resamples": cell_resamples}
    return SweepFit(
        coefficients={name: float(v) for name, v in zip(COEFFICIENTS, values, strict=True)},
        cells=pd.DataFrame(rows), method=method, intervals=intervals, level=level, replicates=replicates,
        between_cell_sd={"lr": float(np.sqrt(tau_lr)), "bs": float(np.sqrt(tau_bs))},
        warnings=tuple(notes), settings=settings,
    )


__all__ = [
    "COEFFICIENTS",
    "SweepEdgeWarning",
    "SweepFit",
    "fit_hparam_sweep",
    "locate_optimum",
]
