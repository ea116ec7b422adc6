"""Planning subcommands: optimal, isoflop, flops, inference."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer

from ..data.readers import read_runs
from ..errors import InputError, ScalingLawWarning
from ..fitting import load_fit
from ..planning import best_loss_for_budget, compare_approaches, compute_optimal, envelope, frontier, inference_optimal, isoflop, transformer_flops
from ..uncertainty import allocation_exponent_interval
from ..report import figures
from .common import ColOption, JsonOption, PlotOption, emit_json, fmt, parse_columns, parse_number, print_warnings, save_plot, stdout, table

app = typer.Typer()


#: Columns of the allocation table and the keys of their intervals.
INTERVAL_COLUMNS = (("N*", "N"), ("D*", "D"), ("D*/N*", "tokens_per_param"), ("loss", "loss"))


def _interval_cells(allocation, key: str) -> list[object]:
    lo, hi = allocation.intervals.get(key, (None, None))
    return [] if lo is None else [f"[{fmt(lo, 3)}, {fmt(hi, 3)}]"]


@app.command("optimal")
def optimal_command(
    fit_path: Annotated[str, typer.Argument(metavar="FIT", help="Fit JSON written by `scalinglaws fit -o`.")],
    compute: Annotated[str | None, typer.Option("--compute", "-c", help="Training compute budget in FLOPs, e.g. 5.76e23.")] = None,
    compute_range: Annotated[str | None, typer.Option("--compute-range", help="LOW:HIGH budgets for a frontier table, e.g. 1e20:1e26.")] = None,
    points: Annotated[int, typer.Option(help="Budgets in the frontier table.")] = 7,
    unique_tokens: Annotated[str | None, typer.Option("--unique-tokens", help="Unique tokens available (data-constrained laws).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Compute-optimal N, D, tokens per parameter and loss at a FLOP budget (or a range)."""
    result = load_fit(fit_path)
    if (compute is None) == (compute_range is None):
        raise InputError("give exactly one of --compute C or --compute-range LOW:HIGH")
    u = parse_number(unique_tokens, "--unique-tokens") if unique_tokens is not None else None
    if compute is not None:
        plans = [compute_optimal(result, parse_number(compute, "--compute"), unique_tokens=u)]
    else:
        low, sep, high = compute_range.partition(":")  # type: ignore[union-attr]
        if not sep:
            raise InputError(f"--compute-range must look like LOW:HIGH (e.g. 1e20:1e26), got {compute_range!r}")
        plans = frontier(result, parse_number(low, "--compute-range LOW"), parse_number(high, "--compute-range HIGH"), points=points, unique_tokens=u)
    exponent = None
    if {"alpha", "beta"} <= set(result.params):
        value, interval = allocation_exponent_interval(result)
        exponent = {"value": value, "interval": list(interval) if interval else None}
    if json_out:
        if compute is not None:
            emit_json({**plans[0].to_dict(), "allocation_exponent": exponent})
        else:
            emit_json({"frontier": [p.to_dict() for p in plans], "allocation_exponent": exponent})
        return
    with_intervals = bool(plans[0].intervals)
    columns = ["C (FLOPs)", "N* (params)", "D* (tokens)", "D*/N*", "loss"] + (["epochs"] if u else [])
    if with_intervals:  # every column gets its interval, as in the JSON
        columns += [f"{label} {plans[0].level:.0%} interval" for label, _ in INTERVAL_COLUMNS]
    rows = [[p.C, p.N, p.D, p.tokens_per_param, p.loss] + ([p.epochs] if u else []) +
            ([cell for _, key in INTERVAL_COLUMNS for cell in _interval_cells(p, key)] if with_intervals else []) for p in plans]
    stdout.print(table(f"compute-optimal allocation ({plans[0].method})", columns, rows))
    if exponent:
        text = f"allocation exponent N* ~ C^{exponent['value']:.4f}"
        if exponent["interval"]:
            text += f"  [{exponent['interval'][0]:.4f}, {exponent['interval'][1]:.4f}]"
        stdout.print(text + " (beta / (alpha + beta))")


