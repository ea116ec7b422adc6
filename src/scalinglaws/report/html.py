"""One self-contained HTML file: Plotly's script inline, no network fetches.

:func:`render_html` turns a :class:`~.content.Report` into a page; every
figure is a ``<div class="figure">`` drawn by the inline Plotly bundle.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from ..fitting.result import Fit
from ..outputs import output_path
from . import interactive
from .content import Report

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px; padding: 1.5rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 0.25rem 0.7rem; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; } th { background: #f6f6f6; }
.formula { font-family: ui-monospace, monospace; background: #f6f6f6; padding: 0.1rem 0.4rem; }
.warning { color: #8a5300; } .ok { color: #196c2e; } .muted { color: #666; font-size: 0.85rem; }
.figure { width: 100%; min-height: 360px; }
"""


def _num(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return html.escape(str(value))
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "–" if value != value else f"{value:.5g}"
    return html.escape(str(value))


def _table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    def cell(value: object) -> str:
        return f'<td class="text">{_num(value)}</td>' if isinstance(value, str) else f"<td>{_num(value)}</td>"

    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Figures:
    """Collects figures and gives each a div and the script that draws it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, figure, caption: str = "") -> str:
        self.count += 1
        spec = figure.to_json().replace("</", "<\\/")
        div = f'fig{self.count}'
        note = f'<p class="muted">{html.escape(caption)}</p>' if caption else ""
        return (f'<div class="figure" id="{div}"></div>{note}'
                f'<script>(function(){{var s={spec};Plotly.newPlot("{div}",s.data,s.layout,{{responsive:true,displaylogo:false}});}})();</script>')


def _fit_section(result: Fit, report: Report, figure: _Figures) -> str:
    law = result.law
    summary = result.summary()
    columns = ["parameter", "value", *(["lower", "upper"] if "lower" in summary.columns else []), "meaning"]
    rows = [[name, row["value"], *([row["lower"], row["upper"]] if "lower" in summary.columns else []), row["description"]]
            for name, row in summary.iterrows()]
    status = "ok" if result.converged else "warning"
    level = f" with {result.bootstrap.level:.0%} bootstrap intervals ({result.bootstrap.converged} of {result.bootstrap.replicates.shape[0]} replicates converged)" if result.bootstrap is not None else ""
    parts = [f'<h2>{html.escape(law.name)}</h2><p><span class="formula">{html.escape(law.formula)}</span> — {html.escape(law.citation)}</p>',
             f"<p>Parameters{html.escape(level)}:</p>", _table(columns, rows),
             f'<p>Objective {result.objective:.6g} ({html.escape(result.loss.name)}, delta {result.loss.delta:g}, {html.escape(result.loss.space)} residuals, summed over {result.n_points} points). '
             f'Status: <span class="{status}">{html.escape(result.status)}</span>.</p>']
    if result.warnings:
        parts.append("<p>Diagnostics and warnings:</p><ul>" + "".join(
            f'<li class="warning"><b>{html.escape(w.code)}</b>: {html.escape(w.message)}</li>' for w in result.warnings) + "</ul>")
    else:
        parts.append('<p class="ok">Diagnostics: no warnings (conditioning, residual trend, bounds, monotonicity checked).</p>')
    parts.append(figure(interactive.fit_plot(result, report.runs), "Points are runs (hover for the run); lines are the fitted law, extended 10x beyond the data"
                        + (", with the band of the mean law." if result.bootstrap is not None else ".")))
    parts.append(figure(interactive.residual_plot(result, report.runs)))
    return "".join(parts)


def _backtest_section(report: Report, figure: _Figures) -> str:
    if report.backtest is None:
        return ""
    summary = report.backtest.summary()
    rows = [["-" if pd.isna(rank) else rank, r.law, r.mean_are, r.max_are, r.n_fit, r.n_heldout, r.status] for rank, r in zip(summary.index, summary.itertuples(), strict=True)]
    return ("<h2>Backtest</h2><p>Each law is fitted on the smaller runs and predicts the held-out larger ones "
            f"({html.escape(report.backtest.split)}); ARE = |predicted − actual| / actual.</p>"
            + _table(["rank", "law", "mean ARE", "max ARE", "fitted rows", "held-out rows", "status"], rows)
            + figure(interactive.backtest_plot(report.backtest)))


def _plan_section(report: Report, figure: _Figures) -> str:
    if not report.plans:
        return ""
    parts = ["<h2>Compute plan</h2><p>Compute-optimal model size N* and tokens D* at training compute C = 6ND.</p>"]
    for law, allocations in report.plans.items():
        with_intervals = all(a.intervals for a in allocations)
        columns = ["C (FLOPs)", "N* (params)", "D* (tokens)", "D*/N*", "loss"] + (["N* interval", "D* interval"] if with_intervals else [])
        rows = [[a.C, a.N, a.D, a.tokens_per_param, a.loss,
                 *([f"{a.intervals['N'][0]:.3g} – {a.intervals['N'][1]:.3g}", f"{a.intervals['D'][0]:.3g} – {a.intervals['D'][1]:.3g}"] if with_intervals else [])]
                for a in allocations]
        parts.append(f"<h3>{html.escape(law)}</h3>" + _table(columns, rows))
    parts.append(figure(interactive.plan_plot(dict(report.plans))))
    return "".join(parts)


def _curves_section(report: Report, figure: _Figures) -> str:
    table = report.runs.table
    if "run" not in table.columns or table.groupby("run").size().max() < 3:
        return ""
    x = "D" if "D" in table.columns else "step" if "step" in table.columns else None
    if x is None:
        return ""
    return "<h2>Learning curves</h2>" + figure(interactive.curves_plot(report.runs, x))


def render_html(report: Report) -> str:
    """The whole page as one string, with Plotly inline."""
    from plotly.offline import get_plotlyjs

    figure = _Figures()
    runs = report.runs
    n_runs = runs.table["run"].nunique() if "run" in runs.table.columns else len(runs.table)
    body = [f"<h1>Scaling-law report: {html.escape(runs.source)}</h1>",
            f'<p class="muted">{len(runs.table)} rows, {n_runs} runs · laws: {html.escape(str(report.settings["laws"]))} · {html.escape(report.created)}</p>']
    body.extend(_fit_section(result, report, figure) for result in report.fits)
    body.append(_backtest_section(report, figure))
    body.append(_plan_section(report, figure))
    body.append(_curves_section(report, figure))
    notes = report.all_notes
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    body.append("<h2>Provenance</h2>" + _table(["item", "value"], [[k, str(v)] for k, v in report.provenance.items()]))
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>scalinglaws report: {html.escape(runs.source)}</title><style>{STYLE}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>{''.join(body)}</body></html>")


def check_report_path(path: str | os.PathLike[str]) -> Path:
    """The report's path, refused early unless it ends in .html (or .htm)."""
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        from ..errors import InputError

        raise InputError(f"the report is an HTML file: give a path ending in .html, got {os.fspath(path)!r}")
    return target


def write_report(report: Report, path: str | os.PathLike[str]) -> Path:
    """Write the report to ``path`` (an ``.html`` file) and return the path."""
    target = output_path(check_report_path(path), "report")
    target.write_text(render_html(report), encoding="utf-8")
    return target


__all__ = ["check_report_path", "render_html", "write_report"]
