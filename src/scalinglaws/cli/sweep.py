"""``scalinglaws sweep``: many backtests from one YAML spec, locally or on Ray."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer
from rich.markup import escape

from ..sweep import StaleResultsWarning, SweepResult, run_sweep
from .common import JsonOption, emit_json, print_warnings, progress_bar, stderr, stdout, table

app = typer.Typer()

#: Failed jobs listed on stderr; the rest are in the results table.
SHOWN_FAILURES = 10


@app.command("sweep")
def sweep_command(
    spec: Annotated[str, typer.Argument(help="Sweep spec (YAML): datasets, laws, splits, bootstrap.")],
    out: Annotated[str | None, typer.Option("--out", "-o", help="Results table (.parquet or .csv); rerunning skips jobs already done in it.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: all cores).")] = None,
    ray: Annotated[str | None, typer.Option("--ray", help="Run the jobs on Ray: 'auto' or a cluster address (needs the ray extra).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Backtest every (dataset or family) x law x split x bootstrap of SPEC as independent jobs.

    Exit code 1 when any job failed (its error is in the table), 2 on a bad spec.
    """
    with progress_bar("sweep", enabled=not json_out) as advance, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StaleResultsWarning)
        result = run_sweep(spec, out=out, workers=workers, ray=ray, progress=advance)
    stale = [str(w.message) for w in caught if issubclass(w.category, StaleResultsWarning)]
    for w in caught:
        if not issubclass(w.category, StaleResultsWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    print_warnings(stale)  # on stderr, one line each, with --json too
    if json_out:
        emit_json(result.to_dict())
    else:
        print_summary(result)
    if len(result.failed):
        raise typer.Exit(1)


def print_summary(result: SweepResult) -> None:
    """The sweep as readable tables: counts, mean ARE per law, a family x law pivot per split, failures."""
    written = f"; table written to {escape(str(result.out))}" if result.out is not None else ""
    stdout.print(f"[bold]{escape(result.source)}[/bold]: {len(result.table)} jobs, {result.executed} run, "
                 f"{result.skipped} already done, {len(result.failed)} failed{written}", soft_wrap=True)
    summary = result.summary()
    stdout.print(table("Mean absolute relative error per law (over families and splits)",
                       ["law", "jobs", "failed", "mean ARE", "median ARE", "worst ARE"], summary.itertuples(index=False)))
    for split in dict.fromkeys(result.table["split"]):
        wide = result.pivot(split)
        stdout.print(table(f"Mean ARE per family, split {split}", list(wide.columns), wide.itertuples(index=False)))
    failed = result.failed
    for row in failed.head(SHOWN_FAILURES).itertuples():
        where = escape(f"{row.dataset} {row.family} {row.law} {row.split}")
        stderr.print(f"[red]failed:[/red] job {row.id} ({where}): {escape(str(row.error))}", soft_wrap=True)
    if len(failed) > SHOWN_FAILURES:
        stderr.print(f"... and {len(failed) - SHOWN_FAILURES} more failed jobs; see the 'error' column of the table")
