"""Run a sweep's jobs locally (a process pool) or on Ray, resume from a results table.

Jobs are independent, so they run in any order on any worker; each result
row is written to the table as it arrives (at most every few seconds), so an
interrupted sweep keeps what it finished and a rerun with the same table
skips every job already there with status ``ok``.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, ScalingLawWarning
from .jobs import ROW_COLUMNS, Job, SweepPlan, expand, failed_row, run_job
from .spec import SweepSpec, load_spec

Progress = Callable[[int, int], None]
OUT_SUFFIXES = (".parquet", ".csv")
TEXT_COLUMNS = ("id", "dataset", "family", "law", "split", "fit_status", "warnings", "status", "error")
#: Seconds between two writes of the results table while jobs finish.
CHECKPOINT_SECONDS = 5.0
RAY_MISSING = 'Ray is not installed; --ray needs it: pip install "scalinglaws[ray]"'


class StaleResultsWarning(ScalingLawWarning):
    """Rows of the results table whose jobs are not in the spec (it changed) were dropped from it."""

    code = "stale_results"


@dataclass(frozen=True)
class SweepResult:
    """The rows of one sweep (one per job, resumed ones included) and how they were obtained."""

    table: pd.DataFrame
    executed: int
    skipped: int
    out: Path | None
    source: str
    #: Rows of the results table dropped because their jobs are not in this spec.
    dropped: int = 0

    @property
    def failed(self) -> pd.DataFrame:
        """Rows of the jobs that ended in an error."""
        return self.table[self.table["status"] != "ok"]

    def summary(self) -> pd.DataFrame:
        """Per law: jobs, failures, and the mean, median and worst mean ARE over its successful jobs."""
        ok = self.table[self.table["status"] == "ok"]
        laws = list(dict.fromkeys(self.table["law"]))
        frame = pd.DataFrame({
            "jobs": self.table.groupby("law").size(),
            "failed": self.failed.groupby("law").size(),
            "mean_are": ok.groupby("law")["mean_are"].mean(),
            "median_are": ok.groupby("law")["mean_are"].median(),
            "worst_are": ok.groupby("law")["mean_are"].max(),
        }).reindex(laws)
        frame[["jobs", "failed"]] = frame[["jobs", "failed"]].fillna(0).astype(int)
        frame.index.name = "law"
        return frame.sort_values("mean_are", na_position="last", kind="stable").reset_index()

    def pivot(self, split: str) -> pd.DataFrame:
        """Mean ARE of each (dataset, family) and law on one split (averaged over bootstrap settings)."""
        rows = self.table[self.table["split"] == split]
        laws = list(dict.fromkeys(rows["law"]))
        families = list(dict.fromkeys(zip(rows["dataset"], rows["family"], strict=True)))
        wide = rows.groupby(["dataset", "family", "law"], sort=False)["mean_are"].mean().unstack("law")
        wide = wide.reindex(index=pd.MultiIndex.from_tuples(families, names=["dataset", "family"]), columns=laws)
        return wide.reset_index().rename_axis(columns=None)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary: counts, ARE per law, ARE per family and split, and every row."""
        families = []
        for split in dict.fromkeys(self.table["split"]):
            for record in self.pivot(split).to_dict(orient="records"):
                keys = {"dataset": record.pop("dataset"), "family": record.pop("family"), "split": split}
                families.append({**keys, "mean_are": record})
        return {"schema": "scalinglaws.sweep/1", "spec": self.source, "out": None if self.out is None else str(self.out),
                "jobs": len(self.table), "executed": self.executed, "skipped": self.skipped, "failed": len(self.failed),
                "dropped": self.dropped,
                "laws": self.summary().to_dict(orient="records"), "families": families,
                "rows": self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records")}


def run_sweep(
    spec: SweepSpec | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    ray: str | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    """Run every backtest of a sweep spec; failures become rows, never lost results.

    Parameters
    ----------
    spec:
        A :class:`SweepSpec` or the path of a YAML spec (see :mod:`scalinglaws.sweep.spec`).
    out:
        Results table (``.parquet`` or ``.csv``). Jobs already in it with
        status ``ok`` are skipped; rows of jobs that are not in ``spec`` (it
        changed since) are dropped, with a :class:`StaleResultsWarning`; the
        table is rewritten as jobs finish.
    workers:
        Local processes (default: all cores; 1 runs the jobs in this process).
        Ignored with ``ray``, where Ray schedules one CPU per job.
    ray:
        ``"auto"`` (a running cluster if one is found, else a local one) or a
        cluster address such as ``"ray://head:10001"``; needs the ``ray`` extra.
        Each family's table travels to the workers through Ray's object
        store, so the data files need not exist there, but scalinglaws must
        be installed on them. An already initialised Ray is used as it is.
    progress:
        Called as ``progress(done, total)`` after each job that runs.

    Returns
    -------
    SweepResult
        One row per job of ``spec``: see :data:`scalinglaws.sweep.jobs.ROW_COLUMNS`.

    Raises
    ------
    InputError
        For a malformed spec, a bad ``out`` suffix, ``workers < 1``, or ``ray``
        without Ray installed.

    Examples
    --------
    >>> result = run_sweep("benchmarks/sweep_families.yaml", out="families.parquet")  # doctest: +SKIP
    >>> result.summary()  # doctest: +SKIP
    """
    out_path = _out_path(out)
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    spec_obj = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    submit = _ray_runner(ray) if ray is not None else None
    plan = expand(spec_obj)
    order = {job.id: i for i, job in enumerate(plan.jobs)}
    previous, dropped = _previous_results(out_path, order)
    done_ids = set(previous.loc[previous["status"] == "ok", "id"])
    todo = [job for job in plan.jobs if job.id not in done_ids]
    rows = submit(todo, plan) if submit is not None else _run_local(todo, plan, _workers(workers, len(todo)))
    fresh = _collect(rows, len(todo), previous, out_path, progress)
    current = pd.concat([previous[previous["id"].isin(done_ids)], fresh], ignore_index=True)
    table = current[current["id"].isin(order)].sort_values("id", key=lambda ids: ids.map(order), kind="stable")
    return SweepResult(table.reset_index(drop=True), len(todo), len(plan.jobs) - len(todo), out_path, spec_obj.source, dropped)


def _previous_results(out: Path | None, job_ids: Mapping[str, int]) -> tuple[pd.DataFrame, int]:
    """The stored rows of this spec's jobs and how many others were dropped (the file is rewritten without them).

    A row whose job id is not a job of the spec is left from an earlier,
    different spec (a fixed typo, a removed law); keeping it would make the
    table describe jobs that this spec does not have.
    """
    if out is None or not out.exists():
        return _empty_table(), 0
    stored = read_results(out)
    current = stored[stored["id"].isin(job_ids)].reset_index(drop=True)
    dropped = len(stored) - len(current)
    if dropped:
        write_results(current, out)
        rows = "row" if dropped == 1 else "rows"
        warnings.warn(f"dropped {dropped} {rows} of {str(out)!r} whose jobs are not in this spec (a dataset, law, split or "
                      "bootstrap setting changed or was removed); the table now holds this spec's jobs only",
                      StaleResultsWarning, stacklevel=3)
    return current, dropped


def _collect(rows: Iterator[dict[str, object]], total: int, previous: pd.DataFrame, out: Path | None,
             progress: Progress | None) -> pd.DataFrame:
    """Gather rows as they arrive, writing the table every few seconds and once at the end (even on Ctrl-C)."""
    gathered: list[dict[str, object]] = []
    last_write = time.monotonic()
    finished = False
    if progress is not None:
        progress(0, total)
    try:
        for row in rows:
            gathered.append(row)
            if progress is not None:
                progress(len(gathered), total)
            if out is not None and time.monotonic() - last_write > CHECKPOINT_SECONDS:
                write_results(_merge(previous, gathered), out)
                last_write = time.monotonic()
        finished = True
    finally:
        if out is not None and (finished or gathered):
            write_results(_merge(previous, gathered), out)
    return _as_table(gathered)


def _merge(previous: pd.DataFrame, rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """The stored table with new rows replacing older rows of the same job."""
    fresh = _as_table(rows)
    kept = previous[~previous["id"].isin(set(fresh["id"]))]
    return pd.concat([kept, fresh], ignore_index=True) if len(kept) else fresh


def _run_local(jobs: Sequence[Job], plan: SweepPlan, workers: int) -> Iterator[dict[str, object]]:
    """Rows as jobs finish: in this process with one worker, else in a process pool."""
    if workers == 1:
        for job in jobs:
            yield run_job(job, plan.frames[job.data_key])
        return
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(run_job, job, plan.frames[job.data_key]): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # a crashed worker loses its job only
                yield failed_row(futures[future], exc)
    finally:
        # On an interrupt, drop the jobs not started rather than wait for them.
        pool.shutdown(wait=True, cancel_futures=True)


#: Seconds to wait for a Ray head's port to answer before giving up (Ray itself retries for minutes).
RAY_CONNECT_TIMEOUT = 10.0


def _check_reachable(address: str, timeout: float = RAY_CONNECT_TIMEOUT) -> None:
    """Fail fast, with a clear message, when a HOST:PORT Ray address does not answer."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise InputError(f"cannot reach Ray at --ray {address!r} ({exc.strerror or type(exc).__name__} within {timeout:g} s); "
                         "check the head node is running and the port is open, or use --ray auto") from None


def _ray_runner(address: str) -> Callable[[Sequence[Job], SweepPlan], Iterator[dict[str, object]]]:
    """Check now that Ray is importable; return the function that runs the jobs as Ray tasks."""
    try:
        import ray
    except ImportError:
        raise InputError(RAY_MISSING) from None
    if not address.strip():
        raise InputError("--ray needs 'auto' or a cluster address such as ray://HOST:10001")
    _check_reachable(address)

    def run(jobs: Sequence[Job], plan: SweepPlan) -> Iterator[dict[str, object]]:
        started = not ray.is_initialized()
        if started:
            try:
                # log_to_driver=False keeps workers' output off this process's stdout (--json).
                ray.init(address=None if address == "auto" else address, log_to_driver=False)
            except Exception as exc:  # Ray raises ConnectionError, ValueError, RuntimeError...
                raise InputError(f"cannot start or reach Ray at --ray {address!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        try:
            task = ray.remote(num_cpus=1)(run_job)
            needed = {job.data_key for job in jobs}
            refs = {key: ray.put(plan.frames[key]) for key in needed}
            pending = {task.remote(job, refs[job.data_key]): job for job in jobs}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as exc:  # a lost worker or node loses its job only
                        yield failed_row(job, exc)
        finally:
            if started:
                ray.shutdown()

    return run


def _workers(workers: int | None, jobs: int) -> int:
    if workers is None:
        workers = os.cpu_count() or 1
    return max(1, min(workers, jobs))


def _out_path(out: str | os.PathLike[str] | None) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() not in OUT_SUFFIXES:
        raise InputError(f"--out must end in {' or '.join(OUT_SUFFIXES)}, got {str(path)!r}")
    if not path.parent.is_dir():
        raise InputError(f"the folder of --out does not exist: {str(path.parent)!r}")
    return path


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A results table written by a sweep (to resume from it).

    Raises
    ------
    InputError
        If the file cannot be read or lacks the sweep's columns.
    """
    path = Path(path)
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, dtype={c: "string" for c in TEXT_COLUMNS})
    except Exception as exc:  # the readers raise many types; we report one
        raise InputError(f"cannot read the results table {str(path)!r} to resume: {exc}; remove it or choose another --out") from exc
    missing = [c for c in ROW_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{str(path)!r} is not a sweep results table (no {', '.join(missing)}); remove it or choose another --out")
    return _as_table(frame.to_dict(orient="records"))


def write_results(table: pd.DataFrame, path: Path) -> None:
    """Write the table atomically (a partial file never replaces a good one)."""
    partial = path.with_name(f".{path.name}.partial")
    if path.suffix.lower() == ".parquet":
        table.to_parquet(partial, index=False)
    else:
        table.to_csv(partial, index=False)
    os.replace(partial, path)


def _as_table(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """Rows as a table with the sweep's columns and stable types (text, integers, floats)."""
    frame = pd.DataFrame(list(rows), columns=list(ROW_COLUMNS))
    for column in TEXT_COLUMNS:
        # A missing text (an empty CSV cell) reads back as "", or None for the error message.
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None if column == "error" else "")
    for column in ("bootstrap", "n_fit", "n_heldout"):
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype(np.int64)
    for column in ("mean_are", "max_are", "coverage", "seconds"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


def _empty_table() -> pd.DataFrame:
    return _as_table([])
