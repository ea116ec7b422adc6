"""Backtests: fit on the smaller runs, predict the larger ones, compare laws.

The error measure is the absolute relative error ARE = |pred - actual| /
actual of Choshen et al. (2024) (REFERENCE.md §6), per held-out target and on
average; laws are ranked by mean ARE.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.readers import read_runs
from ..data.runs import NUMERIC_ROLES, Runs
from ..errors import FitError, InputError, ScalingLawsError, ScalingLawWarning
from ..arguments import check_replicates
from ..fitting.fit import check_target, fit
from ..fitting.result import FitWarning
from ..laws.base import Law, get_law

TRUE_VALUES = {"1", "true", "yes", "fit", "train", "training"}
#: What "larger" can mean for the held-out runs.
SPLIT_BY = ("C", "N", "D")
FALSE_VALUES = {"0", "false", "no", "test", "heldout", "held-out", "holdout", "eval"}


@dataclass(frozen=True)
class LawBacktest:
    """One law's backtest: the held-out targets and its errors."""

    law: str
    status: str
    n_fit: int
    n_heldout: int
    mean_are: float
    max_are: float
    coverage: float | None
    targets: pd.DataFrame  # inputs, actual, predicted, are (+ lower, upper, inside)
    params: Mapping[str, float] = field(default_factory=dict)
    #: Diagnostics of the fit on the smaller runs, and how far the held-out targets extrapolate.
    warnings: tuple[FitWarning, ...] = ()

    @property
    def ranked(self) -> bool:
        """Whether the law converged and predicted every held-out target, so that it can be ranked."""
        return self.status == "converged" and bool(np.isfinite(self.mean_are))

    def to_dict(self) -> dict[str, object]:
        return {
            "law": self.law, "status": self.status, "n_fit": self.n_fit, "n_heldout": self.n_heldout,
            "mean_are": _clean(self.mean_are), "max_are": _clean(self.max_are), "coverage": self.coverage,
            "params": {k: _clean(v) for k, v in self.params.items()},
            "warnings": [w.to_dict() for w in self.warnings],
            "targets": [{k: _clean(v) for k, v in row.items()} for row in self.targets.to_dict(orient="records")],
        }


def _clean(value: object) -> object:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass(frozen=True)
class Backtest:
    """Backtest of several laws on one split, ranked by mean ARE."""

    split: str
    results: tuple[LawBacktest, ...]
    level: float | None = None

    def summary(self) -> pd.DataFrame:
        """One row per law: the ranked laws by mean ARE, then those that failed or did not converge (rank missing)."""
        rows = [
            {"law": r.law, "mean_are": r.mean_are, "max_are": r.max_are, "n_fit": r.n_fit, "n_heldout": r.n_heldout,
             "coverage": r.coverage, "status": r.status, "_ranked": r.ranked}
            for r in self.results
        ]
        frame = pd.DataFrame(rows).sort_values(["_ranked", "mean_are"], ascending=[False, True], na_position="last", kind="stable")
        ranked = int(frame["_ranked"].sum())
        frame = frame.drop(columns="_ranked").reset_index(drop=True)
        frame.index = pd.array([*range(1, ranked + 1), *[None] * (len(frame) - ranked)], dtype="Int64")
        frame.index.name = "rank"
        return frame

    @property
    def unranked(self) -> tuple[LawBacktest, ...]:
        """The laws that failed or did not converge: they get no rank."""
        return tuple(r for r in self.results if not r.ranked)

    @property
    def best(self) -> str:
        """The law with the lowest mean ARE among those that converged.

        Raises
        ------
        FitError
            If no law converged.
        """
        ranking = self.ranking()
        if not ranking:
            raise FitError("no law converged in the backtest, so none ranks first: " + "; ".join(f"{r.law}: {r.status}" for r in self.results))
        return ranking[0]

    def ranking(self) -> list[str]:
        """The converged laws, best (lowest mean ARE) first."""
        summary = self.summary()
        return [str(law) for law in summary.loc[summary.index.notna(), "law"]]

    def to_dict(self) -> dict[str, object]:
        ranked = {law: i + 1 for i, law in enumerate(self.ranking())}
        return {
            "split": self.split, "level": self.level,
            "ranking": list(ranked),
            "laws": [dict(r.to_dict(), rank=ranked.get(r.law)) for r in self.results],
        }


