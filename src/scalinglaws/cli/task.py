"""``scalinglaws task``: the two-step task ladder beside the single-step prediction."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer

from ..errors import InputError, ScalingLawWarning
from ..task import task_ladder
from .common import ColOption, JsonOption, emit_json, parse_columns, parse_pairs, print_notes, print_warnings, stdout, table

app = typer.Typer()


def _parse_target(specs: list[str]) -> dict[str, float]:
    """The one run to predict; a second --target, or a name given twice, would silently replace the first."""
    if len(specs) != 1:
        raise InputError(f"--target takes one run to predict, got {len(specs)} ({' '.join(specs)}); run the command once per target")
    return parse_pairs(specs[0], "--target", "N=1.2e10,D=3e11")


@app.command("task")
def task_command(
    runs: Annotated[str, typer.Argument(help="Runs file or dataset:NAME, with task-loss and accuracy columns.")],
    task_loss: Annotated[str, typer.Option("--task-loss", help="Column holding the task loss (e.g. bits per byte of the answer).")],
    accuracy: Annotated[str, typer.Option("--accuracy", help="Column holding the task accuracy, in (0, 1].")],
    target: Annotated[list[str], typer.Option("--target", help="The run to predict: N=VALUE,D=VALUE (one run; give it once).")],
    col: ColOption = None,
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Joint bootstrap replicates by run (by row, with a note, when the data has no run column: map one with --col run=COLUMN), refitting both steps (0: none).")] = 0,
    level: Annotated[float, typer.Option(help="Interval coverage.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    json_out: JsonOption = False,
) -> None:
    """Predict task accuracy at N, D: task loss then a sigmoid of it (two-step), against a sigmoid of log C (single-step)."""
    with warnings.catch_warnings():
        # The result records its warnings; they are printed once below (or sit in the JSON).
        warnings.simplefilter("ignore", ScalingLawWarning)
        result = task_ladder(runs, task_loss=task_loss, accuracy=accuracy, target=_parse_target(target),
                             bootstrap=n_bootstrap, level=level, seed=seed, columns=parse_columns(col))
    if json_out:
        emit_json(result.to_dict())
    else:
        t = result.target
        summary = result.summary()
        columns = ["task loss", "accuracy"] + ([f"{result.level:g} lower", "upper"] if result.level is not None else [])
        summary["task_loss"] = summary["task_loss"].map(lambda v: "-" if v != v else v)  # the single step has no task loss
        rows = [[name, *row] for name, row in zip(summary.index, summary.itertuples(index=False), strict=True)]
        stdout.print(table(f"Task accuracy at N = {t['N']:.3g}, D = {t['D']:.3g} (C = {t['C']:.3g})", ["approach", *columns], rows))
        if result.two_step.task_loss_interval is not None:
            lo, hi = result.two_step.task_loss_interval
            stdout.print(f"task loss interval ({result.level:g}): [{lo:.4g}, {hi:.4g}]")
        for label, f in (("step 1", result.step1), ("step 2", result.step2), ("single step", result.single)):
            params = ", ".join(f"{k} = {v:.4g}" for k, v in f.params.items())
            stdout.print(f"{label}: {f.law.formula}; {params} ({f.status})", soft_wrap=True)
        print_notes(result.notes)
        print_warnings(result.warnings)
    if not result.converged:
        raise typer.Exit(1)
