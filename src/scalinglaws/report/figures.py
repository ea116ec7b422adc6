"""Matplotlib figures: fits, residuals, IsoFLOP profiles, backtests, learning curves.

Each function takes results and returns a :class:`matplotlib.figure.Figure`;
nothing is computed here beyond evaluating the fitted law on a grid for
drawing. Save with ``fig.savefig("fit.png", dpi=150)`` or ``save_figure``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..data.runs import Runs
from ..errors import InputError
from ..outputs import output_path
from ..fitting.result import Fit

UNITS = {"N": "parameters", "D": "tokens", "C": "FLOPs", "U": "unique tokens", "step": "steps"}
FORMATS = (".png", ".svg", ".pdf")


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("plots need matplotlib: pip install 'scalinglaws[plots]'") from exc
    return plt


def check_figure_path(path: str | os.PathLike[str]) -> None:
    """Refuse a figure path whose suffix is not one of ``FORMATS``."""
    if os.path.splitext(os.fspath(path))[1].lower() not in FORMATS:
        raise InputError(f"--plot must end in {', '.join(FORMATS)}, got {os.fspath(path)!r}")


def save_figure(figure, path: str | os.PathLike[str]) -> None:
    """Save as PNG, SVG or PDF (by suffix)."""
    check_figure_path(path)
    figure.savefig(output_path(path, "figure"), dpi=150, bbox_inches="tight")
    _pyplot().close(figure)


def _label(variable: str) -> str:
    return f"{variable} ({UNITS.get(variable, variable)})"


def _band(fit: Fit, inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    if fit.bootstrap is None:
        return None
    from ..uncertainty.intervals import prediction_interval

    return prediction_interval(fit, inputs, kind="mean")


@dataclass(frozen=True)
class LawCurve:
    """One drawn curve of a fitted law: its runs, x grid, inputs, values and band (or None)."""

    label: str
    rows: np.ndarray  # mask of the runs' rows this curve belongs to
    grid: np.ndarray
    inputs: dict[str, np.ndarray]
    predicted: np.ndarray
    band: tuple[np.ndarray, np.ndarray] | None


#: Most curves one fit figure draws (one per model); beyond, curves are per value of the first variable.
MAX_CURVES = 30


def law_curves(fit: Fit, runs: Runs, *, upper: float | None = None, extend: float = 10.0, points: int = 120) -> tuple[str, list[LawCurve]]:
    """The x variable and the curves to draw: for laws in D and more, one per model (against D), else one.

    Each curve runs from its runs' smallest x to ``upper`` (default ``extend``
    times the largest x in the data); the law's other variables are held at the values
    of the curve's first run.
    """
    law, table = fit.law, runs.table
    others = [v for v in law.variables if v != "D"]
    x_var = "D" if "D" in law.variables and others else law.variables[0]
    x = table[x_var].to_numpy(dtype=float)
    groups = [("fitted law", np.ones(len(table), dtype=bool))]
    if x_var == "D":
        # One curve per model (per distinct value of the law's other variables), or per value of the first if too many.
        keys = others if len(table[others].drop_duplicates()) <= MAX_CURVES else others[:1]
        combos = table[keys].drop_duplicates().sort_values(keys).to_numpy(dtype=float)
        groups = [(", ".join(f"{k} = {v:.3g}" for k, v in zip(keys, combo, strict=True)),
                   np.all(table[keys].to_numpy(dtype=float) == combo, axis=1)) for combo in combos]
    curves = []
    for label, rows in groups:
        grid = np.geomspace(x[rows].min(), upper or extend * x.max(), points)
        inputs = {x_var: grid}
        first = table[rows].iloc[0]
        inputs.update({v: np.full_like(grid, float(first[v])) for v in law.variables if v != x_var})
        curves.append(LawCurve(label, rows, grid, inputs, law.function(dict(fit.params), inputs), _band(fit, inputs)))
    return x_var, curves


def fit_figure(fit: Fit, runs: Runs, *, held_out: np.ndarray | None = None, extend_to: float | None = None, title: str | None = None):
    """Data and fitted law in log-log, one curve per model size (laws in N and D) or one curve.

    The x axis is D for laws in N and D (one colour per N), else the law's
    variable. The curve extends to ``extend_to`` (default: 10x the data), with
    the bootstrap band of the mean law when the fit has replicates; held-out
    points are drawn hollow.
    """
    plt = _pyplot()
    law = fit.law
    table = runs.table
    held = np.zeros(len(table), dtype=bool) if held_out is None else np.asarray(held_out, dtype=bool)
    fig, ax = plt.subplots(figsize=(9, 5))
    x_var, curves = law_curves(fit, runs, upper=extend_to)
    x = table[x_var].to_numpy(dtype=float)
    y = table["loss"].to_numpy(dtype=float)
    if len(curves) > 1:
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(curves)))
        for curve, colour in zip(curves, colours, strict=True):
            ax.scatter(x[curve.rows & ~held], y[curve.rows & ~held], color=colour, s=14, zorder=3)
            ax.scatter(x[curve.rows & held], y[curve.rows & held], facecolors="none", edgecolors=colour, s=30, zorder=3)
            ax.plot(curve.grid, curve.predicted, color=colour, lw=1.2, label=curve.label)
            if curve.band is not None:
                ax.fill_between(curve.grid, curve.band[0], curve.band[1], color=colour, alpha=0.15, lw=0)
    else:
        (curve,) = curves
        ax.scatter(x[~held], y[~held], s=16, color="C0", zorder=3, label="fitted runs")
        ax.plot(curve.grid, curve.predicted, color="C1", lw=1.5, label=curve.label)
        if curve.band is not None:
            ax.fill_between(curve.grid, curve.band[0], curve.band[1], color="C1", alpha=0.2, lw=0, label=f"{fit.bootstrap.level:.0%} interval (mean law)")
    if held.any():
        ax.scatter([], [], facecolors="none", edgecolors="k", s=30, label="held out")
    ax.axvline(x[~held].max(), color="0.6", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_label(x_var))
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(title or f"{law.name} fit to {runs.source}: {law.formula}", fontsize=10)
    ax.legend(fontsize=7, ncol=1, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _plain_log_ticks(ax.yaxis)
    ax.grid(True, which="both", alpha=0.2)
    fig.tight_layout()
    return fig


def _plain_log_ticks(axis) -> None:
    """Loss axes span less than a decade: label ticks as plain numbers, not 3x10^0."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.5, 2.8, 3.2, 3.6, 4.0, 5.0, 6.0, 7.0, 8.0)))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(FormatStrFormatter(""))


