"""``scalinglaws report``: one self-contained HTML file with everything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..data.readers import read_runs
from ..errors import InputError
from ..evaluate.backtest import check_split
from ..report import build_report, write_report
from ..report.html import check_report_path
from .common import ColOption, JsonOption, QuietOption, emit_json, parse_columns, parse_number, progress_bar, stdout

app = typer.Typer()


@app.command("report")
def report_command(
    runs: Annotated[str, typer.Argument(help="Runs file or dataset:NAME.")],
    law: Annotated[list[str] | None, typer.Option("--law", "-l", help="Law to fit and compare (repeatable; default chinchilla).")] = None,
    col: ColOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates for intervals and bands (0: none).")] = 0,
    level: Annotated[float, typer.Option(help="Interval coverage.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    budget: Annotated[list[str] | None, typer.Option("--budget", help="Plan at this compute (repeatable; default 1x-1000x the data's largest).")] = None,
    by: Annotated[str, typer.Option(help="Backtest: hold out the largest runs by C, N or D.")] = "C",
    holdout: Annotated[float, typer.Option(help="Backtest: fraction of runs held out.")] = 0.2,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fit, backtest and plan; write one offline HTML report with interactive figures."""
    check_report_path(output)
    budgets = [parse_number(b, "--budget") for b in budget] if budget else None
    for value in budgets or ():
        if value <= 0:
            raise InputError(f"--budget must be a positive number of FLOPs (e.g. 1e23), got {value:g}")
    check_split(by, holdout)
    if not (0 < level < 1):
        raise InputError(f"--level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    data = read_runs(runs, columns=parse_columns(col))
    with progress_bar("bootstrap", enabled=bool(n_bootstrap) and not (json_out or quiet)) as advance:
        report = build_report(data, law or ["chinchilla"], bootstrap=n_bootstrap, level=level, seed=seed, budgets=budgets,
                              backtest_by=by, holdout=holdout, progress=advance)
    path = write_report(report, output)
    if json_out:
        emit_json({"report": str(path), "laws": [f.law.name for f in report.fits], "provenance": report.provenance, "notes": list(report.all_notes)})
        return
    stdout.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, self-contained: open it in any browser, offline)", soft_wrap=True)
