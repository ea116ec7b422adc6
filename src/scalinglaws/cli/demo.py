"""``scalinglaws demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..demo import DEMO_TOKENS_PER_PARAM, run_demo
from ..datasets import load
from ..report import build_report, write_report
from ..report.html import check_report_path
from .common import JsonOption, emit_json, print_warnings, progress_bar, stdout, table
from .core import show_fit

app = typer.Typer()


@app.command("demo")
def demo_command(
    report: Annotated[Path, typer.Option("--report", help="Where to write the HTML report.")] = Path("scalinglaws-demo-report.html"),
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip the HTML report.")] = False,
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates behind the report's intervals.")] = 50,
    json_out: JsonOption = False,
) -> None:
    """Run the whole pipeline on the bundled Gemstones data and write an HTML report."""
    if not no_report:
        check_report_path(report)
    result = run_demo()
    path = None
    if not no_report:
        with progress_bar("report: bootstrap", enabled=not json_out) as advance:
            content = build_report(load(result.dataset), ["chinchilla", "kaplan"], bootstrap=n_bootstrap, progress=advance)
        path = write_report(content, report)
    if json_out:
        emit_json({"dataset": result.dataset, "fit": result.fit.to_dict(), "forecast": result.forecast.to_dict(), "optimal": result.allocation.to_dict(),
                   "report": None if path is None else str(path)})
        return
    stdout.print(f"[bold]scalinglaws demo[/bold]: dataset:{result.dataset} ({result.fit.n_points} checkpoints of 22 Gemstones models)\n")
    show_fit(result.fit)
    f = result.forecast
    stdout.print()
    stdout.print(table(f"Forecast for a model 10x larger than any fitted, at {DEMO_TOKENS_PER_PARAM:g} tokens/param",
                       ["N (params)", "D (tokens)", "predicted loss"], [[f.inputs["N"], f.inputs["D"], f.loss]]))
    print_warnings(f.warnings)
    a = result.allocation
    stdout.print(table(f"Compute-optimal run at 100x the largest compute in the data ({result.largest_compute:.3g} FLOPs)",
                       ["C (FLOPs)", "N* (params)", "D* (tokens)", "D*/N*", "loss"], [[a.C, a.N, a.D, a.tokens_per_param, a.loss]]))
    if path is not None:
        stdout.print(f"\nwrote the HTML report to {path} (open it in a browser)", soft_wrap=True)