def split_mask(runs: Runs, *, by: str = "C", holdout: float = 0.2, split: str | None = None) -> tuple[np.ndarray, str]:
    """Boolean mask of held-out rows and a description of the split.

    ``split`` names a column whose true values (1, true, fit, train) mark rows
    to fit and false values (0, false, test, heldout) rows to hold out.
    Otherwise whole runs (or rows, without a ``run`` column) are ranked by
    their largest ``by`` value and the top ``holdout`` fraction is held out.
    """
    table = runs.table
    if split is not None:
        if split not in table.columns:
            raise InputError(f"split column {split!r} is not in the data; the data has: {', '.join(map(str, table.columns))}")
        text = table[split].astype(str).str.strip().str.lower()
        unknown = sorted(set(text) - TRUE_VALUES - FALSE_VALUES)
        if unknown:
            raise InputError(f"split column {split!r} must hold 1/0 (true = fit, false = held out); found {unknown[:3]}")
        mask = text.isin(FALSE_VALUES).to_numpy()
        description = f"column {split!r} (false = held out)"
    else:
        check_split(by, holdout)
        runs.require([by])
        groups = runs.groups()
        size = pd.Series(table[by].to_numpy(dtype=float)).groupby(groups).max()
        n_out = max(1, int(round(holdout * size.size)))
        held_groups = set(size.sort_values(kind="stable").index[-n_out:])
        mask = np.isin(groups, list(held_groups))
        unit = "runs" if runs.has("run") else "rows"
        description = f"largest {n_out} of {size.size} {unit} by {by} held out"
    if mask.all() or not mask.any():
        raise InputError(f"the split ({description}) leaves {'nothing to fit' if mask.all() else 'nothing held out'}; adjust --holdout or the split column")
    return mask, description


def check_split(by: str, holdout: float) -> None:
    """Check the ``by`` and ``holdout`` of a split by size, before any data is read.

    Raises
    ------
    InputError
        Naming ``--holdout`` or ``--by``.
    """
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float, np.number)) or not (0 < holdout < 1):
        raise InputError(f"--holdout must be a fraction between 0 and 1, got {holdout!r}")
    if by not in NUMERIC_ROLES:  # C, N, D, or another size role such as U (whose presence require() checks)
        raise InputError(f"--by must be {', '.join(SPLIT_BY[:-1])} or {SPLIT_BY[-1]} (what 'larger' means for the held-out runs), got {by!r}")


def drop_early(runs: Runs, *, min_tokens: float | None = None, drop_fraction: float = 0.0) -> Runs:
    """Drop the earliest checkpoints of each run (Choshen et al. 2024 recommend ~10%)."""
    if min_tokens is None and not drop_fraction:
        return runs
    keep = np.ones(len(runs), dtype=bool)
    if min_tokens is not None:
        keep &= runs.values("D") >= min_tokens
    if drop_fraction:
        if not (0 <= drop_fraction < 1):
            raise InputError(f"drop fraction must be in [0, 1), got {drop_fraction!r}")
        if not runs.has("run"):
            raise InputError("--drop-fraction drops the early part of each run, but the data has no 'run' column "
                             "(map one with --col run=COLUMN, or use --min-tokens for a single curve)")
        order = "D" if runs.has("D") else "step"
        runs.require([order])
        values = runs.table[order].to_numpy(dtype=float)
        groups = runs.groups()
        for g in np.unique(groups):
            rows = groups == g
            cut = np.quantile(values[rows], drop_fraction)
            keep &= ~rows | (values > cut) | (values == values[rows].max())
    dropped = int((~keep).sum())
    out = runs.subset(keep)
    return Runs(out.table, out.source, out.mapping, out.notes + (f"dropped {dropped} early checkpoint(s) before fitting",), out.origin)


