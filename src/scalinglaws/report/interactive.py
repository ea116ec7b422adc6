"""Interactive (Plotly) figures for the HTML report.

The same pictures as :mod:`.figures`, with hover text naming the run behind
each point. Each function returns a ``plotly.graph_objects.Figure``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.runs import Runs
from ..errors import InputError
from ..fitting.result import Fit
from ..planning import Allocation
from .figures import UNITS, law_curves

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _go():
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # pragma: no cover - plotly is a core dependency
        raise InputError("the HTML report needs plotly: pip install plotly") from exc
    return go


def _axis(variable: str) -> str:
    return f"{variable} ({UNITS.get(variable, variable)})"


def _hover(table: pd.DataFrame, variables: Sequence[str]) -> list[str]:
    names = table["run"].astype(str) if "run" in table.columns else pd.Series([f"row {i}" for i in range(len(table))], index=table.index)
    parts = [names.map(lambda n: f"<b>{n}</b>")]
    for v in (*variables, "loss"):
        if v in table.columns:
            parts.append(table[v].map(lambda x, v=v: f"{v} = {x:.4g}"))
    return ["<br>".join(items) for items in zip(*parts, strict=True)]


def _rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` or ``rgb(r, g, b)`` with transparency ``alpha``."""
    if colour.startswith("#"):
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (int(float(c)) for c in colour[colour.index("(") + 1:-1].split(","))
    return f"rgba({r},{g},{b},{alpha})"


def _colours(count: int) -> list[str]:
    """Distinct colours: the categorical palette for few groups, Viridis for many ordered ones."""
    if count <= len(PALETTE):
        return list(PALETTE[:count])
    from plotly.colors import sample_colorscale

    return sample_colorscale("Viridis", [0.9 * i / (count - 1) for i in range(count)])


def _layout(fig, title: str, x: str, y: str, *, log_x: bool = True, log_y: bool = True) -> None:
    fig.update_layout(title={"text": title, "font": {"size": 14}}, template="plotly_white", height=460,
                      margin={"l": 70, "r": 20, "t": 50, "b": 55}, legend={"font": {"size": 10}}, hovermode="closest")
    fig.update_xaxes(title_text=x, type="log" if log_x else "linear")
    fig.update_yaxes(title_text=y, type="log" if log_y else "linear")


def fit_plot(fit: Fit, runs: Runs, *, extend: float = 10.0):
    """Data and the fitted law, one colour per model size for laws in N and D, with the interval band."""
    go = _go()
    law, table = fit.law, runs.table
    fig = go.Figure()
    x_var, curves = law_curves(fit, runs, extend=extend, points=100)
    for curve, colour in zip(curves, _colours(len(curves)), strict=True):
        label, grid, part = curve.label, curve.grid, table[curve.rows]
        if curve.band is not None:
            fig.add_trace(go.Scatter(x=np.concatenate([grid, grid[::-1]]), y=np.concatenate([curve.band[1], curve.band[0][::-1]]), fill="toself",
                                     fillcolor=_rgba(colour, 0.15), line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=label))
        fig.add_trace(go.Scatter(x=grid, y=curve.predicted, mode="lines", line={"color": colour, "width": 1.5},
                                 name=label, legendgroup=label, hovertemplate=f"{label}<br>{x_var} = %{{x:.3g}}<br>law = %{{y:.4f}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=part[x_var], y=part["loss"], mode="markers", marker={"color": colour, "size": 6}, name=label,
                                 legendgroup=label, showlegend=False, hovertext=_hover(part, law.variables), hoverinfo="text"))
    _layout(fig, f"{law.name} fit: {law.formula}", _axis(x_var), "loss (nats/token)")
    return fig


