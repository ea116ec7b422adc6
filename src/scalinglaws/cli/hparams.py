"""``scalinglaws hparams``: optimal learning rate and batch size from the published laws, fitted to a sweep, and the critical batch size."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer

from ..errors import InputError, ScalingLawWarning
from ..hparams import PORIAN_SEQUENCE, critical_batch_figure, critical_batch_size, fit_hparam_sweep, kaplan_critical_batch, recommend
from ..hparams.critical_batch import KAPLAN_ALPHA_B, KAPLAN_B_STAR
from .common import (
    ColOption,
    JsonOption,
    PlotOption,
    emit_json,
    fmt,
    parse_columns,
    parse_number,
    print_notes,
    print_warnings,
    progress_bar,
    save_plot,
    stdout,
    table,
)

app = typer.Typer()
hparams_app = typer.Typer(help="Optimal peak learning rate and batch size: Step Law, DeepSeek and Porian side by side "
                               "(or `hparams fit SWEEP`, `hparams critical-batch RUNS`).")
app.add_typer(hparams_app, name="hparams")

BootstrapOption = Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates for the intervals; 0 for none.")]
LevelOption = Annotated[float, typer.Option(help="Coverage of the bootstrap intervals.")]
SeedOption = Annotated[int, typer.Option(help="Seed of the resampling.")]


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


def _short_method(method: str) -> str:
    """``"quadratic in (log lr, log batch)"`` -> ``"quadratic"``; ``"best run (x)"`` -> ``"best run: x"``."""
    if method.startswith("quadratic"):
        return "quadratic"
    return method.replace(" (", ": ").rstrip(")")


@hparams_app.command("fit")
def fit_command(
    sweep: Annotated[str, typer.Argument(help="Sweep table with N, D, lr, bs and a loss column (e.g. steplaw's dense_lr_bs_loss.csv).")],
    loss: Annotated[str, typer.Option(help="Loss column.")] = "smooth loss",
    batch_unit: Annotated[float, typer.Option("--batch-unit", help="Tokens per unit of the bs column (2048: sequences).")] = 2048.0,
    keep: Annotated[float, typer.Option(help="Share of each cell's best runs the quadratic is fitted to.")] = 0.3,
    weights: Annotated[str, typer.Option(help="Across cells: random_effects (meta-regression) or equal (least squares).")] = "random_effects",
    n_bootstrap: BootstrapOption = 200,
    resample: Annotated[str, typer.Option(help="Bootstrap unit: cells, both (cells, then runs in each cell; conservative) or runs.")] = "cells",
    level: LevelOption = 0.95,
    seed: SeedOption = 0,
    col: ColOption = None,
    json_out: JsonOption = False,
) -> None:
    """Fit eta* = a N^b D^c and B* = d D^e to a learning-rate x batch-size sweep, with bootstrap intervals.

    Roles for --col: N, D, lr, bs (or batch, batch_size) and loss.
    """
    with warnings.catch_warnings(), progress_bar("bootstrap", enabled=bool(n_bootstrap) and not json_out) as advance:
        warnings.simplefilter("ignore", ScalingLawWarning)  # recorded on the result and printed below
        result = fit_hparam_sweep(sweep, columns=parse_columns(col), loss=loss, batch_unit=batch_unit, keep=keep, weights=weights,
                                  bootstrap=n_bootstrap, resample=resample, level=level, seed=seed, progress=advance)
    if json_out:
        emit_json(result.to_dict())
        print_warnings(result.warnings)
        return
    cells = result.cells
    stdout.print(table("Optimum per (N, D) cell (se: standard error of log lr* and log batch* within the cell)",
                       ["N", "D", "lr*", "se", "batch* (tokens)", "se", "best loss", "runs", "located by"],
                       [[fmt(float(r.N), 4), fmt(float(r.D), 4), fmt(r.lr_opt, 4), fmt(r.lr_log_se, 2), fmt(r.batch_opt, 4),
                         fmt(r.batch_log_se, 2), fmt(r.best_loss, 5), r.runs, _short_method(r.method)]
                        for r in cells.itertuples()], justify_numbers=False))
    summary = result.summary()
    columns = ["coefficient", "value"] + ([f"{result.level:.0%} lower", "upper"] if result.intervals else [])
    rows = [[r.parameter, fmt(r.value, 4)] + ([fmt(r.lower, 4), fmt(r.upper, 4)] if result.intervals else []) for r in summary.itertuples()]
    stdout.print(table("Fitted law: lr* = lr_scale N^lr_N D^lr_D, B* = bs_scale D^bs_D (tokens)", columns, rows))
    law = result.law()
    stdout.print(f"{law.lr_formula}\n{law.batch_formula}")
    if result.intervals:
        stdout.print(f"bootstrap: {result.usable_replicates} of {len(result.replicates)} replicates usable; "
                     f"between-cell sd (log units): lr {result.between_cell_sd['lr']:.3g}, batch {result.between_cell_sd['bs']:.3g}")
    stdout.print(f"[dim]{result.method}[/dim]", soft_wrap=True)
    print_warnings(result.warnings)


@hparams_app.command("critical-batch")
def critical_batch_command(
    runs: Annotated[str | None, typer.Argument(help="Runs at several batch sizes: one row per run (batch, steps to the target) "
                                                    "or learning curves (batch, step, loss, run).")] = None,
    col: Annotated[list[str] | None, typer.Option("--col", help="Map a role to a column (repeatable). Roles: batch, steps (or step), "
                                                               "loss (learning curves), run.")] = None,
    target_loss: Annotated[str | None, typer.Option("--target-loss", help="Target loss for learning curves (default: the lowest loss every run reaches).")] = None,
    smooth: Annotated[int, typer.Option(help="Rolling mean over this many checkpoints before finding the target crossing.")] = 1,
    kaplan: Annotated[str | None, typer.Option("--kaplan", help="Also print Kaplan et al.'s B_crit(L) = 2e8 / L^(1/0.21) tokens at this loss (nats/token).")] = None,
    n_bootstrap: BootstrapOption = 200,
    level: LevelOption = 0.95,
    seed: SeedOption = 0,
    plot: PlotOption = None,
    json_out: JsonOption = False,
) -> None:
    """Estimate the critical batch size from a batch-size sweep: S = S_min (1 + B_crit / B) (McCandlish et al. 2018)."""
    kaplan_loss = parse_number(kaplan, "--kaplan") if kaplan is not None else None
    kaplan_value = kaplan_critical_batch(kaplan_loss) if kaplan_loss is not None else None
    kaplan_doc = None if kaplan_value is None else {
        "loss": kaplan_loss, "b_crit_tokens": kaplan_value, "formula": f"B_crit(L) = {KAPLAN_B_STAR:g} / L^(1/{KAPLAN_ALPHA_B}) tokens",
        "citation": "Kaplan et al. 2020, arXiv:2001.08361, eq. 5.3"}
    if runs is None:
        if kaplan_doc is None:
            raise InputError("give RUNS (a batch-size sweep) to estimate B_crit, or --kaplan L for Kaplan et al.'s B_crit(L)")
        if json_out:
            emit_json({"kaplan": kaplan_doc})
        else:
            stdout.print(f"Kaplan et al. 2020: B_crit({kaplan_loss:g}) = {kaplan_value:.4g} tokens ({kaplan_doc['formula']}, L in nats/token)",
                         soft_wrap=True)
        return
    roles = parse_columns(col)
    known = {"batch", "steps", "step", "loss", "run"}
    unknown = sorted(set(roles) - known)
    if unknown:
        raise InputError(f"unknown role(s) {', '.join(map(repr, unknown))} for critical-batch; roles are batch, steps (or step), loss, run")
    steps_column = roles.get("steps", roles.get("step", "step" if "loss" in roles else "steps"))
    target = parse_number(target_loss, "--target-loss") if target_loss is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)  # recorded on the result and printed below
        result = critical_batch_size(runs, batch=roles.get("batch", "batch"), steps=steps_column, loss=roles.get("loss"), run=roles.get("run"),
                                     target_loss=target, smooth=smooth, bootstrap=n_bootstrap, level=level, seed=seed)
    save_plot(plot, lambda: critical_batch_figure(result, batch_label=roles.get("batch", "batch")), announce=not json_out)
    if json_out:
        document = result.to_dict()
        if kaplan_doc is not None:
            document["kaplan"] = kaplan_doc
        emit_json(document)
        print_warnings(result.warnings)
        _exit_unless_converged(result.status, json_out)
        return
    stdout.print(table("Steps to the target per run", ["batch", "steps", "examples (B S)", "fitted steps", "log residual"],
                       [[fmt(r.batch, 4), fmt(r.steps, 5), fmt(r.examples, 4), fmt(r.fitted_steps, 5), f"{r.residual:+.3f}"]
                        for r in result.runs.itertuples()]))
    summary = result.summary()
    columns = ["quantity", "value"] + ([f"{result.level:.0%} lower", "upper"] if result.intervals else [])
    names = {"b_crit": "B_crit (batch units)", "s_min": "S_min (steps)", "e_min": "E_min (batch units)"}
    rows = [[names[r.parameter], fmt(r.value, 4)] + ([fmt(r.lower, 4), fmt(r.upper, 4)] if result.intervals else []) for r in summary.itertuples()]
    target_text = f" at target loss {result.target_loss:.4g}" if result.target_loss is not None else ""
    stdout.print(table(f"Critical batch size{target_text}: S = S_min (1 + B_crit / B), E = E_min (1 + B / B_crit)", columns, rows))
    stdout.print(f"status: {result.status}; rms log residual {result.rms_log_residual:.3g}; "
                 f"swept batch sizes {'bracket' if result.bracketed else 'do not bracket'} B_crit")
    if kaplan_value is not None:
        stdout.print(f"Kaplan et al. 2020: B_crit({kaplan_loss:g}) = {kaplan_value:.4g} tokens (their tokenizer and data; compare with care)",
                     soft_wrap=True)
    stdout.print(f"[dim]{result.method}[/dim]", soft_wrap=True)
    print_warnings(result.warnings)
    _exit_unless_converged(result.status, json_out)


def _exit_unless_converged(status: str, json_out: bool) -> None:
    """Exit 1 (a failed fit) when B_crit is not bounded by the data: the value printed is only the search limit."""
    if status == "converged":
        return
    if not json_out:
        print_notes([f"the fit failed ({status}): the B_crit above is the edge of the search, not an estimate; "
                     "add runs at batch sizes where the steps-to-target trade-off bends"])
    raise typer.Exit(1)
