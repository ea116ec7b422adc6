"""``scalinglaws inspect``: what was read from a runs source."""

from __future__ import annotations

from typing import Annotated

import typer

from ..data.inspect import inspect_runs
from ..data.readers import read_runs
from ..report import figures
from .common import ColOption, JsonOption, PlotOption, emit_json, save_plot, parse_columns, print_notes, stdout, table

app = typer.Typer()


@app.command("inspect")
def inspect_command(
    runs: Annotated[str, typer.Argument(help="Runs file, TensorBoard log dir, MLflow store (sqlite:///...), or dataset:NAME.")],
    col: ColOption = None,
    loss_unit: Annotated[str, typer.Option("--loss-unit", help="nats, perplexity, bits or bpb (then --bytes-per-token).")] = "nats",
    bytes_per_token: Annotated[float | None, typer.Option("--bytes-per-token", help="Average bytes per token, for bpb.")] = None,
    tokens_per_step: Annotated[float | None, typer.Option("--tokens-per-step", help="Batch size x context, to derive D from steps.")] = None,
    plot: PlotOption = None,
    json_out: JsonOption = False,
) -> None:
    """Show what was read: runs, roles detected, ranges, derived columns, cleaning steps."""
    data = read_runs(runs, columns=parse_columns(col), loss_unit=loss_unit, bytes_per_token=bytes_per_token, tokens_per_step=tokens_per_step)
    result = inspect_runs(data)
    save_plot(plot, lambda: figures.curves_figure(data, x="D" if "D" in data.table.columns else "step"), announce=not json_out)
    if json_out:
        emit_json(result.to_dict())
        return
    runs_text = f", {result.runs} runs" if result.runs is not None else " (no run column: each row is a run)"
    stdout.print(f"[bold]{result.source}[/bold]: {result.rows} rows{runs_text}")
    stdout.print(table("Roles", ["role", "column", "min", "max", "distinct", "missing/invalid"],
                       [[r["role"], result.roles.get(r["role"], r["column"]), r["min"], r["max"], r["distinct"], r["missing_or_invalid"]]
                        for r in result.ranges.to_dict(orient="records")]))
    if result.other_columns:
        stdout.print(f"other columns (kept as metrics): {', '.join(result.other_columns)}")
    print_notes(result.notes)
