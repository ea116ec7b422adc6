"""``scalinglaws passuntil``: the PassUntil task law fitted to pass counts by maximum likelihood."""

from __future__ import annotations

import math
import warnings
from typing import Annotated

import typer

from ..data.units import parse_quantity
from ..errors import InputError, ScalingLawWarning
from ..passuntil import FORMULA, passuntil_fit
from .common import JsonOption, PlotOption, emit_json, print_notes, print_warnings, save_plot, stdout, table

app = typer.Typer()


def _sizes(specs: list[str] | None, option: str, example: str = "N=7e9 (or 7B)") -> list[float]:
    """``["N=7e9", "1.3e10,7B"]`` -> ``[7e9, 1.3e10, 7e9]``."""
    out = []
    for spec in specs or ():
        text = spec.strip()
        if text[:2].upper() == "N=":
            text = text[2:]
        for part in text.split(","):
            value = parse_quantity(part.strip())
            if not (value == value and value > 0):
                raise InputError(f"{option} must be a model size > 0 like {example}, got {spec!r}")
            out.append(value)
    return out


def _max_size(text: str | None) -> float | None:
    """One model size: a bare number (7e9) or 7B."""
    if text is None:
        return None
    sizes = _sizes([text], "--max-size", "7e9 (or 7B)")
    if len(sizes) != 1:
        raise InputError(f"--max-size takes one model size like 7e9 (or 7B), got {text!r}")
    return sizes[0]


def _attempts(text: str | None) -> str | int | None:
    """A whole number is one count for every row; anything else names a column."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text  # a column name
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        raise InputError(f"--attempts must be a whole number >= 1 (the attempts of every row) or a column name, got {text!r}")
    return int(value)


def _check_counting_options(passes: str | None, attempts: str | None, rate: str | None, samples_until: str | None, solved: str | None) -> None:
    """The counting options that go together, named as on the command line (the library names its Python keywords)."""
    modes = [name for name, value in (("--passes", passes), ("--rate", rate), ("--samples-until", samples_until)) if value is not None]
    if len(modes) != 1:
        return  # the library's message names both spellings
    if samples_until is not None and attempts is not None:
        raise InputError("--samples-until counts the attempts itself (the samples drawn per instance); drop --attempts")
    if solved is not None and samples_until is None:
        raise InputError("--solved goes with --samples-until (instances never solved); drop --solved or give --samples-until")
    if samples_until is None and attempts is None:
        raise InputError(f"{modes[0]} needs --attempts (a column, or one whole number such as the number of items)")


@app.command("passuntil")
def passuntil_command(
    runs: Annotated[str, typer.Argument(help="CSV/TSV/Parquet/JSON(L) file: one row per model (or per instance with --samples-until).")],
    size: Annotated[str, typer.Option("--size", help="Column holding the model size N (numbers, or 125m / 1.4B).")],
    passes: Annotated[str | None, typer.Option("--passes", help="Column of pass counts (successes among the attempts).")] = None,
    attempts: Annotated[str | None, typer.Option("--attempts", help="Column of attempts, or one whole number for every row (e.g. 2000 items).")] = None,
    rate: Annotated[str | None, typer.Option("--rate", help="Column of pass rates in [0, 1] instead of --passes (turned into counts with --attempts).")] = None,
    samples_until: Annotated[str | None, typer.Option("--samples-until", help="Per-instance rows: samples drawn until the first success.")] = None,
    solved: Annotated[str | None, typer.Option("--solved", help="With --samples-until: true/false, whether the instance was ever solved.")] = None,
    target: Annotated[list[str] | None, typer.Option("--target", help="Size to predict: N=7e9 (repeatable, or comma-separated).")] = None,
    max_size: Annotated[str | None, typer.Option("--max-size", help="Fit only sizes <= this; larger rows are held out and compared (a backtest).")] = None,
    level: Annotated[float, typer.Option(help="Interval coverage.")] = 0.95,
    dispersion: Annotated[str, typer.Option(help="'auto' (widen by the deviance dispersion, residual deviance / degrees of freedom, when > 1) or a number >= 1 (1: pure binomial).")] = "auto",
    json_out: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Fit PU(N) = exp(-c N^-alpha) to pass counts (binomial maximum likelihood) and predict pass rates of larger models."""
    _check_counting_options(passes, attempts, rate, samples_until, solved)
    limit = _max_size(max_size)
    scale: float | str = dispersion
    if dispersion != "auto":
        try:
            scale = float(dispersion)
        except ValueError:
            raise InputError(f"--dispersion must be 'auto' or a number >= 1, got {dispersion!r}") from None
    with warnings.catch_warnings():
        # The result records its warnings; they are printed once below (or sit in the JSON).
        warnings.simplefilter("ignore", ScalingLawWarning)
        result = passuntil_fit(runs, size=size, passes=passes, attempts=_attempts(attempts), rate=rate, samples_until=samples_until,
                               solved=solved, targets=_sizes(target, "--target"), max_size=limit, level=level, dispersion=scale)
    if json_out:
        emit_json(result.to_dict())
    else:
        summary = result.summary()
        stdout.print(table(f"passuntil: {FORMULA}  ({result.level:.0%} intervals)", ["parameter", "value", "lower", "upper"],
                           [[name, *row] for name, row in zip(summary.index, summary.itertuples(index=False), strict=True)]))
        obs = result.observed
        stdout.print(table("Observed pass rates (Jeffreys intervals) and the fitted law", ["size", "passes", "attempts", "rate", "lower", "upper", "fitted"],
                           obs.itertuples(index=False)))
        if not result.held_out.empty:
            held = result.held_out
            stdout.print(table("Held out: observed against predicted", ["size", "passes/attempts", "rate", "predicted", "lower", "upper", "inside"],
                               [[r.size, f"{r.passes:g}/{r.attempts:g}", r.rate, r.predicted, r.predicted_lower, r.predicted_upper, "yes" if r.inside else "no"]
                                for r in held.itertuples(index=False)]))
        if result.predictions:
            stdout.print(table("Predicted pass rate", ["size", "pass rate", "lower", "upper"],
                               [[p.size, p.pass_rate, p.lower, p.upper] for p in result.predictions]))
        stdout.print(f"log-likelihood {result.log_likelihood:.6g} over {len(obs)} rows; dispersion {result.dispersion:.3g}; status: {result.status}")
        print_notes(result.notes)
        print_warnings(result.warnings)
    from ..report.passuntil_figure import passuntil_figure

    save_plot(plot, lambda: passuntil_figure(result), announce=not json_out)
    if not result.converged:
        raise typer.Exit(1)
