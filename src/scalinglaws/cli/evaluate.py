"""``scalinglaws backtest``: fit small, predict big, rank laws by ARE."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from ..data.readers import read_runs
from ..errors import InputError
from ..evaluate import Backtest, backtest, backtest_groups
from ..report import figures
from .common import ColOption, JsonOption, PlotOption, emit_json, parse_columns, print_warnings, progress_bar, save_plot, stdout, table

app = typer.Typer()


@app.command("backtest")
def backtest_command(
    runs: Annotated[str, typer.Argument(help="Runs file or dataset:NAME.")],
    law: Annotated[list[str], typer.Option("--law", "-l", help="Law to compare (repeatable).")],
    col: ColOption = None,
    by: Annotated[str, typer.Option(help="What 'larger' means for the held-out runs: C, N or D.")] = "C",
    holdout: Annotated[float, typer.Option(help="Fraction of runs held out (the largest).")] = 0.2,
    split: Annotated[str | None, typer.Option(help="Column marking fit (1) and held-out (0) rows instead.")] = None,
    group: Annotated[list[str] | None, typer.Option("--group", help="Backtest separately per value of this column (repeatable).")] = None,
    min_tokens: Annotated[float | None, typer.Option(help="Drop checkpoints with fewer tokens before fitting.")] = None,
    drop_fraction: Annotated[float, typer.Option(help="Drop this early fraction of each run before fitting (e.g. 0.1).")] = 0.0,
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Replicates for prediction intervals (0: none).")] = 0,
    level: Annotated[float, typer.Option(help="Interval coverage.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    plot: PlotOption = None,
    json_out: JsonOption = False,
) -> None:
    """Fit each law on the smaller runs, predict the held-out larger ones, rank by ARE."""
    data = read_runs(runs, columns=parse_columns(col))
    options = dict(by=by, holdout=holdout, split=split, min_tokens=min_tokens, drop_fraction=drop_fraction, bootstrap=n_bootstrap, level=level, seed=seed)
    if group:
        if plot is not None:
            raise InputError("--plot draws one backtest; drop --group, or backtest one group at a time with --split")
        with progress_bar("backtest per group", enabled=not json_out) as advance:
            frame = backtest_groups(data, law, group=group, progress=advance, **options)
        if json_out:
            emit_json({"groups": [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()} for row in frame.to_dict(orient="records")],
                       "mean_are": {k: float(v) for k, v in frame.groupby("law")["mean_are"].mean().items()}})
            return
        laws = list(dict.fromkeys(frame["law"]))
        wide = frame.groupby(group, sort=False).agg(n_fit=("n_fit", "max"), n_heldout=("n_heldout", "max"))
        wide = wide.join(frame.pivot(index=group, columns="law", values="mean_are")[laws]).reset_index()
        stdout.print(table("Backtest per group: mean absolute relative error of held-out predictions", [*group, *laws, "fit", "held out"],
                           wide[[*group, *laws, "n_fit", "n_heldout"]].itertuples(index=False)))
        averages = frame.groupby("law")["mean_are"].mean().sort_values()
        stdout.print(table("Average over groups", ["law", "mean ARE"], averages.items()))
        return
    result = backtest(data, law, **options)  # type: ignore[arg-type]
    save_plot(plot, lambda: figures.backtest_figure(result, title=f"Backtest on {data.source}"), announce=not json_out)
    if json_out:
        emit_json(result.to_dict())
    else:
        show_backtest(result, with_coverage=bool(n_bootstrap))
    if result.unranked:
        raise typer.Exit(1)  # a law failed or did not converge: its row has no rank


def show_backtest(result: Backtest, *, with_coverage: bool) -> None:
    """The ranking table, then why each unranked law has no rank, then the warnings."""
    summary = result.summary()
    columns = ["law", "mean_are", "max_are", "n_fit", "n_heldout"] + (["coverage"] if with_coverage else [])
    stdout.print(table(f"Backtest ({result.split}): absolute relative error of held-out predictions", ["rank", *columns],
                       [["-" if pd.isna(rank) else rank, *row] for rank, row in zip(summary.index, summary[columns].itertuples(index=False), strict=True)]))
    for r in result.unranked:
        reason = r.status if r.status != "converged" else "predictions are not finite at every held-out target"
        stdout.print(f"{r.law}: no rank: {reason}", soft_wrap=True)
    print_warnings(f"{r.law}: {w.message}" for r in result.results for w in r.warnings)
