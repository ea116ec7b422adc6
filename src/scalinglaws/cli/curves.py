"""``scalinglaws curve fit|predict|backtest``: learning curves under a learning-rate schedule."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..curves import (
    Curve,
    CurveFit,
    CurvePrediction,
    ScheduleBacktest,
    backtest_schedules,
    fit_curves,
    forecast_run,
    learning_rates,
    load_curve_fit,
    predict_curve,
    read_curves,
)
from ..curves.laws import curve_law_names
from ..errors import InputError, ScalingLawWarning
from ..arguments import check_replicates
from ..fitting.result import FitWarning
from .common import (
    ColOption,
    JsonOption,
    PlotOption,
    QuietOption,
    emit_json,
    fmt,
    parse_assignments,
    parse_columns,
    print_warnings,
    save_plot,
    stdout,
    table,
)

app = typer.Typer()
curve_app = typer.Typer(help="Learning curves under an LR schedule: fit a law, predict unseen schedules, forecast runs in progress.",
                        no_args_is_help=True)
app.add_typer(curve_app, name="curve")

LawOption = Annotated[str, typer.Option("--law", "-l", help=f"Learning-curve law: {' or '.join(curve_law_names())}.")]
ScheduleOption = Annotated[str | None, typer.Option("--schedule", "-s", help="LR schedule spec, e.g. wsd:peak=3e-4,warmup=500,decay=0.2 "
                                                                          "(kinds: constant, cosine, linear, wsd, cooldown).")]
StepsOption = Annotated[int | None, typer.Option("--steps", help="Total steps of the schedule (unless the spec has steps=).")]
MinStepOption = Annotated[int | None, typer.Option("--min-step", help="Fit checkpoints from this step on (default: the end of warm-up).")]
BinOption = Annotated[int | None, typer.Option("--bin", help="Average the logged loss over windows of this many steps (noisy training losses).")]
LamOption = Annotated[str | None, typer.Option("--lam", help="Momentum lambda of the annealing area (lr_annealing): a number, or 'fit'. Default 0.999.")]
BootstrapOption = Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates for intervals (over runs if 3+, else residual blocks).")]
LevelOption = Annotated[float, typer.Option(help="Coverage of the intervals.")]
SeedOption = Annotated[int, typer.Option(help="Seed of the bootstrap.")]
FixOption = Annotated[list[str] | None, typer.Option("--fix", help="Hold a parameter: --fix alpha=0.5, or switch the annealing term off with "
                                                                  "--fix C=0 (lr_annealing) or --fix B=0 (multi_power) (repeatable, once per parameter).")]
RunScheduleOption = Annotated[list[str] | None, typer.Option("--run-schedule", help="The schedule of one run logged without an LR: "
                                                                                   "--run-schedule RUN=SPEC (repeatable), e.g. c4=cosine:peak=2e-4,warmup=520,min_ratio=0.1.")]

#: Rows of a predicted curve shown in the readable table.
SHOWN_ROWS = 12


def _lam(text: str | None) -> float | str | None:
    if text is None or text == "fit":
        return text
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--lam must be a number in [0, 1) or 'fit', got {text!r}") from None


def _schedules(schedule: str | None, run_schedules: list[str] | None) -> str | dict[str, str] | None:
    """--schedule for every run, or --run-schedule RUN=SPEC for some (not both)."""
    if not run_schedules:
        return schedule
    if schedule is not None:
        raise InputError("give --schedule (every run) or --run-schedule RUN=SPEC (one run each), not both")
    out: dict[str, str] = {}
    for item in run_schedules:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or ":" in name or not spec.strip():
            raise InputError(f"--run-schedule must look like RUN=SPEC (e.g. c4=cosine:peak=2e-4,warmup=500), got {item!r}")
        if name.strip() in out:
            raise InputError(f"--run-schedule gives run {name.strip()!r} twice")
        out[name.strip()] = spec.strip()
    return out


def _fixed(specs: list[str] | None) -> dict[str, float] | None:
    if not specs:
        return None
    values = parse_assignments(specs, "--fix")
    for name, items in values.items():
        if len(items) != 1:
            raise InputError(f"--fix {name} takes one value, got {len(items)}")
    return {name: items[0] for name, items in values.items()}


def _replicates(n: int) -> int:
    """--bootstrap: 0 (no intervals) or at least 2 replicates (one gives a degenerate interval)."""
    return check_replicates(n)


def _read(runs: str, **options: object) -> tuple[tuple[Curve, ...], tuple[FitWarning, ...]]:
    """read_curves, with its warnings (rows dropped, a schedule that disagrees with the logged LR) kept to report with the result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curves = read_curves(runs, **options)  # type: ignore[arg-type]
    found = []
    for w in caught:
        if issubclass(w.category, ScalingLawWarning):
            found.append(FitWarning(getattr(w.category, "code", "warning"), str(w.message)))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return curves, tuple(found)