def residual_figure(fit: Fit, runs: Runs, *, title: str | None = None):
    """Residuals (in the fit's residual space) against each variable of the law."""
    plt = _pyplot()
    inputs = runs.inputs(fit.law.variables)
    residuals = fit.loss.residuals(fit.law.function(dict(fit.params), inputs), runs.values("loss"))
    fig, axes = plt.subplots(1, len(inputs), figsize=(4.2 * len(inputs), 3.6), squeeze=False)
    for ax, (name, values) in zip(axes[0], inputs.items(), strict=True):
        ax.scatter(values, residuals, s=12, alpha=0.8)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(_label(name))
        ax.set_ylabel(f"{fit.loss.space} residual (predicted - observed)")
        ax.grid(True, alpha=0.2)
    fig.suptitle(title or f"{fit.law.name} residuals on {runs.source}", fontsize=10)
    fig.tight_layout()
    return fig


def isoflop_figure(result, *, title: str | None = None):
    """IsoFLOP profiles with their parabolas and vertices, and the N*(C) frontier."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    table = result.profiles
    budgets = [b.C for b in result.budgets]
    colours = plt.cm.plasma(np.linspace(0, 0.85, len(budgets)))
    for budget, colour in zip(result.budgets, colours, strict=True):
        part = table[table["budget"] == budget.C]
        n = part["N"].to_numpy(dtype=float)
        left.scatter(n, part["loss"], color=colour, s=14)
        coefs = np.polyfit(np.log(n), part["loss"].to_numpy(dtype=float), 2)
        grid = np.geomspace(n.min(), n.max(), 80)
        left.plot(grid, np.polyval(coefs, np.log(grid)), color=colour, lw=1, label=f"C = {budget.C:.2g}")
        left.scatter([budget.N_opt], [budget.loss_opt], marker="*", s=90, color=colour, edgecolors="k", zorder=4)
    left.set_xscale("log")
    left.set_xlabel(_label("N"))
    left.set_ylabel("loss (nats/token)")
    left.set_title("IsoFLOP profiles (stars: parabola vertices)", fontsize=10)
    left.legend(fontsize=7, frameon=False)
    compute = np.array(budgets)
    grid = np.geomspace(compute.min() / 3, compute.max() * 30, 100)
    right.scatter(compute, [b.N_opt for b in result.budgets], color="C0", zorder=3, label="N* per budget")
    right.plot(grid, result.N_opt(grid), color="C0", label=f"N* = {result.N_opt.coef:.3g} C^{result.N_opt.exponent:.3f}")
    right.scatter(compute, [b.D_opt for b in result.budgets], color="C1", zorder=3, label="D* per budget")
    right.plot(grid, result.D_opt(grid), color="C1", label=f"D* = {result.D_opt.coef:.3g} C^{result.D_opt.exponent:.3f}")
    for power, colour in ((result.N_opt, "C0"), (result.D_opt, "C1")):
        if "exponent" in power.interval:
            # Band from the exponent interval, pivoting at the geometric centre of the budgets.
            centre = np.exp(np.mean(np.log(compute)))
            lo, hi = power.interval["exponent"]
            at_centre = power(centre)
            bounds = np.stack([at_centre * (grid / centre) ** e for e in (lo, hi)])
            right.fill_between(grid, bounds.min(0), bounds.max(0), color=colour, alpha=0.15, lw=0)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel(_label("C"))
    right.set_ylabel("compute-optimal N* (parameters) and D* (tokens)")
    right.set_title("Compute-optimal frontier (Approach 2)", fontsize=10)
    right.legend(fontsize=7, frameon=False)
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.2)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def backtest_figure(result, *, title: str | None = None):
    """Predicted against actual loss of held-out runs per law, and mean ARE per law."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    summary = result.summary()
    lows, highs = [], []
    for i, law in enumerate(result.results):
        if law.targets.empty:
            continue
        left.scatter(law.targets["actual"], law.targets["predicted"], s=16, color=f"C{i}", label=law.law, alpha=0.8)
        lows.append(min(law.targets["actual"].min(), law.targets["predicted"].min()))
        highs.append(max(law.targets["actual"].max(), law.targets["predicted"].max()))
    if lows:
        span = np.array([min(lows), max(highs)])
        left.plot(span, span, color="k", lw=0.8, label="perfect prediction")
    left.set_xlabel("actual held-out loss (nats/token)")
    left.set_ylabel("predicted loss (nats/token)")
    left.set_title(f"Held-out predictions ({result.split})", fontsize=9)
    left.legend(fontsize=7, frameon=False)
    colour_of = {law.law: f"C{i}" for i, law in enumerate(result.results)}
    right.barh(summary["law"][::-1], summary["mean_are"][::-1], color=[colour_of[name] for name in summary["law"][::-1]])
    right.set_xlabel("mean absolute relative error (held out)")
    right.set_title("Backtest ARE per law (lower is better)", fontsize=9)
    for ax in (left, right):
        ax.grid(True, alpha=0.2)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def curves_figure(runs: Runs, *, x: str = "D", title: str | None = None):
    """Learning curves: loss against tokens (or steps) for each run."""
    plt = _pyplot()
    table = runs.table
    if "run" not in table.columns:
        raise InputError("learning curves need a 'run' column (checkpoints of each run)")
    runs.require([x, "loss"])
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for run, part in table.groupby("run", sort=True):
        part = part.sort_values(x)
        ax.plot(part[x], part["loss"], lw=1, label=str(run))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_label(x))
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(title or f"Learning curves in {runs.source}", fontsize=10)
    _plain_log_ticks(ax.yaxis)
    if table["run"].nunique() <= 24:
        ax.legend(fontsize=6, ncol=1, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
    ax.grid(True, which="both", alpha=0.2)
    return fig


def design_figure(design, *, title: str | None = None):
    """Proposed runs (and the baselines) over the (N, D) plane, with IsoFLOP lines and the target."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    # The proposal first; then each baseline, unless it trains the same runs as a ladder already drawn (the proposal
    # is often a baseline itself), which would only hide that ladder's markers.
    ladders = [(design.best, "C3", "o", 60, "proposed: ")]
    for i, (baseline, marker) in enumerate(zip(design.baselines, ("s", "^", "D", "v"), strict=False)):
        if all(baseline.ladder.points != drawn.ladder.points for drawn, *_ in ladders):
            ladders.append((baseline, f"C{i}", marker, 36, ""))
    everything = [e.ladder for e, *_ in ladders]
    n_all = np.concatenate([lad.N for lad in everything])
    d_all = np.concatenate([lad.D for lad in everything])
    n_grid = np.geomspace(n_all.min() / 2, max(n_all.max(), design.target.get("N", n_all.max())) * 2, 50)
    lo, hi = np.log10(6 * n_all.min() * d_all.min()), np.log10(max(6 * n_all.max() * d_all.max(), design.target_compute))
    for c in 10.0 ** np.arange(np.floor(lo), np.ceil(hi) + 1):
        ax.plot(n_grid, c / (6 * n_grid), color="0.85", lw=0.8, zorder=1)
        ax.annotate(f"C={c:.0e}", (n_grid[0], c / (6 * n_grid[0])), fontsize=6, color="0.5", clip_on=True)
    for evaluation, colour, marker, size, prefix in ladders:
        width = f"width {evaluation.width:.1%}" if np.isfinite(evaluation.width) else "too few points to fit"
        label = f"{prefix}{evaluation.ladder.name} ({width})"
        ax.scatter(evaluation.ladder.N, evaluation.ladder.D, color=colour, marker=marker, s=size, label=label, zorder=3, alpha=0.85)
    if "N" in design.target:
        ax.scatter([design.target["N"]], [design.target["D"]], marker="*", s=200, color="k", label="target", zorder=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(d_all.min() / 3, max(d_all.max(), design.target.get("D", d_all.max())) * 3)
    ax.set_xlabel(_label("N"))
    ax.set_ylabel(_label("D"))
    ax.set_title(title or f"Ladder design for {design.law} at a {design.budget:.2g}-FLOP budget (grey: IsoFLOP lines)", fontsize=10)
    ax.legend(fontsize=7, frameon=True, framealpha=0.9, edgecolor="none", loc="upper left")  # framed: hides the IsoFLOP labels under it
    ax.grid(True, which="major", alpha=0.2)
    fig.tight_layout()
    return fig


def held_out_mask(runs: Runs, by: str = "C", holdout: float = 0.2) -> np.ndarray:
    """The rows a default backtest would hold out (for marking them on figures)."""
    from ..evaluate.backtest import split_mask

    return split_mask(runs, by=by, holdout=holdout)[0]


__all__ = ["LawCurve", "backtest_figure", "curves_figure", "design_figure", "fit_figure", "held_out_mask", "isoflop_figure", "law_curves", "residual_figure", "save_figure"]
