"""Learning curves: the per-step learning rate of a run and its logged losses.

A :class:`Curve` holds the learning rate of *every* step of a run (``lr[i]``
for step ``i + 1``, the whole planned schedule for a run still in progress)
and the checkpoints logged so far (``steps``, ``loss``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.readers import read_runs
from ..data.runs import Runs
from ..errors import DataCleaningWarning, InputError
from .checks import ScheduleMismatchWarning
from .schedules import Schedule, learning_rates, parse_schedule

#: A schedule spec and a logged LR that differ by more than this fraction of the logged peak at some logged step disagree.
LR_MISMATCH = 0.05


@dataclass(frozen=True, eq=False)
class Curve:
    """One training run: learning rate per step and logged losses.

    Attributes
    ----------
    lr: learning rate of steps 1..T (``lr[i]`` is step ``i + 1``).
    steps: logged steps, strictly increasing integers in [1, T].
    loss: logged losses (same length as ``steps``), or ``None`` for a schedule only.
    name: the run's name.
    schedule: the schedule spec the LR came from, or ``"logged"``.
    """

    lr: np.ndarray
    steps: np.ndarray
    loss: np.ndarray | None = None
    name: str = "run"
    schedule: str = "logged"

    def __post_init__(self) -> None:
        lr = np.asarray(self.lr, dtype=float)
        if lr.ndim != 1 or lr.size == 0:
            raise InputError(f"run {self.name!r}: lr must be a non-empty 1-D array (one value per step), got shape {lr.shape}")
        if not np.all(np.isfinite(lr)) or np.any(lr < 0):
            bad = int(np.flatnonzero(~np.isfinite(lr) | (lr < 0))[0])
            raise InputError(f"run {self.name!r}: learning rates must be finite and >= 0, step {bad + 1} has {float(lr[bad]):g}")
        if not np.any(lr > 0):
            raise InputError(f"run {self.name!r}: every learning rate is 0; nothing is trained")
        raw = np.asarray(self.steps, dtype=float)
        if raw.ndim != 1 or raw.size == 0:
            raise InputError(f"run {self.name!r}: steps must be a non-empty 1-D array, got shape {raw.shape}")
        if not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw)) or np.any(raw < 1):
            raise InputError(f"run {self.name!r}: steps must be whole numbers >= 1 (step s is the loss after s updates)")
        steps = raw.astype(np.int64)
        if np.any(np.diff(steps) <= 0):
            raise InputError(f"run {self.name!r}: steps must be strictly increasing (sort them; remove duplicates)")
        if steps[-1] > lr.size:
            raise InputError(f"run {self.name!r}: step {steps[-1]} is beyond the schedule's {lr.size} steps; give a longer schedule (--steps)")
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "steps", steps)
        if self.loss is not None:
            loss = np.asarray(self.loss, dtype=float)
            if loss.shape != steps.shape:
                raise InputError(f"run {self.name!r}: loss has {loss.size} values but steps has {steps.size}")
            if not np.all(np.isfinite(loss)):
                raise InputError(f"run {self.name!r}: loss has non-finite values at steps {steps[~np.isfinite(loss)][:5].tolist()}")
            if np.any(loss <= 0):
                bad = int(np.flatnonzero(loss <= 0)[0])
                raise InputError(f"run {self.name!r}: losses must be > 0, step {int(steps[bad])} has {float(loss[bad]):g}")
            object.__setattr__(self, "loss", loss)

    @property
    def total_steps(self) -> int:
        return int(self.lr.size)


def schedule_curve(schedule: Schedule | str, steps: int | None = None, *, at: np.ndarray | None = None,
                   loss: np.ndarray | None = None, name: str = "run") -> Curve:
    """A :class:`Curve` for a schedule spec: every step (or the steps ``at``), with optional losses.

    Examples
    --------
    >>> c = schedule_curve("cosine:peak=1e-3,warmup=10", 100, at=[50, 100])
    >>> c.steps.tolist(), c.schedule
    ([50, 100], 'cosine:peak=0.001,warmup=10')
    """
    schedule = parse_schedule(schedule)
    lr = learning_rates(schedule, steps)
    observed = np.arange(1, lr.size + 1) if at is None else np.asarray(at)
    return Curve(lr=lr, steps=observed, loss=loss, name=name, schedule=schedule.spec())


def lr_from_log(steps: np.ndarray, lr: np.ndarray, total: int | None = None) -> np.ndarray:
    """Per-step learning rates from an LR logged at some steps (linear interpolation between them).

    Steps before the first logged one take the first logged LR; after the
    last one, the last (pass ``total`` to extend the schedule).
    """
    s = np.asarray(steps, dtype=float)
    values = np.asarray(lr, dtype=float)
    last = int(s.max()) if total is None else int(total)
    return np.interp(np.arange(1, last + 1, dtype=float), s, values)


def bin_curve(curve: Curve, width: int) -> Curve:
    """Average the logged loss over windows of ``width`` steps (for noisy per-batch training losses).

    Each window's mean loss is placed at the window's mean logged step
    (rounded). The schedule is unchanged.
    """
    if curve.loss is None:
        raise InputError(f"run {curve.name!r} has no losses to bin")
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise InputError(f"bin width must be a whole number of steps >= 1, got {width!r}")
    window = (curve.steps - 1) // int(width)
    frame = pd.DataFrame({"w": window, "step": curve.steps, "loss": curve.loss}).groupby("w").mean()
    steps = np.round(frame["step"].to_numpy()).astype(np.int64)
    return Curve(lr=curve.lr, steps=steps, loss=frame["loss"].to_numpy(), name=curve.name, schedule=curve.schedule)


def truncate_curve(curve: Curve, last_step: int) -> Curve:
    """The same run logged only up to ``last_step`` (its schedule kept whole: an in-progress run)."""
    keep = curve.steps <= last_step
    if not keep.any():
        raise InputError(f"run {curve.name!r} has no checkpoint at or before step {last_step}")
    return Curve(lr=curve.lr, steps=curve.steps[keep], loss=None if curve.loss is None else curve.loss[keep],
                 name=curve.name, schedule=curve.schedule)


def read_curves(
    source: str | os.PathLike[str] | pd.DataFrame | Runs,
    *,
    schedule: Schedule | str | Mapping[str, Schedule | str] | None = None,
    steps: int | None = None,
    columns: Mapping[str, str] | None = None,
    bin_width: int | None = None,
    keep_logged_lr: bool = False,
) -> tuple[Curve, ...]:
    """Read logged learning curves (columns ``step``, ``loss``, optional ``run``, ``lr`` and ``schedule``).

    Parameters
    ----------
    source:
        A runs file, ``dataset:NAME``, a DataFrame or :class:`Runs`.
    schedule:
        The schedule of every run (a spec), or a mapping ``{run name: spec}``
        for runs logged without a learning rate (e.g. published curves whose
        paper states the schedule). Otherwise each run's ``schedule`` column
        (one spec per run) or ``lr`` column is used, the LR interpolated
        linearly between logged steps. A per-run spec wins over the columns
        (see ``keep_logged_lr``), with a :class:`ScheduleMismatchWarning`
        when it differs from a logged ``lr`` by more than 5% of the logged
        peak at some logged step.
    steps:
        Total steps of the schedule (a run in progress: longer than the log).
        Defaults to the schedule's ``steps=`` or the last logged step.
    columns:
        Role -> column mapping, e.g. ``{"lr": "learning_rate/current"}``.
    bin_width:
        Average the loss over windows of this many steps (see :func:`bin_curve`).
    keep_logged_lr:
        With both a schedule spec and a logged ``lr``: keep the logged LR up
        to each run's last logged step and take the spec's only beyond it
        (a run in progress whose plan is the spec). Default: the spec's LR
        replaces the logged one.

    Raises
    ------
    InputError
        Without a step or loss column, without a learning rate for some run,
        with a per-run schedule for a run that is not in the data, with bad
        values (losses <= 0, negative learning rates), or with a directory
        that cannot be read as logs.

    Examples
    --------
    >>> frame = pd.DataFrame({"run": ["a", "a", "b"], "step": [50, 100, 100], "loss": [3.0, 2.9, 2.8]})
    >>> [c.schedule for c in read_curves(frame, schedule={"a": "constant:peak=1e-3", "b": "cosine:peak=1e-3"})]
    ['constant:peak=0.001', 'cosine:peak=0.001']
    """
    runs = _read_runs(source, columns)
    table = runs.table
    for role in ("step", "loss"):
        if role not in table.columns:
            raise InputError(f"learning curves need a {role!r} column; the data has: {', '.join(map(str, table.columns))}. "
                             f"Map one with --col {role}=COLUMN")
    per_run = _per_run_schedules(schedule)
    common = parse_schedule(schedule) if isinstance(schedule, (str, Schedule)) else None
    has_lr = "lr" in table.columns
    has_spec = "schedule" in table.columns
    if common is None and not per_run and not has_lr and not has_spec:
        raise InputError("no learning rate: give the schedule (--schedule SPEC, e.g. cosine:peak=3e-4,warmup=500) "
                         "or a per-step LR column (--col lr=COLUMN)")
    for role in ("step", "loss"):
        values = pd.to_numeric(table[role], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan)))
        if bad.size:
            raise InputError(f"column {runs.column_label(role)} has {bad.size} missing or non-numeric value(s), first at row {bad[0]}; fix or remove those rows")
    table = table.assign(step=pd.to_numeric(table["step"]), loss=pd.to_numeric(table["loss"]))
    if (table["step"] < 0).any():
        raise InputError(f"column {runs.column_label('step')} has negative steps; steps count optimiser updates from 0")
    if (table["step"] == 0).any():
        warnings.warn(f"dropped {int((table['step'] == 0).sum())} checkpoint(s) at step 0: before any update no schedule area exists",
                      DataCleaningWarning, stacklevel=2)
        table = table[table["step"] > 0]
    groups = list(table.groupby(table["run"].astype(str), sort=False)) if "run" in table.columns else [("run", table)]
    unknown = sorted(set(per_run) - {str(name) for name, _ in groups})
    if unknown:
        raise InputError(f"schedule given for run(s) {', '.join(map(repr, unknown))} not in the data; runs are: "
                         f"{', '.join(str(n) for n, _ in groups[:10])}")
    curves = []
    for name, rows in groups:
        rows = rows.sort_values("step", kind="stable")
        if rows["step"].duplicated().any():
            raise InputError(f"run {name!r} logs step {int(rows['step'][rows['step'].duplicated()].iloc[0])} more than once; remove duplicates")
        logged = rows["step"].to_numpy(dtype=float)
        _check_losses(rows, runs, str(name))
        spec = per_run.get(str(name), common) or (_column_schedule(rows, str(name)) if has_spec else None)
        values = _logged_lr(rows, runs, str(name), required=spec is None, used=spec is None or keep_logged_lr) if has_lr else None
        if spec is not None:
            total = steps if steps is not None else (spec.steps if spec.steps is not None else int(logged.max()))
            lr = learning_rates(spec, total)
            label = spec.spec()
            if values is not None:
                lr, label = _spec_and_log(lr, label, logged, values, str(name), runs.column_label("lr"), keep_logged_lr)
        elif values is not None:
            lr = lr_from_log(logged, values, steps)
            label = "logged"
        else:
            raise InputError(f"no learning rate for run {name!r}: give the schedule (--schedule SPEC for every run, --run-schedule "
                             "RUN=SPEC for one, or a 'schedule' column), e.g. cosine:peak=3e-4,warmup=500, or a per-step LR column (--col lr=COLUMN)")
        curve = Curve(lr=lr, steps=logged, loss=rows["loss"].to_numpy(dtype=float), name=str(name), schedule=label)
        curves.append(bin_curve(curve, bin_width) if bin_width else curve)
    return tuple(curves)


def _read_runs(source: str | os.PathLike[str] | pd.DataFrame | Runs, columns: Mapping[str, str] | None) -> Runs:
    try:
        return read_runs(source, columns=columns)
    except (IsADirectoryError, NotADirectoryError) as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(source) else ""
        raise InputError(f"cannot read {str(source)!r} as logged curves: {exc.strerror or exc}{where}; give a CSV, Parquet or JSON "
                         "file, or a log directory that holds only event files and folders") from None


def _check_losses(rows: pd.DataFrame, runs: Runs, name: str) -> None:
    bad = np.flatnonzero(rows["loss"].to_numpy(dtype=float) <= 0)
    if bad.size:
        i = int(bad[0])
        raise InputError(f"column {runs.column_label('loss')} must be > 0 (a loss in nats or bits): run {name!r}, step "
                         f"{int(rows['step'].iloc[i])} has {float(rows['loss'].iloc[i]):g}; fix or remove that row")


def _logged_lr(rows: pd.DataFrame, runs: Runs, name: str, *, required: bool, used: bool) -> np.ndarray | None:
    """One run's logged LR at its logged steps; ``None`` when it has gaps but a schedule spec gives the LR (not ``required``).

    Negative values are an error when the logged LR is ``used`` (not only compared with a spec).
    """
    values = pd.to_numeric(rows["lr"], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        if not required:
            return None
        raise InputError(f"column {runs.column_label('lr')} has missing or non-numeric values for run {name!r}; "
                         "fix them or give the run's schedule (--run-schedule RUN=SPEC)")
    negative = np.flatnonzero(values < 0)
    if negative.size and used:
        i = int(negative[0])
        raise InputError(f"column {runs.column_label('lr')}: run {name!r}, step {int(rows['step'].iloc[i])} has {values[i]:g}; "
                         "learning rates must be >= 0: fix that row or give the run's schedule (--run-schedule RUN=SPEC)")
    return values


def _spec_and_log(lr: np.ndarray, label: str, steps: np.ndarray, logged: np.ndarray, name: str, column: str,
                  keep_logged: bool) -> tuple[np.ndarray, str]:
    """A run's LR from a spec and a logged LR column: the spec's, or the log's up to its last step then the spec's.

    Warns (:class:`ScheduleMismatchWarning`) when the two differ at a logged step by more than ``LR_MISMATCH`` of the logged peak.
    """
    last = int(steps.max())
    message = _lr_mismatch(lr, steps, logged, LR_MISMATCH)
    if keep_logged and lr.size >= last:
        outcome = f"the logged LR is used up to step {last} and the schedule after it"
        merged = np.concatenate([lr_from_log(steps, logged)[:last], lr[last:]]), f"logged to step {last}, then {label}"
    else:
        outcome = "the schedule's LR replaces the logged one; drop the schedule to use the logged LR, or correct it"
        merged = lr, label
    if message:
        warnings.warn(f"run {name!r}: the schedule {label} disagrees with the logged LR (column {column}) {message}; {outcome}",
                      ScheduleMismatchWarning, stacklevel=3)
    return merged


def _lr_mismatch(lr: np.ndarray, steps: np.ndarray, logged: np.ndarray, tolerance: float) -> str | None:
    """Where a per-step LR differs from the LR logged at ``steps`` by more than ``tolerance`` of the logged peak, in words."""
    inside = steps <= lr.size
    peak = float(np.max(np.abs(logged))) if logged.size else 0.0
    if not inside.any() or peak == 0.0:
        return None
    at = steps[inside].astype(np.int64)
    gap = np.abs(lr[at - 1] - logged[inside]) / peak
    off = np.flatnonzero(gap > tolerance)
    if not off.size:
        return None
    worst = int(off[np.argmax(gap[off])])
    return (f"at {off.size} of {at.size} logged steps by more than {tolerance:.0%} of the logged peak "
            f"(worst: step {at[worst]}, schedule {lr[at[worst] - 1]:.3g}, logged {logged[inside][worst]:.3g})")


def _per_run_schedules(schedule: object) -> dict[str, Schedule]:
    if schedule is None or isinstance(schedule, (str, Schedule)):
        return {}
    if not isinstance(schedule, Mapping):
        raise InputError(f"schedule must be a spec like 'cosine:peak=3e-4,warmup=500' or a mapping of run name to spec, got {type(schedule).__name__}")
    return {str(name): parse_schedule(spec) for name, spec in schedule.items()}  # type: ignore[arg-type]


def _column_schedule(rows: pd.DataFrame, name: str) -> Schedule | None:
    specs = rows["schedule"].dropna().astype(str).str.strip().unique()
    if specs.size == 0:
        return None
    if specs.size > 1:
        raise InputError(f"run {name!r} has {specs.size} different schedules in its 'schedule' column ({', '.join(specs[:3])}); give one spec per run")
    return parse_schedule(str(specs[0]))


__all__ = ["LR_MISMATCH", "Curve", "bin_curve", "lr_from_log", "read_curves", "schedule_curve", "truncate_curve"]
