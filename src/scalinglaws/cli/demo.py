"""``scalinglaws demo``."""

from __future__ import annotations

import typer

from ..demo import DEMO_TOKENS_PER_PARAM, run_demo
from .common import JsonOption, emit_json, print_warnings, stdout, table
from .core import show_fit

app = typer.Typer()


@app.command("demo")
def demo_command(json_out: JsonOption = False) -> None:
    """Run the whole pipeline on the bundled Gemstones data."""
    result = run_demo()
    if json_out:
        emit_json({"dataset": result.dataset, "fit": result.fit.to_dict(), "forecast": result.forecast.to_dict(), "optimal": result.allocation.to_dict()})
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