def backtest(
    runs: Runs | pd.DataFrame | str,
    laws: Sequence[str | Law],
    *,
    by: str = "C",
    holdout: float = 0.2,
    split: str | None = None,
    min_tokens: float | None = None,
    drop_fraction: float = 0.0,
    bootstrap: int = 0,
    level: float = 0.95,
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    **fit_options: object,
) -> Backtest:
    """Fit each law on the smaller runs and score its predictions of the larger ones.

    Parameters
    ----------
    runs: the data (anything :func:`scalinglaws.read_runs` accepts).
    laws: law names or objects to compare.
    by: ``"C"`` (default), ``"N"`` or ``"D"``: what "larger" means.
    holdout: fraction of runs held out (the largest).
    split: a column marking fit (1) and held-out (0) rows instead.
    min_tokens, drop_fraction: drop early checkpoints of each run before fitting.
    bootstrap: replicates for prediction intervals (0: none); then each
        target records whether it fell inside the new-run interval.

    Examples
    --------
    >>> result = backtest("dataset:gemstones", ["chinchilla", "kaplan"], by="N")
    >>> result.summary().columns.tolist()[:3]
    ['law', 'mean_are', 'max_are']
    """
    from ..predict import domain_warnings, extrapolation_warnings
    from ..uncertainty import bootstrap as run_bootstrap
    from ..uncertainty import prediction_interval

    law_objs = check_options(laws, bootstrap=bootstrap, level=level, target=str(fit_options.get("target", "loss")))
    runs = read_runs(runs, columns=columns)
    mask, description = split_mask(runs, by=by, holdout=holdout, split=split)
    train = drop_early(runs.subset(~mask), min_tokens=min_tokens, drop_fraction=drop_fraction)
    if len(train) == 0:
        raise InputError(f"dropping early checkpoints (--min-tokens {min_tokens:g}) leaves nothing to fit; lower --min-tokens or drop it"
                         if min_tokens is not None else "dropping early checkpoints (--drop-fraction) leaves nothing to fit; lower --drop-fraction")
    test = runs.subset(mask)
    results = []
    for law_obj in law_objs:
        inputs = test.inputs(law_obj.variables)
        actual = test.values(fit_options.get("target", "loss"))  # type: ignore[arg-type]
        # Bad values in the runs to fit (NaN, text, a missing column) are bad input, not a failure of this law.
        train.inputs(law_obj.variables), train.values(fit_options.get("target", "loss"))  # type: ignore[arg-type]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalingLawWarning)
            try:
                fitted = run_bootstrap(train, law_obj, replicates=bootstrap, level=level, seed=seed, **fit_options) if bootstrap else fit(train, law_obj, **fit_options)  # type: ignore[arg-type]
            except ScalingLawsError as exc:
                results.append(LawBacktest(law_obj.name, f"failed: {exc}", len(train), len(test), np.nan, np.nan, None, pd.DataFrame()))
                continue
            predicted = np.asarray(law_obj.function(dict(fitted.params), inputs), dtype=float)
        are = np.abs(predicted - actual) / actual
        targets = pd.DataFrame({**inputs, "actual": actual, "predicted": predicted, "are": are})
        coverage = None
        if bootstrap:
            lo, hi = prediction_interval(fitted, inputs, kind="new_run", seed=seed)
            targets["lower"], targets["upper"] = lo, hi
            targets["inside"] = (actual >= lo) & (actual <= hi)
            coverage = float(targets["inside"].mean())
        found = fitted.warnings + extrapolation_warnings(fitted, inputs) + domain_warnings(fitted, predicted)
        results.append(LawBacktest(law_obj.name, fitted.status, len(train), len(test), float(np.mean(are)), float(np.max(are)), coverage, targets,
                                   dict(fitted.params), found))
    return Backtest(description, tuple(results), level if bootstrap else None)


def check_options(laws: Sequence[str | Law], *, bootstrap: int = 0, level: float = 0.95, target: str = "loss") -> list[Law]:
    """The laws to backtest, after checking the options that do not depend on the data.

    Raises
    ------
    InputError
        For no law, an unknown law, a law that cannot be fitted to ``target``,
        or a bootstrap count or level out of range.
    """
    if isinstance(laws, (str, Law)):  # one law, as fit() and bootstrap() take it
        laws = [laws]
    if not laws:
        raise InputError("give at least one law to backtest (--law NAME)")
    check_replicates(bootstrap)
    if bootstrap and not (0 < level < 1):
        raise InputError(f"--level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    law_objs = [get_law(law) for law in laws]
    for law_obj in law_objs:
        check_target(law_obj, target)
    return law_objs


def backtest_groups(
    runs: Runs | pd.DataFrame | str,
    laws: Sequence[str | Law],
    *,
    group: Sequence[str],
    columns: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: object,
) -> pd.DataFrame:
    """Run :func:`backtest` separately on each group (e.g. each task of a benchmark).

    ``progress(done, total)`` is called after each group.

    Returns one row per (group, law) with the group keys, ``law``, ``mean_are``,
    ``max_are``, ``n_fit``, ``n_heldout``, ``coverage`` and ``status``.
    """
    law_objs = check_options(laws, bootstrap=options.get("bootstrap", 0), level=options.get("level", 0.95), target=str(options.get("target", "loss")))  # type: ignore[arg-type]
    runs = read_runs(runs, columns=columns)
    missing = [g for g in group if g not in runs.table.columns]
    if missing:
        raise InputError(f"group column(s) {', '.join(map(repr, missing))} not in the data; the data has: {', '.join(map(str, runs.table.columns))}")
    rows = []
    parts = list(runs.table.groupby(list(group), sort=True))
    for done, (key, part) in enumerate(parts, start=1):
        if progress is not None and done > 1:
            progress(done - 1, len(parts))
        key = key if isinstance(key, tuple) else (key,)
        sub = runs.subset(part.index.to_numpy(dtype=int))
        try:
            result = backtest(sub, law_objs, **options)  # type: ignore[arg-type]
        except InputError as exc:
            for law_obj in law_objs:
                rows.append({**dict(zip(group, key, strict=True)), "law": law_obj.name, "mean_are": np.nan, "max_are": np.nan,
                             "n_fit": 0, "n_heldout": 0, "coverage": None, "status": f"skipped: {exc}"})
            continue
        for r in result.results:
            rows.append({**dict(zip(group, key, strict=True)), "law": r.law, "mean_are": r.mean_are, "max_are": r.max_are,
                         "n_fit": r.n_fit, "n_heldout": r.n_heldout, "coverage": r.coverage, "status": r.status})
    if progress is not None:
        progress(len(parts), len(parts))
    return pd.DataFrame(rows)
