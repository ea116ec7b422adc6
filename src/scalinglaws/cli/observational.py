"""``scalinglaws observe``: observational scaling laws (Ruan et al. 2024) and their backtest."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer

from ..errors import InputError, ScalingLawWarning
from ..observational import DEFAULT_CUTOFF, observational_fit
from .common import ColOption, JsonOption, PlotOption, emit_json, parse_columns, parse_number, print_warnings, save_plot, stdout, table

app = typer.Typer()


def _benchmarks(specs: list[str] | None) -> list[str] | None:
    if not specs:
        return None
    names = [name.strip() for spec in specs for name in spec.split(",") if name.strip()]
    if not names:
        raise InputError("--benchmarks expects column names separated by commas, e.g. --benchmarks MMLU,ARC-C,HellaSwag")
    return names


def _floor(text: str) -> float | str:
    if text.strip().lower() == "fit":
        return "fit"
    try:
        return parse_number(text, "--floor")
    except InputError:
        raise InputError(f"--floor must be 'fit' (fitted in [0, 0.2]) or a number like 0.25, got {text!r}") from None


@app.command("observe")
def observe_command(
    runs: Annotated[str, typer.Argument(help="Table of models (one row each) with compute, benchmark scores and the target, or dataset:obsscaling.")],
    target: Annotated[str, typer.Option("--target", help="Benchmark column to predict, e.g. GSM8K.")],
    benchmarks: Annotated[list[str] | None, typer.Option("--benchmarks", help="Columns to extract capabilities from, comma-separated (default: every other score column).")] = None,
    cutoff: Annotated[str | None, typer.Option("--cutoff", help=f"Fit on models with C <= this many FLOPs, hold out the rest (default {DEFAULT_CUTOFF:g}, Llama-2-7B).")] = None,
    top: Annotated[float | None, typer.Option("--top", help="Instead of --cutoff: hold out this fraction of models with the highest PC1.")] = None,
    components: Annotated[int, typer.Option("--components", help="Number of principal capabilities K.")] = 3,
    floor: Annotated[str, typer.Option("--floor", help="Sigmoid floor: 'fit' (in [0, 0.2], Ruan et al.) or a number (e.g. 0.25 for 4-way choice).")] = "fit",
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates over models for intervals (0: none).")] = 0,
    level: Annotated[float, typer.Option(help="Interval coverage.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    model: Annotated[str | None, typer.Option("--model", help="Column naming the models (default: a column called model or name).")] = None,
    col: ColOption = None,
    json_out: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Predict a benchmark from capabilities (PCs of other benchmarks) fitted below a compute cutoff; backtest above it."""
    with warnings.catch_warnings():
        # The result records its warnings; they are printed once below (or sit in the JSON).
        warnings.simplefilter("ignore", ScalingLawWarning)
        result = observational_fit(
            runs, target=target, benchmarks=_benchmarks(benchmarks),
            cutoff=None if cutoff is None else parse_number(cutoff, "--cutoff"), top=top,
            components=components, floor=_floor(floor), bootstrap=n_bootstrap, level=level, seed=seed,
            columns=parse_columns(col), model=model,
        )
    if plot is not None:
        from ..observational.figure import observational_figure

        save_plot(plot, lambda: observational_figure(result), announce=not json_out)
    if json_out:
        emit_json(result.to_dict())
    else:
        _print(result)
    if not result.converged:
        raise typer.Exit(1)


def _print(result) -> None:
    split, caps, link = result.split, result.capabilities, result.link
    where = f"C <= {float(split['cutoff']):.3g} FLOPs" if split["method"] == "cutoff" else f"all but the top {float(split['top']):g} by PC1"
    stdout.print(f"Observational scaling of {result.target} on {result.source}", style="bold")
    stdout.print(f"fit on {split['n_fit']} models with {where}; {split['n_held_out']} held out", soft_wrap=True)
    ratios = ", ".join(f"{v:.3f}" for v in caps.explained_variance_ratio[:caps.components])
    stdout.print(f"capabilities: {caps.components} PCs of {', '.join(caps.benchmarks)}; explained variance {ratios}"
                 f" ({caps.imputer.imputed} scores imputed)", soft_wrap=True)
    beta = ", ".join(f"{v:.4g}" for v in link.beta)
    stdout.print(f"link: {result.target} = f + (1 - f) sigmoid(beta . S + alpha); beta = ({beta}), alpha = {link.alpha:.4g}, f = {link.floor:.3g}", soft_wrap=True)
    base = result.baseline
    stdout.print(f"baseline: {result.target} = f + (1 - f) sigmoid(w log10 C + a); w = {base.beta[0]:.4g}, a = {base.alpha:.4g}, f = {base.floor:.3g}", soft_wrap=True)

    bt = result.backtest.summary()
    columns = ["approach", "models", "MAE", "RMSE"] + ([f"MAE {result.level:g} lower", "upper"] if result.level is not None else [])
    metrics = ["mae", "rmse"] + (["mae_lower", "mae_upper"] if result.level is not None else [])
    rows = [[name, int(r["n"]), *(round(float(r[m]), 4) for m in metrics)] for name, r in bt.iterrows()]
    stdout.print(table(f"Backtest on the {split['n_held_out']} held-out models", columns, rows))
    gain = f"log-C baseline MAE minus capabilities MAE: {result.backtest.mae_gain:.4f}"
    if result.backtest.mae_gain_interval is not None:
        lo, hi = result.backtest.mae_gain_interval
        gain += f" ({result.level:g} interval [{lo:.4f}, {hi:.4f}])"
    stdout.print(gain)

    held = result.summary()
    bounds = ["lower", "upper"] if "lower" in held.columns else []
    head = ["model", "C", "actual", "PCs", "family", "log C", *bounds]
    scores = ["actual", "capabilities", "family_compute", "log_c_baseline", *bounds]
    # The organisation prefix of a hub id (meta-llama/...) is dropped for width; the JSON keeps the full name.
    body = [[str(r["model"]).rsplit("/", 1)[-1], f"{r['C']:.3g}", *("-" if r[c] != r[c] else round(float(r[c]), 3) for c in scores)]
            for _, r in held.iterrows()]
    stdout.print(table(f"Held-out models: predicted vs actual {result.target}", head, body))
    stdout.print("predicted from the capabilities (PCs), from compute through the family's line (family), and by the log-C baseline"
                 + (f"; lower/upper: {result.level:g} interval of the PCs prediction" if bounds else ""), soft_wrap=True)
    for note in result.notes:
        stdout.print(f"[dim]note:[/dim] {note}", soft_wrap=True)
    print_warnings(result.warnings)
