"""Bootstrap by run: resample whole runs, refit each replicate from scratch.

Checkpoints of one run are strongly correlated, so resampling rows would
pretend to have far more independent information than the data holds; runs
are the unit of resampling (rows only when the data has no ``run`` column).
Every replicate is refitted with the full global search of :func:`fit`,
never warm-started from the point estimate, so that replicates can land in
other basins when the data allows it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from ..data.readers import read_runs
from ..data.runs import Runs
from ..errors import ConvergenceWarning, InputError, ScalingLawsError, ScalingLawWarning
from ..fitting.fit import fit
from ..fitting.result import Bootstrap, Fit, FitWarning
from ..laws.base import Law, get_law

Progress = Callable[[int, int], None]


def resampling_groups(runs: Runs, by: str = "auto") -> tuple[np.ndarray, str]:
    """Group label per row and a name for what is resampled."""
    if by == "auto":
        return runs.groups(), "run" if runs.has("run") else "row"
    if by == "row":
        return np.arange(len(runs)), "row"
    if by not in runs.table.columns:
        raise InputError(f"cannot resample by {by!r}: no such column; use 'auto', 'row' or one of {', '.join(map(str, runs.table.columns))}")
    return pd.factorize(runs.table[by].astype(str))[0], by


def _fit_replicate(table: pd.DataFrame, rows: np.ndarray, law: Law | str, options: Mapping[str, object]) -> np.ndarray:
    law = get_law(law)
    # A resampled run drawn k times weighs as k copies of its rows: the same objective
    # as stacking the copies, with each distinct row evaluated once.
    counts = np.bincount(rows, minlength=len(table))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        try:
            result = fit(Runs(table), law, diagnostics=False, counts=counts, **options)  # type: ignore[arg-type]
        except ScalingLawsError:
            return np.full(len(law.parameters), np.nan)
    if not result.converged:
        return np.full(len(law.parameters), np.nan)
    return np.array([result.params[p.name] for p in law.parameters])


def _fit_batch(args: tuple) -> list[np.ndarray]:
    table, batch, law, options = args
    return [_fit_replicate(table, rows, law, options) for rows in batch]


def bootstrap(
    runs: Runs | pd.DataFrame | str,
    law: str | Law,
    *,
    replicates: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    by: str = "auto",
    workers: int | None = None,
    progress: Progress | None = None,
    columns: Mapping[str, str] | None = None,
    **fit_options: object,
) -> Fit:
    """Fit ``law`` and attach bootstrap replicates of its parameters.

    Parameters
    ----------
    runs, law:
        As for :func:`scalinglaws.fit`.
    replicates:
        Number of bootstrap resamples (each a full multi-start refit).
    level:
        Coverage of the intervals, in (0, 1).
    seed:
        Seed of the resampling; the same seed gives identical replicates.
    by:
        ``"auto"`` (runs when the data has a ``run`` column, else rows),
        ``"row"``, or a column whose values name the resampling units.
    workers:
        Processes to use (default: all cores, when the law is in the catalogue).
    progress:
        Called as ``progress(done, total)`` after each batch of replicates.

    Returns
    -------
    Fit
        The point fit with ``bootstrap`` set; ``fit.intervals()`` gives
        percentile intervals, and replicates that did not converge are NaN rows
        (counted in ``fit.bootstrap.converged``).

    Examples
    --------
    >>> import scalinglaws as sl
    >>> from scalinglaws.uncertainty import bootstrap
    >>> f = bootstrap("dataset:gemstones", "chinchilla", replicates=20, seed=0, workers=1)
    >>> f.bootstrap.converged
    20
    """
    if not isinstance(replicates, int) or replicates < 2:
        raise InputError(f"--bootstrap must be an integer >= 2 (replicates), got {replicates!r}")
    if not (0 < level < 1):
        raise InputError(f"--level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer (e.g. seed=0; the same seed gives the same replicates), got {seed!r}")
    runs = read_runs(runs, columns=columns)
    law_obj = get_law(law)
    point = fit(runs, law_obj, **fit_options)  # type: ignore[arg-type]
    groups, unit = resampling_groups(runs, by)
    labels, members = np.unique(groups, return_inverse=True)
    index = [np.flatnonzero(members == g) for g in range(labels.size)]
    if labels.size < 3:
        raise InputError(f"a bootstrap by {unit} needs at least 3 {unit}s; the data has {labels.size}. Use by='row' or add runs")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, labels.size, size=(replicates, labels.size))
    samples = [np.concatenate([index[g] for g in draw]) for draw in draws]
    law_ref: Law | str = law_obj.name if _in_catalogue(law_obj) else law_obj
    workers = _workers(workers, law_ref, replicates)
    batch_size = max(1, min(25, replicates // (4 * workers) or 1))
    batches = [samples[i : i + batch_size] for i in range(0, replicates, batch_size)]
    results: list[np.ndarray] = []
    table = runs.table
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for out in pool.map(_fit_batch, [(table, b, law_ref, fit_options) for b in batches]):
                results.extend(out)
                if progress:
                    progress(len(results), replicates)
    else:
        for b in batches:
            results.extend(_fit_batch((table, b, law_ref, fit_options)))
            if progress:
                progress(len(results), replicates)
    boot = Bootstrap(np.vstack(results), float(level), unit, int(seed), point.residual_std)
    extra: list[FitWarning] = []
    failed = replicates - boot.converged
    if failed:
        message = f"{failed} of {replicates} bootstrap replicates did not converge; intervals use the {boot.converged} that did"
        extra.append(FitWarning(ConvergenceWarning.code, message))
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    if boot.converged < 2:
        raise InputError("fewer than 2 bootstrap replicates converged; the data cannot support intervals for this law")
    provenance = dict(point.provenance)
    provenance["bootstrap"] = f"{replicates} replicates resampled by {unit}, seed {seed}, full multi-start refit each"
    return point.with_(bootstrap=boot, warnings=point.warnings + tuple(extra), provenance=provenance)


def _in_catalogue(law: Law) -> bool:
    try:
        return get_law(law.name).formula == law.formula
    except ScalingLawsError:
        return False


def _workers(workers: int | None, law: Law | str, replicates: int) -> int:
    if workers is not None:
        if workers < 1:
            raise InputError(f"workers must be >= 1, got {workers}")
        return workers if isinstance(law, str) else 1
    if not isinstance(law, str) or replicates < 50:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))
