"""Core subcommands: laws, fit, predict, optimal, datasets, demo."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from .. import datasets as bundled
from ..data.readers import read_runs
from ..errors import InputError, ScalingLawWarning
from ..fitting import Fit, fit, load_fit
from ..laws import get_law, law_names
from ..predict import predict_points
from ..report import figures
from ..uncertainty import bootstrap
from .common import (
    ColOption,
    JsonOption,
    PlotOption,
    QuietOption,
    emit_json,
    fmt,
    parse_assignments,
    parse_columns,
    parse_size,
    print_notes,
    print_warnings,
    progress_bar,
    save_plot,
    stdout,
    table,
)

app = typer.Typer()


@app.command("laws")
def laws_command(json_out: JsonOption = False) -> None:
    """List the laws in the catalogue with formula and citation."""
    rows = []
    for name in law_names():
        family = name in ("power", "plain", "bnsl")  # factories over a chosen variable
        law = get_law(f"{name}:N" if family else name)
        rows.append({"name": f"{name}:X" if family else name, "formula": re.sub(r"\bN\b", "X", law.formula) if family else law.formula,
                     "parameters": list(law.parameter_names), "variables": ["N|D|C|step"] if family else list(law.variables),
                     "citation": law.citation})
    if json_out:
        emit_json(rows)
        return
    stdout.print(table("Scaling laws", ["name", "formula", "citation"], [(r["name"], r["formula"], r["citation"]) for r in rows], justify_numbers=False))


def fit_table(result: Fit):
    summary = result.summary()
    columns = ["parameter", "value"] + (["lower", "upper"] if "lower" in summary.columns else [])
    rows = [[name, *[row[c] for c in columns[1:]]] for name, row in summary.iterrows()]
    title = f"{result.law.name}: {result.law.formula}"
    if result.bootstrap is not None:
        title += f"  ({result.bootstrap.level:.0%} bootstrap intervals)"
    return table(title, columns, rows)


def show_fit(result: Fit, quiet: bool = False) -> None:
    stdout.print(fit_table(result))
    if not quiet:
        stdout.print(f"objective {fmt(result.objective)} ({result.loss.name}, delta {result.loss.delta:g}, {result.loss.space} residuals, summed over {result.n_points} points)")
        stdout.print(f"status: {result.status}")
        print_notes(result.notes)
    print_warnings(result.warnings)


#: Python argument spellings in library messages -> the options of the command line.
_CLI_SPELLINGS = {"by='row'": "--by row", "by='auto'": "--by auto"}


@contextmanager
def cli_wording() -> Iterator[None]:
    """Re-raise a library :class:`InputError` with its Python argument spellings as command-line options."""
    try:
        yield
    except InputError as exc:
        message = str(exc)
        for python, option in _CLI_SPELLINGS.items():
            message = message.replace(python, option)
        if message == str(exc):
            raise
        raise InputError(message) from exc


@app.command("fit")
def fit_command(
    runs: Annotated[str, typer.Argument(help="Runs file (CSV, TSV, Parquet, JSON, JSONL) or dataset:NAME.")],
    law: Annotated[str, typer.Option("--law", "-l", help="Law name (see `scalinglaws laws`), e.g. chinchilla, kaplan, power:D.")] = "chinchilla",
    col: ColOption = None,
    loss: Annotated[str, typer.Option(help="huber, squared or absolute.")] = "huber",
    delta: Annotated[float, typer.Option(help="Huber delta.")] = 1e-3,
    space: Annotated[str, typer.Option(help="Residuals in 'log' or 'linear' space.")] = "log",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the fit JSON here.")] = None,
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates (resampling runs); 0 for none.")] = 0,
    level: Annotated[float, typer.Option(help="Coverage of the bootstrap intervals.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
    by: Annotated[str, typer.Option(help="Resampling unit: auto (runs if a run column exists), row, or a column.")] = "auto",
    loss_unit: Annotated[str, typer.Option("--loss-unit", help="Unit of the loss column: nats, perplexity, bits or bpb.")] = "nats",
    bytes_per_token: Annotated[float | None, typer.Option("--bytes-per-token", help="Average bytes per token (for --loss-unit bpb).")] = None,
    tokens_per_step: Annotated[float | None, typer.Option("--tokens-per-step", help="Derive D = step x this (batch x context).")] = None,
    plot: PlotOption = None,
    residual_plot: Annotated[Path | None, typer.Option("--residual-plot", help="Save residuals against each variable here (.png/.svg/.pdf).")] = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fit a law to runs; print the parameters or the fit JSON."""
    data = read_runs(runs, columns=parse_columns(col), loss_unit=loss_unit, bytes_per_token=bytes_per_token, tokens_per_step=tokens_per_step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        if n_bootstrap:
            with progress_bar("bootstrap", enabled=not (json_out or quiet)) as advance, cli_wording():
                result = bootstrap(data, law, replicates=n_bootstrap, level=level, seed=seed, by=by, progress=advance, loss=loss, delta=delta, space=space)
        else:
            result = fit(data, law, loss=loss, delta=delta, space=space)
    if output is not None:
        result.save(output)
    save_plot(plot, lambda: figures.fit_figure(result, data), announce=not json_out)
    save_plot(residual_plot, lambda: figures.residual_figure(result, data), announce=not json_out)
    if json_out:
        emit_json(result.to_dict())
    else:
        show_fit(result, quiet)
        if output is not None:
            stdout.print(f"saved fit to {output}")
    if not result.converged:
        raise typer.Exit(1)


@app.command("predict")
def predict_command(
    fit_path: Annotated[str, typer.Argument(metavar="FIT", help="Fit JSON written by `scalinglaws fit -o`.")],
    points: Annotated[list[str], typer.Argument(metavar="NAME=VALUE...", help="Inputs, e.g. N=7e10 D=1.4e12 (comma lists give several points).")],
    level: Annotated[float | None, typer.Option(help="Interval coverage (needs a fit with --bootstrap).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Predict the loss of the fitted law at given inputs."""
    result = load_fit(fit_path)
    values = parse_assignments(points, "input", number=parse_size)
    lengths = {len(v) for v in values.values()}
    if len(lengths) > 1 and not lengths <= {1, max(lengths)}:
        raise InputError("comma-separated inputs must have the same number of values (or one value)")
    count = max(lengths) if lengths else 0
    rows = [{k: (v[i] if len(v) > 1 else v[0]) for k, v in values.items()} for i in range(count)]
    predictions = predict_points(result, rows, level=level)
    if json_out:
        emit_json([p.to_dict() for p in predictions])
        return
    names = list(result.law.variables)
    if predictions and predictions[0].interval is not None:
        pct = f"{predictions[0].level:.0%}"
        stdout.print(table(f"{result.law.name} predictions ({pct} intervals: of the mean law, and for a new run's loss)",
                           [*names, "loss", "mean lower", "mean upper", "new-run lower", "new-run upper"],
                           [[*(p.inputs[n] for n in names), p.loss, *p.interval, *p.new_run_interval] for p in predictions]))
    else:
        stdout.print(table(f"{result.law.name} predictions", [*names, "loss"], [[*(p.inputs[n] for n in names), p.loss] for p in predictions]))
    print_warnings(w for p in predictions for w in p.warnings)


@app.command("datasets")
def datasets_command(
    name: Annotated[str | None, typer.Argument(help="Show this dataset's card (source, licence, columns, caveats).")] = None,
    json_out: JsonOption = False,
) -> None:
    """List the bundled datasets (use them as dataset:NAME), or show one dataset's card."""
    if name is not None:
        show_card(name, json_out)
        return
    frame = bundled.list_datasets()
    if json_out:
        emit_json(frame.to_dict(orient="records"))
        return
    stdout.print(table("Bundled datasets (use as dataset:NAME)", list(frame.columns), frame.itertuples(index=False), justify_numbers=False))


def show_card(name: str, json_out: bool) -> None:
    """Print the card of the bundled dataset ``name`` (Markdown), or its JSON with the card as text."""
    card = bundled.DATASETS.get(name.removeprefix("dataset:"))
    if card is None:
        raise InputError(f"unknown dataset {name!r}; bundled datasets: {', '.join(sorted(bundled.DATASETS))} (see `scalinglaws datasets`)")
    if json_out:
        emit_json({"name": card.name, "description": card.description, "licence": card.licence, "citation": card.citation, "card": card.card()})
        return
    stdout.print(card.card(), markup=False, soft_wrap=True)