def _fit_table(result: CurveFit):
    summary = result.summary()
    columns = ["parameter", "value", "fixed"] + (["lower", "upper"] if "lower" in summary.columns else [])
    rows = [[name, *["yes" if c == "fixed" and row[c] else ("" if c == "fixed" else row[c]) for c in columns[1:]]]
            for name, row in summary.iterrows()]
    return table(f"{result.law.name}: {result.law.formula}", columns, rows)


def _runs_table(result: CurveFit):
    rows = [[r["name"], r["schedule"], r["points"], f"{r['first_step']}-{r['last_step']}", r["peak_lr"], f"{r['anneal']:.0%}", r["rms_residual"]]
            for r in result.runs]
    return table("Fitted runs", ["run", "schedule", "points", "steps", "peak LR", "annealed", "RMS residual"], rows, justify_numbers=False)


@curve_app.command("fit")
def fit_command(
    runs: Annotated[str, typer.Argument(help="Logged curves (CSV, Parquet, JSON...): columns step, loss, optional run and lr.")],
    law: LawOption = "lr_annealing",
    schedule: ScheduleOption = None,
    run_schedule: RunScheduleOption = None,
    steps: StepsOption = None,
    col: ColOption = None,
    lam: LamOption = None,
    fix: FixOption = None,
    min_step: MinStepOption = None,
    bin_width: BinOption = None,
    loss: Annotated[str, typer.Option(help="squared or huber (on loss residuals).")] = "squared",
    delta: Annotated[float, typer.Option(help="Huber threshold in loss units.")] = 0.01,
    n_bootstrap: BootstrapOption = 0,
    level: LevelOption = 0.95,
    seed: SeedOption = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the fit JSON here.")] = None,
    json_out: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fit a learning-curve law jointly to runs with known LR schedules (--schedule SPEC or an lr column)."""
    curves, read_warnings = _read(runs, schedule=_schedules(schedule, run_schedule), steps=steps, columns=parse_columns(col), bin_width=bin_width)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)  # recorded on the result and printed below
        result = fit_curves(curves, law, lam=_lam(lam), fixed=_fixed(fix), min_step=min_step, loss=loss, delta=delta,
                            bootstrap=_replicates(n_bootstrap), level=level, seed=seed)
    result = dataclasses.replace(result, warnings=read_warnings + result.warnings)
    if output is not None:
        result.save(output)
    if json_out:
        emit_json(result.to_dict())
    else:
        stdout.print(_fit_table(result))
        if not quiet:
            stdout.print(_runs_table(result))
            stdout.print(f"objective {fmt(result.objective)} ({result.loss} loss residuals, summed over {result.n_points} checkpoints)")
            stdout.print(f"status: {result.status}")
            if result.replicates:
                stdout.print(f"intervals: {result.bootstrap_method}", soft_wrap=True)
            if output is not None:
                stdout.print(f"saved fit to {output}")
        print_warnings(result.warnings)
    if not result.converged:
        raise typer.Exit(1)


def _prediction_rows(prediction: CurvePrediction) -> list[list[object]]:
    index = np.unique(np.round(np.linspace(0, prediction.steps.size - 1, min(SHOWN_ROWS, prediction.steps.size))).astype(int))
    rows = []
    for i in index:
        row: list[object] = [int(prediction.steps[i]), float(prediction.loss[i])]
        if prediction.lower is not None and prediction.upper is not None:
            row += [float(prediction.lower[i]), float(prediction.upper[i])]
        rows.append(row)
    return rows


def _show_prediction(prediction: CurvePrediction, title: str) -> None:
    columns = ["step", "loss"] + (["lower", "upper"] if prediction.lower is not None else [])
    stdout.print(table(title, columns, _prediction_rows(prediction)))
    stdout.print(f"intervals: {prediction.interval_method}", soft_wrap=True)


@curve_app.command("predict")
def predict_command(
    fit_path: Annotated[str | None, typer.Argument(metavar="[FIT]", help="Fit JSON written by `scalinglaws curve fit -o` (or use --from-run).")] = None,
    schedule: ScheduleOption = None,
    steps: StepsOption = None,
    from_run: Annotated[str | None, typer.Option("--from-run", help="Forecast a run in progress: its logged curve (fit on it, predict the end of --schedule).")] = None,
    law: LawOption = "lr_annealing",
    col: ColOption = None,
    lam: LamOption = None,
    fix: FixOption = None,
    prior: Annotated[list[Path] | None, typer.Option("--prior", help="A --from-run forecast holds the shape parameters (alpha, lam; alpha, beta, "
                                                                       "gamma) at this fit of other runs (repeatable: their median and spread).")] = None,
    interval: Annotated[str, typer.Option(help="Interval of a --from-run forecast: both (bootstrap joined with the profile-likelihood "
                                                 "range), bootstrap or profile.")] = "both",
    min_step: MinStepOption = None,
    bin_width: BinOption = None,
    points: Annotated[int, typer.Option(help="Steps at which the curve is predicted (evenly spaced, last included).")] = 200,
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates of a --from-run forecast's interval (0 for none).")] = 100,
    level: LevelOption = 0.95,
    seed: SeedOption = 0,
    plot: PlotOption = None,
    json_out: JsonOption = False,
) -> None:
    """Predict the loss curve of a schedule from a fit, or forecast the final loss of a run in progress."""
    if fit_path is None and from_run is None and schedule is None:
        raise InputError("curve predict needs FIT (a fit saved by `scalinglaws curve fit RUNS -o FIT.json`) or --from-run RUNS (a run in "
                         "progress), and the schedule: --schedule SPEC (e.g. cosine:peak=3e-4,warmup=500) with --steps N or steps= in the spec")
    if schedule is None:
        raise InputError("give the schedule to predict: --schedule SPEC (e.g. cosine:peak=3e-4,warmup=500) with --steps N or steps= in the spec")
    if (fit_path is None) == (from_run is None):
        raise InputError("give either a FIT file (predict a schedule) or --from-run RUNS (forecast a run in progress), not both or neither")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)  # recorded on the results and printed below
        if fit_path is not None:
            if prior:
                raise InputError("--prior applies to a --from-run forecast, not to a FIT file's prediction")
            result = load_curve_fit(fit_path)
            prediction = predict_curve(result, schedule, steps=steps, points=points)
            lr = learning_rates(schedule, steps)
            observed: tuple[Curve, ...] = ()
            document: dict[str, object] = prediction.to_dict()
            found = prediction.warnings
            final_interval = None if prediction.lower is None else (float(prediction.lower[-1]), float(prediction.upper[-1]))  # type: ignore[index]
            final_level = prediction.level
            title = f"{result.law.name} prediction under {prediction.schedule}"
        else:
            curves, read_warnings = _read(from_run, schedule=schedule, steps=steps, columns=parse_columns(col), bin_width=bin_width,
                                          keep_logged_lr=True)
            if len(curves) != 1:
                raise InputError(f"--from-run needs the log of one run; {from_run!r} holds {len(curves)} runs ({', '.join(c.name for c in curves[:5])})")
            (curve,) = curves
            priors = [load_curve_fit(path) for path in prior or ()]
            forecast = forecast_run(curve, law, prior=priors or None, interval=interval, bootstrap=_replicates(n_bootstrap), level=level,
                                    seed=seed, points=points, lam=_lam(lam), fixed=_fixed(fix), min_step=min_step)
            prediction, lr, observed = forecast.prediction, curve.lr, curves
            found = read_warnings + forecast.warnings
            document = {**forecast.to_dict(), "warnings": [w.to_dict() for w in found]}
            final_interval, final_level = forecast.interval, forecast.level
            title = f"{law} forecast of run {curve.name!r} (logged to step {forecast.observed_until} of {forecast.final_step})"
    if plot is not None:
        from ..curves.figures import curve_figure

        save_plot(plot, lambda: curve_figure(prediction, lr=lr, observed=observed), announce=not json_out)
    failed = from_run is not None and not forecast.fit.converged
    if json_out:
        emit_json(document)
        if failed:
            raise typer.Exit(1)
        return
    _show_prediction(prediction, title)
    final = f"final loss at step {int(prediction.steps[-1])}: {fmt(prediction.final_loss, 5)}"
    if final_interval is not None:
        final += f"  [{fmt(final_interval[0], 5)}, {fmt(final_interval[1], 5)}] ({final_level or level:.0%})"
    stdout.print(final)
    if from_run is not None and forecast.interval_method:
        stdout.print(f"final interval: {forecast.interval_method}", soft_wrap=True)
    if failed:
        stdout.print(f"status: {forecast.fit.status} (the fit behind the forecast did not converge)")
    print_warnings(found)
    if failed:
        raise typer.Exit(1)


def _backtest_rows(result: ScheduleBacktest, intervals: bool) -> list[list[object]]:
    rows = []
    for row in result.table.itertuples(index=False):
        cells: list[object] = [row.holdout, row.law, row.points, f"{row.mean_are:.2%}", f"{row.max_are:.2%}",
                               f"{fmt(row.final_predicted, 4)} / {fmt(row.final_actual, 4)}", f"{row.final_error:+.2%}"]
        if intervals:
            cells.append("" if row.lower is None or row.lower != row.lower else f"[{fmt(row.lower, 4)}, {fmt(row.upper, 4)}]")
        rows.append(cells)
    return rows


@curve_app.command("backtest")
def backtest_command(
    runs: Annotated[str, typer.Argument(help="Logged curves of several runs (columns step, loss, run, and lr or schedule).")],
    law: Annotated[list[str] | None, typer.Option("--law", "-l", help=f"Law to backtest (repeatable; default: {', '.join(curve_law_names())}).")] = None,
    holdout: Annotated[list[str] | None, typer.Option("--holdout", help="Run to hold out (a run name, a schedule spec or a schedule kind; "
                                                                        "repeatable: held out together). Default: every run in turn.")] = None,
    schedule: ScheduleOption = None,
    run_schedule: RunScheduleOption = None,
    steps: StepsOption = None,
    col: ColOption = None,
    lam: LamOption = None,
    fix: FixOption = None,
    min_step: MinStepOption = None,
    bin_width: BinOption = None,
    n_bootstrap: BootstrapOption = 0,
    level: LevelOption = 0.95,
    seed: SeedOption = 0,
    plot: PlotOption = None,
    json_out: JsonOption = False,
) -> None:
    """Fit each law on the other schedules' runs and score its prediction of the held-out run's whole curve."""
    curves, read_warnings = _read(runs, schedule=_schedules(schedule, run_schedule), steps=steps, columns=parse_columns(col), bin_width=bin_width)
    result = backtest_schedules(list(curves), law or list(curve_law_names()), holdout=holdout or None, min_step=min_step, lam=_lam(lam),
                                fixed=_fixed(fix), bootstrap=_replicates(n_bootstrap), level=level, seed=seed)
    failed = not (result.table["status"] == "converged").all()
    if plot is not None:
        from ..curves.figures import backtest_figure

        held = {c.name for c in result.heldout}
        save_plot(plot, lambda: backtest_figure(result, fitted=[c for c in curves if c.name not in held]), announce=not json_out)
    if json_out:
        emit_json({**result.to_dict(), "warnings": [w.to_dict() for w in read_warnings]})
        if failed:
            raise typer.Exit(1)
        return
    intervals = bool(result.table["lower"].notna().any())
    stdout.print(table("Held-out schedules: absolute relative error of each law's prediction",
                       ["held out", "law", "points", "mean ARE", "max ARE", "last: predicted / logged", "error"] + (["interval"] if intervals else []),
                       _backtest_rows(result, intervals), justify_numbers=False))
    summary = result.summary()
    stdout.print(table("By law", ["law", "runs", "mean ARE", "max ARE", "mean |final error|", "max |final error|"],
                       [[name, int(r["runs"]), f"{r['mean_are']:.2%}", f"{r['max_are']:.2%}", f"{r['mean_abs_final_error']:.2%}",
                         f"{r['max_abs_final_error']:.2%}"] for name, r in summary.iterrows()], justify_numbers=False))
    codes = sorted({c for text in result.table["warnings"] for c in str(text).split(",") if c})
    if codes:
        stdout.print(f"warnings raised by the fits and predictions (per row in --json): {', '.join(codes)}", soft_wrap=True)
    print_warnings(read_warnings)
    if failed:
        raise typer.Exit(1)
