"""Sweep jobs: expand a spec into (family x law x split x bootstrap) backtests and run one.

A job is plain data (picklable, so that a process pool or Ray can ship it);
:func:`run_job` turns one job and its family's table into one result row and
never raises: whatever goes wrong becomes the row's ``error``.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.readers import load_source, read_runs
from ..errors import InputError, ScalingLawsError
from ..evaluate.backtest import backtest
from .spec import BootstrapSpec, DatasetSpec, SplitSpec, SweepSpec

#: Columns of the result table, in order.
ROW_COLUMNS = ("id", "dataset", "family", "law", "split", "bootstrap", "n_fit", "n_heldout", "mean_are", "max_are",
               "coverage", "fit_status", "warnings", "seconds", "status", "error")

#: Family label of a dataset that is not split into families.
WHOLE = "all"


@dataclass(frozen=True)
class Job:
    """One backtest of the sweep: a law on one family of one dataset, one split, one bootstrap setting.

    ``data_key`` names the family's table in :attr:`SweepPlan.frames`;
    ``problem`` is set when that table could not be prepared (the job then
    fails with that message without running).
    """

    id: str
    dataset: str
    family: str
    law: str
    split: SplitSpec
    bootstrap: BootstrapSpec
    read: Mapping[str, object]
    data_key: tuple[str, str]
    problem: str | None = None


@dataclass(frozen=True)
class SweepPlan:
    """Every job of a sweep and the table of each family they read (shipped once per family)."""

    jobs: tuple[Job, ...]
    frames: Mapping[tuple[str, str], pd.DataFrame | None]


def expand(spec: SweepSpec) -> SweepPlan:
    """All jobs of ``spec``: each dataset is read once here and cut into its families.

    A dataset that cannot be read or filtered gives one failing job per
    (law, split, bootstrap), so that the problem shows in the results table.
    """
    jobs: list[Job] = []
    frames: dict[tuple[str, str], pd.DataFrame | None] = {}
    for dataset in spec.datasets:
        try:
            families = families_of(dataset)
        except ScalingLawsError as exc:
            families, problem = {(): None}, str(exc)
        else:
            problem = None
        for values, frame in families.items():
            family = family_label(values)
            frames[(dataset.name, family)] = frame
            for law in dataset.laws:
                for split in dataset.splits:
                    for boot in spec.bootstraps:
                        identity = {"dataset": dataset.identity(), "family": [_plain(v) for v in values], "law": law,
                                    "split": split.identity(), "bootstrap": boot.identity()}
                        jobs.append(Job(job_id(identity), dataset.name, family, law, split, boot, dataset.read_options(),
                                        (dataset.name, family), problem))
    return SweepPlan(tuple(jobs), frames)


def job_id(identity: Mapping[str, object]) -> str:
    """A stable short hash of a job's settings (the same spec gives the same id on any machine)."""
    text = json.dumps(identity, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def families_of(dataset: DatasetSpec) -> dict[tuple[object, ...], pd.DataFrame]:
    """The dataset's raw table after its filters, cut by its ``group`` columns (one entry when none).

    Raises
    ------
    InputError
        If the source cannot be read, a filter or group column is missing,
        the query is invalid, or no rows are left.
    """
    frame = raw_table(dataset.location)
    named = [*dataset.where, *dataset.group, *dataset.drop]
    missing = [c for c in dict.fromkeys(named) if c not in frame.columns]
    if missing:
        raise InputError(f"column(s) {', '.join(map(repr, missing))} of dataset {dataset.name!r} are not in the data; "
                         f"it has: {', '.join(map(str, frame.columns))}")
    for column, allowed in dataset.where.items():
        kept = frame[frame[column].isin(list(allowed))]
        if kept.empty:
            values = ", ".join(repr(v) for v in frame[column].drop_duplicates().head(8))
            raise InputError(f"where {column!r} in {list(allowed)!r} of dataset {dataset.name!r} matches no row; "
                             f"the column holds values such as {values}")
        frame = kept
    if dataset.query is not None:
        try:
            frame = frame.query(dataset.query)
        except Exception as exc:  # pandas raises many kinds for a bad expression
            raise InputError(f"query {dataset.query!r} of dataset {dataset.name!r} failed: {exc}") from exc
    if frame.empty:
        raise InputError(f"the filters of dataset {dataset.name!r} leave no rows")
    # Columns are dropped after grouping, so that a family may be cut by a column the fit must not see (e.g. run).
    drop = list(dataset.drop)
    if not dataset.group:
        return {(): frame.drop(columns=drop).reset_index(drop=True)}
    parts = frame.groupby(list(dataset.group), sort=True, dropna=False)
    return {key if isinstance(key, tuple) else (key,): part.drop(columns=drop).reset_index(drop=True) for key, part in parts}


def raw_table(location: str) -> pd.DataFrame:
    """The table at a path, or a bundled dataset's tidy table, before any role mapping."""
    if location.startswith("dataset:"):
        from ..datasets import load

        return load(location.removeprefix("dataset:")).table
    return load_source(location)[0]


def family_label(values: tuple[object, ...]) -> str:
    """``("LM", "val_loss")`` -> ``"LM/val_loss"``; ``()`` -> ``"all"``."""
    return "/".join(str(v) for v in values) if values else WHOLE


def run_job(job: Job, frame: pd.DataFrame | None) -> dict[str, object]:
    """Backtest one job and return its result row; failures are recorded, never raised."""
    start = time.perf_counter()
    row = _blank_row(job)
    try:
        if job.problem is not None or frame is None:
            raise InputError(job.problem or "no data for this job")
        row.update(_backtest_row(job, frame))
    except Exception as exc:  # any failure is this job's alone; the sweep goes on
        row.update(status="error", error=_describe(exc))
    row["seconds"] = time.perf_counter() - start
    return row


def failed_row(job: Job, exc: BaseException) -> dict[str, object]:
    """The row of a job whose worker died or could not return (a crashed process, a lost Ray task)."""
    return dict(_blank_row(job), status="error", error=_describe(exc))


def _backtest_row(job: Job, frame: pd.DataFrame) -> dict[str, object]:
    split, boot = job.split, job.bootstrap
    options: dict[str, object] = {"by": split.by, "holdout": split.holdout, "split": split.column,
                                  "min_tokens": split.min_tokens, "drop_fraction": split.drop_fraction}
    if boot.replicates:
        # One process per job already: the replicates run in this one.
        options.update(bootstrap=boot.replicates, level=boot.level, seed=boot.seed, workers=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = read_runs(frame, **job.read)  # type: ignore[arg-type]
        (result,) = backtest(runs, [job.law], **options).results  # type: ignore[arg-type]
    codes = [w.code for w in result.warnings] + [getattr(w.category, "code", w.category.__name__) for w in caught]
    failed = result.status.startswith("failed")
    return {"n_fit": result.n_fit, "n_heldout": result.n_heldout, "mean_are": result.mean_are, "max_are": result.max_are,
            "coverage": np.nan if result.coverage is None else result.coverage, "fit_status": result.status,
            "warnings": ",".join(dict.fromkeys(codes)), "status": "error" if failed else "ok",
            "error": result.status.removeprefix("failed: ") if failed else None}


def _blank_row(job: Job) -> dict[str, object]:
    return {"id": job.id, "dataset": job.dataset, "family": job.family, "law": job.law, "split": job.split.name,
            "bootstrap": job.bootstrap.replicates, "n_fit": 0, "n_heldout": 0, "mean_are": np.nan, "max_are": np.nan,
            "coverage": np.nan, "fit_status": "", "warnings": "", "seconds": 0.0, "status": "error", "error": None}


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or "no message"
    return text if isinstance(exc, ScalingLawsError) else f"{type(exc).__name__}: {text}"


def _plain(value: object) -> object:
    """A JSON-ready scalar for hashing group values (numpy scalars to Python, NaN to None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
