"""``scalinglaws design``: which small runs to train for the tightest forecast per FLOP."""

from __future__ import annotations

import math

from typing import Annotated

import typer

from ..data.readers import read_runs
from ..design import Ladder, backtest_ladders, classic_ladder, design_ladder, hold_out_largest, load_prior, next_runs, sparse_checkpoints
from ..design.backtest import POOL_CHECKPOINTS
from ..design.ladder import ALONG, DISCREPANCY, LENGTH
from ..errors import InputError
from .common import ColOption, JsonOption, PlotOption, emit_json, parse_columns, parse_number, parse_pairs, print_notes, progress_bar, save_plot, stdout, table

app = typer.Typer()

#: Seed noise assumed when the prior carries none (a published law): 1% of the loss.
DEFAULT_NOISE = 0.01
#: Ladders tied with the proposal listed in the table (all are in --json).
TIES_SHOWN = 5


def parse_range(text: str, option: str) -> tuple[float, float]:
    low, sep, high = text.partition(":")
    if not sep:
        raise InputError(f"{option} must be LOW:HIGH (e.g. 20e6:1e9), got {text!r}")
    return parse_number(low, option), parse_number(high, option)


def _parse_target(text: str) -> dict[str, float]:
    """``N=7e9,D=1.4e12`` -> a dict (a name given twice is an error)."""
    return parse_pairs(text, "--target", "N=7e9,D=1.4e12 (or C=1e24 with --objective optimal)")


def _proposal_and_baselines(result, real):
    """The proposal's row first, marked (``proposal = NAME`` when it is a baseline), then each other ladder the baselines
    train once: a baseline that trains the same runs as a row above it (the proposal included) is not repeated."""
    best = result.best
    label = f"proposal = {best.ladder.name}" if any(b is best for b in result.baselines) else f"proposal: {best.ladder.name}"
    rows = [(label, best, None if real is None else real[0])]
    listed = [best.ladder.points]
    for i, baseline in enumerate(result.baselines):
        if baseline is not best and baseline.ladder.points not in listed:
            listed.append(baseline.ladder.points)
            rows.append((baseline.ladder.name, baseline, None if real is None else real[1 + i]))
    names, evaluations, errors = (list(column) for column in zip(*rows, strict=True))
    return names, evaluations, None if real is None else errors


def _finite(value: float) -> float | None:
    return float(value) if value == value else None  # NaN (a ladder too small to fit) -> null


def _rows(runs: list[dict[str, float]]) -> list[list[str]]:
    """A proposed run per row: N, D and C to three significant digits, and its tokens per parameter."""
    return [[f"{r[key]:.3g}" for key in ("N", "D", "C", "tokens_per_param")] for r in runs]


def _percent(value: float, digits: int = 1) -> str:
    """A relative quantity as a percentage; "no fit" where the ladder is too small to fit the law (NaN or inf)."""
    return f"{value:.{digits}%}" if math.isfinite(value) else "no fit"


def _ladder_table(title: str, evaluations, share: tuple[str, float, int], real=None, names=None):
    """Judged ladders a row each: compute as a share of ``share`` (header, denominator, digits), width, RMSE and, after
    a backtest, the real ARE. ``names`` replaces the ladders' names as row labels."""
    header, denominator, digits = share
    labels = names or [e.ladder.name for e in evaluations]
    rows = [[label, _percent(e.ladder.compute / denominator, digits), _percent(e.width), _percent(e.rmse)] for label, e in zip(labels, evaluations, strict=True)]
    headers = ["ladder", header, "interval width", "RMSE"]
    if real is not None:
        rows = [[*row, _percent(error, 2)] for row, error in zip(rows, real, strict=True)]
        headers.append("real ARE")
    return table(title, headers, rows, justify_numbers=True)


