"""Backtest a ladder on real runs: fit the law to the runs it chose, score the forecast of held-out runs.

This is how a design is validated on existing data: the pool is every run (or
checkpoint) that was trained, the design picks a subset without looking at
its losses, and only then are the losses of that subset read, fitted, and
the fit judged on runs the design never saw (for example the largest model).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, ScalingLawsError, ScalingLawWarning
from ..fitting import fit
from ..predict import predict
from .ladder import Ladder, pool_grid, snapped_grid


def _require_columns(table: pd.DataFrame, columns: Sequence[str], what: str, purpose: str = "") -> None:
    """Raise an :class:`InputError` naming ``what`` and the missing columns unless ``table`` has all of ``columns``."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        listed = ", ".join(columns[:-1]) + " and " + columns[-1]
        raise InputError(f"{what} needs columns {listed}{purpose}; missing {', '.join(missing)}")


def chosen_rows(ladder: Ladder, pool: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``pool`` (columns N, D and loss) that ``ladder`` picked, matched on (N, D)."""
    _require_columns(pool, ("N", "D", "loss"), "the pool table", " to backtest a ladder")
    picked = ladder.points
    mask = [(n, d) in picked for n, d in zip(pool["N"].astype(float), pool["D"].astype(float), strict=True)]
    return pool[mask]


def backtest_ladder(ladder: Ladder, pool: pd.DataFrame, held_out: pd.DataFrame, law: str = "chinchilla") -> float:
    """Mean absolute relative error of the forecast of ``held_out`` from a fit to the runs ``ladder`` chose.

    NaN when the chosen runs are too few to fit the law or the fit fails; a
    fit that did not converge still counts (its forecast is what a user would get).
    """
    _require_columns(held_out, ("N", "D", "loss"), "the held-out table")
    rows = chosen_rows(ladder, pool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        try:
            result = fit(rows, law, diagnostics=False)
        except ScalingLawsError:
            return math.nan
        predicted = predict(result, N=held_out["N"].to_numpy(dtype=float), D=held_out["D"].to_numpy(dtype=float))
    return float(np.mean(np.abs(predicted / held_out["loss"].to_numpy(dtype=float) - 1)))


def hold_out_largest(table: pd.DataFrame, sizes: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split runs into a pool (all but the ``sizes`` largest model sizes) and the held-out runs' final losses.

    With a ``run`` column (rows are checkpoints) the held-out table keeps each
    held-out run's last checkpoint: the loss a ladder must forecast. Without
    one every row is a finished run, and every held-out row is kept.
    """
    distinct = np.sort(table["N"].unique())
    if sizes < 1:
        raise InputError(f"--backtest K must be >= 1 (the number of largest sizes to hold out), got {sizes}")
    if distinct.size <= sizes + 2:
        raise InputError(f"cannot hold out the {sizes} largest sizes of {distinct.size}: keep at least 3 sizes in the pool")
    held = table[table["N"] >= distinct[-sizes]]
    final = held[held["D"] == held.groupby("run")["D"].transform("max")] if "run" in held.columns else held
    return table[table["N"] < distinct[-sizes]].reset_index(drop=True), final.reset_index(drop=True)


def hold_out_top_budget(table: pd.DataFrame, near: float = 3.0, below: float = 10.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split IsoFLOP runs (a ``budget`` column) into a pool of smaller, cheaper runs and the top budget's best runs.

    Held out are the top budget's runs within a factor ``near`` in N of its
    lowest loss (the bottom of its IsoFLOP bowl: what a ladder is trained to
    forecast), lowest loss first. The pool is every run at ``1/below`` of the
    top budget or less and no larger than that lowest-loss run, so a forecast
    extrapolates at least ``below``-fold in compute.
    """
    _require_columns(table, ("N", "D", "loss", "budget"), "holding out the top budget")
    top = table[table["budget"] == table["budget"].max()].sort_values("loss")
    best = float(top["N"].iloc[0])
    held = top[top["N"].between(best / near, best * near)]
    pool = table[(table["budget"] <= table["budget"].max() / below) & (table["N"] <= best)]
    if pool["N"].nunique() < 3:
        raise InputError(f"holding out the top budget leaves {pool['N'].nunique()} model size(s) in the pool; "
                         f"the law needs at least 3 (lower below={below:g})")
    return pool.reset_index(drop=True), held.reset_index(drop=True)


def hold_out_top_compute(table: pd.DataFrame, runs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split finished runs into a pool and the ``runs`` runs of largest compute (6 N D), largest first.

    For a table of finished runs with no budget column, such as a contour of
    runs at scattered (N, D): the forecast is of the most expensive runs.
    """
    _require_columns(table, ("N", "D", "loss"), "holding out the largest-compute runs")
    if runs < 1:
        raise InputError(f"hold out at least 1 run, got runs={runs}")
    order = (table["N"].astype(float) * table["D"].astype(float)).sort_values(ascending=False, kind="stable").index
    pool, held = table.loc[order[runs:]], table.loc[order[:runs]]
    if pool["N"].nunique() < 3:
        raise InputError(f"holding out {runs} run(s) leaves {pool['N'].nunique()} model size(s) in the pool; the law needs at least 3")
    return pool.reset_index(drop=True), held.reset_index(drop=True)


def thin_checkpoints(table: pd.DataFrame, per_run: int) -> pd.DataFrame:
    """At most ``per_run`` points per run: the run's points binned evenly in log D, each bin's median D and loss.

    For dense or digitised curves (thousands of noisy points per run), this
    both speeds up the design and averages out the per-point noise.
    """
    if "run" not in table.columns:
        raise InputError("thinning checkpoints needs a 'run' column naming the run of each row")
    out = []
    for run, rows in table.groupby("run", sort=False):
        log_d = np.log(rows["D"].to_numpy(dtype=float))
        edges = np.linspace(log_d.min(), log_d.max() + 1e-9, per_run + 1)
        bins = np.digitize(log_d, edges[1:-1])
        grouped = rows.assign(_bin=bins).groupby("_bin")
        out.append(pd.DataFrame({"run": run, "N": grouped["N"].first(), "D": grouped["D"].median(), "loss": grouped["loss"].median()}))
    return pd.concat(out, ignore_index=True)


#: Checkpoints per run that ``scalinglaws design --pool`` keeps of a dense pool: each simulated fit of a ladder
#: costs time in proportion to its points, and a log of thousands of steps tells the law little more than fifty.
POOL_CHECKPOINTS = 50


def sparse_checkpoints(table: pd.DataFrame, per_run: int) -> pd.DataFrame:
    """At most ``per_run`` real checkpoints per run: the first, the last, and those nearest to log-spaced tokens between.

    Unlike :func:`thin_checkpoints` nothing is averaged: every row kept is a
    row of ``table``, so each run keeps its last checkpoint (what it cost) and
    its losses stay what was logged. Runs with at most ``per_run`` rows are kept whole.
    """
    if "run" not in table.columns:
        raise InputError("thinning checkpoints needs a 'run' column naming the run of each row")
    if per_run < 2:
        raise InputError(f"keep at least 2 checkpoints per run (got {per_run})")
    keep = []
    for _, rows in table.groupby("run", sort=False):
        if len(rows) <= per_run:
            keep.extend(rows.index)
            continue
        log_d = np.log(rows["D"].to_numpy(dtype=float))
        wanted = np.linspace(log_d.min(), log_d.max(), per_run)
        keep.extend(rows.index[np.unique(np.argmin(np.abs(log_d[:, None] - wanted[None, :]), axis=0))])
    return table.loc[sorted(keep)].reset_index(drop=True)


def classic_ladder(pool: pd.DataFrame) -> Ladder:
    """The classic ladder a pool allows: log-spaced sizes cut at 20 tokens per parameter.

    With a ``run`` column, the runs' last checkpoints at about 20 tokens per
    parameter (the top size as large as the pool has); without, the finished
    runs nearest to that grid. Its compute is the natural budget for a backtest.
    """
    if "run" in pool.columns:
        return pool_grid(pool["N"].to_numpy(), pool["D"].to_numpy(), pool["run"].to_numpy(), np.inf, final_only=True)
    return snapped_grid(pool["N"].to_numpy(), pool["D"].to_numpy())


def backtest_ladders(ladders: Sequence[Ladder], pool: pd.DataFrame, held_out: pd.DataFrame, law: str = "chinchilla") -> np.ndarray:
    """:func:`backtest_ladder` for each ladder."""
    return np.array([backtest_ladder(ladder, pool, held_out, law) for ladder in ladders])


__all__ = ["backtest_ladder", "backtest_ladders", "chosen_rows", "classic_ladder", "hold_out_largest", "hold_out_top_budget", "hold_out_top_compute", "sparse_checkpoints", "thin_checkpoints"]