def residual_plot(fit: Fit, runs: Runs):
    """Residuals against each variable of the law, one panel per variable."""
    go = _go()
    from plotly.subplots import make_subplots

    inputs = runs.inputs(fit.law.variables)
    residuals = fit.loss.residuals(fit.law.function(dict(fit.params), inputs), runs.values("loss"))
    fig = make_subplots(rows=1, cols=len(inputs), shared_yaxes=True)
    hover = _hover(runs.table, fit.law.variables)
    for j, (name, values) in enumerate(inputs.items(), start=1):
        fig.add_trace(go.Scatter(x=values, y=residuals, mode="markers", marker={"size": 5, "color": PALETTE[0]}, hovertext=hover,
                                 hoverinfo="text", showlegend=False), row=1, col=j)
        fig.update_xaxes(title_text=_axis(name), type="log", row=1, col=j)
    fig.add_hline(y=0, line={"color": "black", "width": 1})
    fig.update_layout(title={"text": f"{fit.law.name} residuals ({fit.loss.space}, predicted − observed)", "font": {"size": 14}},
                      template="plotly_white", height=360, margin={"l": 70, "r": 20, "t": 50, "b": 55})
    fig.update_yaxes(title_text="residual", row=1, col=1)
    return fig


def backtest_plot(result):
    """Predicted against actual held-out loss for each law."""
    go = _go()
    fig = go.Figure()
    lows, highs = [], []
    for i, law in enumerate(result.results):
        t = law.targets
        if t.empty:
            continue
        variables = [c for c in t.columns if c in UNITS]
        text = ["<br>".join([f"<b>{law.law}</b>", *(f"{v} = {row[v]:.4g}" for v in variables),
                             f"actual = {row['actual']:.4f}", f"predicted = {row['predicted']:.4f}", f"ARE = {row['are']:.2%}"])
                for _, row in t.iterrows()]
        fig.add_trace(go.Scatter(x=t["actual"], y=t["predicted"], mode="markers", name=f"{law.law} (mean ARE {law.mean_are:.2%})",
                                 marker={"color": PALETTE[i % len(PALETTE)], "size": 7}, hovertext=text, hoverinfo="text"))
        lows.append(min(t["actual"].min(), t["predicted"].min()))
        highs.append(max(t["actual"].max(), t["predicted"].max()))
    if lows:
        span = [min(lows), max(highs)]
        fig.add_trace(go.Scatter(x=span, y=span, mode="lines", line={"color": "black", "width": 1, "dash": "dot"}, name="perfect prediction"))
    _layout(fig, f"Backtest: held-out predictions ({result.split})", "actual loss (nats/token)", "predicted loss (nats/token)", log_x=False, log_y=False)
    return fig


def plan_plot(plans: dict[str, Sequence[Allocation]]):
    """Compute-optimal N* and D* against compute, per law, with intervals when known."""
    go = _go()
    fig = go.Figure()
    for i, (law, allocations) in enumerate(plans.items()):
        colour = PALETTE[i % len(PALETTE)]
        compute = [a.C for a in allocations]
        for key, dash in (("N", "solid"), ("D", "dash")):
            values = [getattr(a, key) for a in allocations]
            error = None
            if all(key in a.intervals for a in allocations):
                error = {"type": "data", "symmetric": False, "array": [a.intervals[key][1] - v for a, v in zip(allocations, values, strict=True)],
                         "arrayminus": [v - a.intervals[key][0] for a, v in zip(allocations, values, strict=True)]}
            fig.add_trace(go.Scatter(x=compute, y=values, mode="lines+markers", line={"color": colour, "dash": dash}, error_y=error,
                                     name=f"{law}: {key}*", hovertemplate=f"{law}<br>C = %{{x:.3g}}<br>{key}* = %{{y:.3g}}<extra></extra>"))
    _layout(fig, "Compute-optimal allocation (N* solid, D* dashed)", _axis("C"), "N* (parameters), D* (tokens)")
    return fig


def curves_plot(runs: Runs, x: str = "D"):
    """Learning curves: loss against tokens (or steps) per run."""
    go = _go()
    table = runs.table
    fig = go.Figure()
    for i, (run, part) in enumerate(table.groupby("run", sort=True)):
        part = part.sort_values(x)
        fig.add_trace(go.Scatter(x=part[x], y=part["loss"], mode="lines+markers", marker={"size": 3}, line={"width": 1, "color": PALETTE[i % len(PALETTE)]},
                                 name=str(run), hovertext=_hover(part, [v for v in ("N", x) if v in part.columns]), hoverinfo="text"))
    _layout(fig, f"Learning curves ({table['run'].nunique()} runs)", _axis(x), "loss (nats/token)")
    return fig


__all__ = ["backtest_plot", "curves_plot", "fit_plot", "plan_plot", "residual_plot"]