def _check_approach_1(**given: object) -> None:
    """Approach 1 (the lower envelope) has no bootstrap, comparison, budget column or figure: refuse them, never ignore them."""
    options = {"n_bootstrap": "--bootstrap", "compare": "--compare", "budget": "--budget", "plot": "--plot"}
    used = [options[name] for name, value in given.items() if value]
    if used:
        raise InputError(f"{', '.join(used)} {'applies' if len(used) == 1 else 'apply'} to approach 2 (IsoFLOP parabolas) only; "
                         f"drop {'it' if len(used) == 1 else 'them'} with --approach 1, or leave out --approach 1")


@app.command("isoflop")
def isoflop_command(
    runs: Annotated[str, typer.Argument(help="IsoFLOP runs: any two of N, D, C per run, and loss.")],
    col: ColOption = None,
    budget: Annotated[str | None, typer.Option(help="Column holding each run's compute budget.")] = None,
    tolerance: Annotated[float, typer.Option(help="Runs within a factor 1+tolerance of a budget's smallest run share that budget.")] = 0.25,
    min_points: Annotated[int, typer.Option(help="Drop budgets with fewer runs.")] = 3,
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Replicates for intervals on k, a, k', b.")] = 0,
    level: Annotated[float, typer.Option(help="Interval coverage.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    approach: Annotated[int, typer.Option(help="2: parabolas per budget (default); 1: lower envelope of checkpoints.")] = 2,
    compare: Annotated[str | None, typer.Option("--compare", help="Also fit this parametric law (e.g. chinchilla) and compare allocation exponents.")] = None,
    plot: PlotOption = None,
    json_out: JsonOption = False,
) -> None:
    """Chinchilla approaches 1 and 2: per-budget optima and N*(C), D*(C) power laws."""
    if approach == 1:
        _check_approach_1(n_bootstrap=n_bootstrap, compare=compare, budget=budget, plot=plot)
    data = read_runs(runs, columns=parse_columns(col))
    if approach == 1:
        result = envelope(data)
        if json_out:
            emit_json(result.to_dict())
            return
        stdout.print(table("Approach 1: lower envelope of loss vs compute", ["C (FLOPs)", "loss", "N (params)", "run"], result.points.itertuples(index=False)))
        stdout.print(f"N*(C) = {result.N_opt.coef:.4g} C^{result.N_opt.exponent:.4f}")
        return
    if approach != 2:
        raise InputError(f"--approach must be 1 or 2, got {approach}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        result = isoflop(data, budget=budget, tolerance=tolerance, min_points=min_points, bootstrap=n_bootstrap, level=level, seed=seed)
    save_plot(plot, lambda: figures.isoflop_figure(result, title=f"IsoFLOP analysis of {data.source}"), announce=not json_out)
    comparison = compare_approaches(data, result, compare, level=level, bootstrap=n_bootstrap, seed=seed) if compare else None
    if json_out:
        doc = result.to_dict()
        if comparison is not None:
            doc["comparison"] = comparison.to_dict(orient="records")
        emit_json(doc)
        return
    stdout.print(table("Approach 2: IsoFLOP profile vertices", ["C (FLOPs)", "N* (params)", "D* (tokens)", "loss*", "runs"],
                       [[b.C, b.N_opt, b.D_opt, b.loss_opt, b.n_points] for b in result.budgets]))
    for name, power in (("N*(C)", result.N_opt), ("D*(C)", result.D_opt)):
        text = f"{name} = {power.coef:.4g} C^{power.exponent:.4f}"
        if power.interval:
            lo, hi = power.interval["exponent"]
            text += f"  (exponent {level:.0%} interval [{lo:.4f}, {hi:.4f}])"
        stdout.print(text)
    if comparison is not None:
        stdout.print(table("Allocation exponent a in N* ~ C^a, by approach", ["approach", "a", "lower", "upper"], comparison.itertuples(index=False)))
    print_warnings(result.warnings)


@app.command("flops")
def flops_command(
    layers: Annotated[int, typer.Option("--layers", help="Transformer layers.")],
    d_model: Annotated[int, typer.Option("--d-model", help="Model width.")],
    vocab: Annotated[int, typer.Option("--vocab", help="Vocabulary size.")],
    context: Annotated[int, typer.Option("--context", help="Context length in tokens.")],
    ffn_ratio: Annotated[float, typer.Option("--ffn-ratio", help="Feed-forward width / d_model.")] = 4.0,
    tied: Annotated[bool, typer.Option("--tied/--untied", help="Input and output embeddings tied.")] = False,
    tokens: Annotated[str | None, typer.Option(help="Training tokens, to print total training FLOPs.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Parameters and training FLOPs per token from an architecture, next to 6N."""
    count = transformer_flops(n_layers=layers, d_model=d_model, vocab=vocab, context=context, ffn_ratio=ffn_ratio, tied_embeddings=tied)
    doc = count.to_dict()
    if tokens is not None:
        d = parse_number(tokens, "--tokens")
        doc.update({"tokens": d, "training_flops": count.training_flops(d), "training_flops_6nd": count.six_n * d})
    if json_out:
        emit_json(doc)
        return
    rows = [["non-embedding parameters", count.params_non_embedding], ["embedding parameters", count.params_embedding],
            ["training FLOPs per token", count.flops_per_token], ["6 N (non-embedding)", count.six_n], ["ratio to 6 N", count.flops_per_token / count.six_n]]
    if tokens is not None:
        rows += [["training FLOPs", doc["training_flops"]], ["6 N D", doc["training_flops_6nd"]]]
    stdout.print(table("FLOP accounting (Kaplan et al. 2020 + output layer)", ["quantity", "value"], rows))


@app.command("inference")
def inference_command(
    fit_path: Annotated[str, typer.Argument(metavar="FIT", help="Fit JSON of a law in N and D.")],
    inference_tokens: Annotated[str, typer.Option("--inference-tokens", help="Tokens the model will serve over its life.")],
    target_loss: Annotated[str | None, typer.Option("--target-loss", help="Loss to reach at the least total FLOPs.")] = None,
    total_flops: Annotated[str | None, typer.Option("--total-flops", help="Or: the best loss for this training + inference budget.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Inference-aware allocation (Sardana et al. 2024): smaller models trained longer."""
    result = load_fit(fit_path)
    d_inf = parse_number(inference_tokens, "--inference-tokens")
    if (target_loss is None) == (total_flops is None):
        raise InputError("give exactly one of --target-loss L or --total-flops F")
    if target_loss is not None:
        plan = inference_optimal(result, target_loss=parse_number(target_loss, "--target-loss"), inference_tokens=d_inf)
    else:
        plan = best_loss_for_budget(result, total_flops=parse_number(total_flops, "--total-flops"), inference_tokens=d_inf)  # type: ignore[arg-type]
    doc = plan.to_dict()
    if json_out:
        emit_json(doc)
        return
    stdout.print(table(f"Inference-aware plan for {d_inf:.3g} inference tokens", ["", "N (params)", "D train (tokens)", "D/N", "total FLOPs"],
                       [["inference-aware", plan.N, plan.D_train, plan.D_train / plan.N, plan.total_flops],
                        ["Chinchilla-optimal", plan.chinchilla_N, plan.chinchilla_D, plan.chinchilla_D / plan.chinchilla_N, plan.chinchilla_total_flops]]))
    stdout.print(f"loss {plan.loss:.4f}; the inference-aware plan saves {doc['saving']:.1%} of total FLOPs")
