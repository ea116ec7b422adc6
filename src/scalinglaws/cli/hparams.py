"""``scalinglaws hparams``: optimal learning rate and batch size from the published laws, or fitted to a sweep."""

from __future__ import annotations

from typing import Annotated

import typer

from ..hparams import PORIAN_SEQUENCE, fit_hparam_sweep, recommend
from .common import ColOption, JsonOption, emit_json, fmt, parse_columns, parse_number, print_notes, stdout, table

app = typer.Typer()
hparams_app = typer.Typer(help="Optimal peak learning rate and batch size: Step Law, DeepSeek and Porian side by side (or `hparams fit SWEEP`).")
app.add_typer(hparams_app, name="hparams")


@hparams_app.callback(invoke_without_command=True)
def hparams_command(
    ctx: typer.Context,
    n: Annotated[str | None, typer.Option("--N", "--n", help="Model parameters (non-embedding for the Step Law), e.g. 7e9.")] = None,
    d: Annotated[str | None, typer.Option("--D", "--d", help="Training tokens, e.g. 1.4e12.")] = None,
    c: Annotated[str | None, typer.Option("--C", "--c", help="Training compute in FLOPs (C = 6 N D relates the three).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Recommend the peak learning rate and batch size (tokens) at a scale: --N and --D, or --C."""
    if ctx.invoked_subcommand is not None:
        return
    values = {k: parse_number(v, f"--{k}") if v is not None else None for k, v in (("N", n), ("D", d), ("C", c))}
    recommendations = recommend(N=values["N"], D=values["D"], C=values["C"])
    if json_out:
        emit_json([r.to_dict() for r in recommendations])
        return
    rows = []
    for r in recommendations:
        inputs = ", ".join(f"{k}={v:.3g}" for k, v in r.inputs.items())
        if r.lr is None or r.batch_tokens is None:
            rows.append([r.law, "-", "-", "-", r.notes])
        else:
            rows.append([r.law, f"{r.lr:.3g}", f"{r.batch_tokens:.3g}", f"{r.batch_tokens / PORIAN_SEQUENCE:.0f}", inputs])
    stdout.print(table("Optimal hyperparameters (peak LR; batch size in tokens and in sequences of 2048 tokens)",
                       ["law", "peak LR", "batch (tokens)", f"batch (seq of {PORIAN_SEQUENCE})", "inputs used"], rows, justify_numbers=False))
    for r in recommendations:
        stdout.print(f"[dim]{r.law}:[/dim] {r.lr_formula}; {r.batch_formula}. {r.citation}", soft_wrap=True)
    notes = sorted({n for r in recommendations for n in r.notes.split("; ") if "derived" in n})
    print_notes(notes)


@hparams_app.command("fit")
def fit_command(
    sweep: Annotated[str, typer.Argument(help="Sweep CSV with N, D, lr, bs and a loss column (e.g. steplaw's dense_lr_bs_loss.csv).")],
    loss: Annotated[str, typer.Option(help="Loss column.")] = "smooth loss",
    batch_unit: Annotated[float, typer.Option("--batch-unit", help="Tokens per unit of the bs column (2048: sequences).")] = 2048.0,
    col: ColOption = None,
    json_out: JsonOption = False,
) -> None:
    """Fit eta* = a N^b D^c and B* = d D^e to a learning-rate x batch-size sweep."""
    result = fit_hparam_sweep(sweep, columns=parse_columns(col), loss=loss, batch_unit=batch_unit)
    if json_out:
        emit_json(result.to_dict())
        return
    cells = result.cells
    stdout.print(table("Optimum per (N, D) cell", ["N", "D", "lr*", "batch* (tokens)", "best loss", "runs", "located by"],
                       [[fmt(r.N, 4), fmt(r.D, 4), fmt(r.lr_opt, 4), fmt(r.batch_opt, 4), fmt(r.best_loss, 5), r.runs, r.method]
                        for r in cells.itertuples()], justify_numbers=False))
    law = result.law()
    stdout.print(f"{law.lr_formula}\n{law.batch_formula}")
    stdout.print(f"[dim]{result.method}[/dim]", soft_wrap=True)