@app.command("design")
def design_command(
    target: Annotated[str | None, typer.Option(help="The run to forecast: N=7e9,D=1.4e12 (or C=... with --objective optimal).")] = None,
    budget: Annotated[str | None, typer.Option(help="Total training compute of the ladder, FLOPs (e.g. 1e21).")] = None,
    law: Annotated[str | None, typer.Option("--law", "-l", help="Law of the prior (default: the prior's).")] = None,
    prior: Annotated[str | None, typer.Option(help="published:chinchilla, published:kaplan, published:farseer, or a fit JSON (default: the law's published fit).")] = None,
    sizes: Annotated[str | None, typer.Option(help="Model sizes allowed, LOW:HIGH (default 2e7 to the target's N / 10).")] = None,
    objective: Annotated[str, typer.Option(help="'loss': the target's loss; 'optimal': N* at --target C=... (or --compute C)")] = "loss",
    compute: Annotated[str | None, typer.Option(help="With --objective optimal: the compute budget whose N* to forecast, FLOPs (same as --target C=...).")] = None,
    noise: Annotated[float | None, typer.Option(help="Seed noise, std of log loss (default: the prior fit's residuals, else 0.01).")] = None,
    discrepancy: Annotated[float, typer.Option(help="Smooth misfit of the law in simulated worlds, std of log loss (0: trust the law exactly).")] = DISCREPANCY,
    length: Annotated[float, typer.Option(help="Length scale of that misfit, natural-log units.")] = LENGTH,
    misfit_along: Annotated[str, typer.Option("--misfit-along", help="'ratio': the misfit varies with tokens per parameter only; 'plane': over N and D.")] = ALONG,
    pool: Annotated[str | None, typer.Option(help="Runs or checkpoints that exist: choose a subset of them (a run column makes rows checkpoints; each run's first 10% of tokens is left out).")] = None,
    backtest: Annotated[int | None, typer.Option(help="With --pool and a loss column: hold out the K largest sizes, design on the rest, "
                                                      "and score every ladder's real forecast of them (ARE).")] = None,
    checkpoints_per_run: Annotated[int, typer.Option(help="With --pool and a run column: keep at most this many of each run's checkpoints "
                                                          "(the first, the last, log-spaced between); 0 keeps them all.")] = POOL_CHECKPOINTS,
    simulations: Annotated[int, typer.Option(help="Simulated replays per candidate ladder.")] = 32,
    seed: Annotated[int, typer.Option(help="Seed of the simulated noise.")] = 0,
    have: Annotated[str | None, typer.Option(help="Runs already trained: propose the next ones instead.")] = None,
    col: ColOption = None,
    next_count: Annotated[int, typer.Option("--next", help="With --have: how many runs to propose.")] = 2,
    plot: PlotOption = None,
    json_out: JsonOption = False,
) -> None:
    """Propose the ladder of small runs whose fit forecasts the target most tightly within the budget.

    Ladders are ranked in worlds simulated from the prior. On real families that
    ranking does not always carry over (README, "Designing the ladder"): check a
    proposal with --pool RUNS --backtest K on runs you already have.
    """
    law_name, params, prior_noise = load_prior(prior, law)
    prior = prior or f"published:{law_name}"
    noise_value = noise if noise is not None else (prior_noise or DEFAULT_NOISE)
    if compute is not None:
        if objective != "optimal" or target is not None:
            raise InputError("--compute C goes with --objective optimal and takes the place of --target (for the loss of a run, give --target N=...,D=...)")
        target = f"C={compute}"
    if target is None and backtest is None:
        raise InputError("give --target N=...,D=... (the run to forecast), or --pool RUNS --backtest K to forecast the pool's K largest sizes")
    goal = _parse_target(target) if target is not None else {}
    size_range = parse_range(sizes, "--sizes") if sizes else None
    if have is not None:
        done = read_runs(have, columns=parse_columns(col))
        done.require(["N", "D"])
        runs = Ladder("runs done", done.values("N"), done.values("D"))
        with progress_bar("simulating fits", enabled=not json_out) as advance:
            proposed, before, after = next_runs(runs, law_name, params, goal, count=next_count, sizes=size_range or (2e7, 1e9), objective=objective,
                                                noise=noise_value, simulations=simulations, seed=seed, progress=advance)
        if json_out:
            emit_json({"schema": "scalinglaws.next_runs/1", "law": law_name, "target": goal, "noise": noise_value, "proposed": proposed,
                       "interval_width_before": before.width, "interval_width_after": after.width})
            return
        width = f"{before.width:.2%} (relative)" if math.isfinite(before.width) else "none yet, too few runs to fit the law"
        stdout.print(f"95% interval width at the target with the {len(runs.N)} runs done: {width}")
        stdout.print(table("Next runs, best gain per FLOP first", ["N (params)", "D (tokens)", "C (FLOPs)", "D/N", "width after"],
                           [[*row, _percent(r["interval_width_after"])] for row, r in zip(_rows(proposed), proposed, strict=True)]))
        if not math.isfinite(after.width):
            print_notes([f"with these {len(runs.N) + len(proposed)} runs the law still cannot be fitted in most simulated worlds; ask for more with --next"])
        return
    existing, held, pool_table, thinned = None, None, None, ()
    if checkpoints_per_run < 0 or checkpoints_per_run == 1:
        raise InputError(f"--checkpoints-per-run must be 0 (keep all) or at least 2, got {checkpoints_per_run}")
    if backtest is not None and pool is None:
        raise InputError("--backtest K needs --pool RUNS (the runs to choose from, with their losses)")
    if pool is not None:
        runs_pool = read_runs(pool, columns=parse_columns(col))
        runs_pool.require(["N", "D", "loss"] if backtest is not None else ["N", "D"])
        pool_table = runs_pool.table[[c for c in ("run", "N", "D", "loss") if c in runs_pool.table.columns]]
        if backtest is not None:
            pool_table, held = hold_out_largest(pool_table, backtest)
            goal = goal or {"N": float(held["N"].mean()), "D": float(held["D"].max())}
            budget = budget if budget is not None else f"{classic_ladder(pool_table).compute:.6g}"
        if "run" in pool_table.columns and checkpoints_per_run:
            logged = len(pool_table)
            pool_table = sparse_checkpoints(pool_table, checkpoints_per_run)
            if len(pool_table) < logged:
                thinned = (f"the pool's runs keep at most {checkpoints_per_run} checkpoints each (the first, the last, log-spaced between): "
                           f"{logged} rows -> {len(pool_table)}; --checkpoints-per-run 0 keeps them all",)
        existing = (pool_table["N"].to_numpy(dtype=float), pool_table["D"].to_numpy(dtype=float))
        if "run" in pool_table.columns:
            existing = (*existing, pool_table["run"].to_numpy())
    if budget is None:
        raise InputError("give --budget FLOPS (the ladder's total training compute), or --have RUNS to propose next runs")
    with progress_bar("simulating fits", enabled=not json_out) as advance:
        result = design_ladder(law_name, params, goal, parse_number(budget, "--budget"), sizes=size_range, objective=objective,
                               noise=noise_value, discrepancy=discrepancy, length=length, along=misfit_along, simulations=simulations, seed=seed,
                               progress=advance, pool=existing)
    if plot is not None:
        from ..report.figures import design_figure

        save_plot(plot, lambda: design_figure(result), announce=not json_out)
    real, tie_real = None, None
    if held is not None:
        judged = [result.best, *result.baselines]
        errors = backtest_ladders([e.ladder for e in (*judged, *result.ties)], pool_table, held)
        real, tie_real = errors[: len(judged)], errors[len(judged) :]
    if json_out:
        doc = result.to_dict()
        doc["notes"] = [*thinned, *doc["notes"]]
        if real is not None:
            doc["backtest"] = {"held_out": held[["N", "D", "loss"]].to_dict("records"), "design_are": _finite(real[0]),
                               "baselines_are": [_finite(e) for e in real[1:]], "ties_are": [_finite(e) for e in tie_real]}
        emit_json(doc)
        return
    what = "loss" if objective == "loss" else "N*"
    misfit = f"misfit {discrepancy:.2%} along {misfit_along}" if discrepancy > 0 else "no misfit"
    stdout.print(f"prior: {prior} ({law_name}), seed noise {noise_value:.2%}, {misfit}, {simulations} simulated fits per ladder, "
                 f"{len(result.candidates) + len(result.baselines)} ladders judged")
    stdout.print(table(f"Proposed ladder: {result.best.ladder.name}", ["N (params)", "D (tokens)", "C (FLOPs)", "D/N"], _rows(result.best.ladder.to_records())))
    if real is not None:
        stdout.print(f"backtest: the {backtest} largest size(s) of the pool held out ({len(held)} run(s)); real ARE is each ladder's error on them")
    names, judged_rows, judged_real = _proposal_and_baselines(result, real)
    stdout.print(_ladder_table(f"95% interval width of the forecast {what} (relative), same budget", judged_rows,
                               ("compute / target's", result.target_compute, 2), judged_real, names))
    if result.ties:
        shown = result.ties[:TIES_SHOWN]
        stdout.print(_ladder_table(f"Within simulation noise of the proposal ({len(shown)} of {len(result.ties)})", shown,
                                   ("compute / budget", result.budget, 0), None if tie_real is None else tie_real[: len(shown)]))
    print_notes((*thinned, *result.notes))
