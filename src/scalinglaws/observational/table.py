"""Reading and validating a table of models' benchmark scores, once, at the front door."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.readers import read_runs
from ..data.runs import ROLES, Runs
from ..data.units import looks_like_percent
from ..errors import InputError

#: Llama-2-7B's training compute, 6 x 7e9 params x 2e12 tokens: Ruan et al.'s default cutoff.
DEFAULT_CUTOFF = 8.4e22
#: Column names taken as the model's name when ``model`` is not given (case-insensitive).
MODEL_NAMES = ("model", "model_name", "name", "run")


@dataclass(frozen=True)
class ScoreTable:
    """The models usable for an observational fit: names, families, compute, scores and target."""

    source: str
    models: np.ndarray  # (n,) str
    families: np.ndarray | None  # (n,) str, or None without a family column
    compute: np.ndarray  # (n,) FLOPs
    scores: np.ndarray  # (n, p), NaN where missing
    target: np.ndarray  # (n,)
    benchmarks: tuple[str, ...]
    target_name: str
    notes: tuple[str, ...]


def _scores(data: Runs, column: str, label: str) -> np.ndarray:
    """A score column as floats in [0, 1], NaN where missing; non-numbers and other ranges are errors."""
    raw = data.table[column]
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = numeric.isna() & raw.notna()
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        raise InputError(f"{label} column {column!r} has {rows.size} non-numeric value(s), first {raw.iloc[rows[0]]!r} at row {rows[0]}; fix or remove those rows")
    values = numeric.to_numpy(dtype=float)
    if np.isinf(values).any():
        raise InputError(f"{label} column {column!r} has infinite value(s) at row {int(np.flatnonzero(np.isinf(values))[0])}; fix those rows")
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        row = int(np.flatnonzero((values < 0) | (values > 1))[0])
        advice = "divide percentages by 100" if looks_like_percent(finite) else "fix those rows"
        raise InputError(f"{label} column {column!r} must hold scores in [0, 1], got values from {finite.min():g} to {finite.max():g} "
                         f"(first {values[row]:g} at row {row}); {advice}")
    return values


#: Names of numeric columns that describe a model rather than score it (case-insensitive, anywhere in the name).
NOT_SCORES = re.compile(r"flop|compute|param|token|size|step|layer|d_model|width|depth|year|date|seed|batch|^n_|_n_|count", re.I)


def _benchmark_candidate(series: pd.Series, column: str) -> tuple[str, str]:
    """How a column not named by --benchmarks is treated: ``(kind, detail)``.

    ``score`` (numbers in [0, 1], used), ``text`` (not numbers, skipped), ``empty``
    (no value at all), ``other`` (numbers that are clearly not scores: a size, a
    count, a compute; skipped with a note), or an error message for a column that
    looks like a benchmark but is not on the [0, 1] scale.
    """
    numeric = pd.to_numeric(series, errors="coerce")
    text = numeric.isna() & series.notna()
    if numeric.notna().sum() == 0:
        return ("empty", "") if not series.notna().any() else ("text", "")
    values = numeric.to_numpy(dtype=float)
    seen = ~np.isnan(values)
    inside = seen & (values >= 0) & (values <= 1)
    if text.any():
        if inside.sum() == seen.sum():  # scores in [0, 1] with a stray word among them
            row = int(np.flatnonzero(text.to_numpy())[0])
            return ("error", f"column {column!r} holds scores in [0, 1] but also {int(text.sum())} non-numeric value(s), first {series.iloc[row]!r} "
                             f"at row {row}; fix those rows, or choose the benchmarks with --benchmarks")
        return ("text", "")
    if inside.sum() == seen.sum():
        return ("score", "")
    finite = values[seen]
    if NOT_SCORES.search(column) or np.all(finite == np.round(finite)) or not np.all(np.isfinite(finite)):
        return ("other", "")
    outside = np.flatnonzero(seen & ~inside)
    row, value = int(outside[0]), float(values[outside[0]])
    if looks_like_percent(finite):
        return ("error", f"column {column!r} looks like a benchmark in percent ({int((finite > 1).sum())} of {finite.size} scores above 1, "
                         f"first {value:g} at row {row}); divide percentages by 100, or choose the benchmarks with --benchmarks")
    if inside.sum() >= 0.5 * seen.sum():
        return ("error", f"column {column!r} looks like a benchmark (scores in [0, 1]) but {outside.size} value(s) lie outside [0, 1], "
                         f"first {value:g} at row {row}; fix those rows, or choose the benchmarks with --benchmarks")
    return ("other", "")


def _model_column(data: Runs, model: str | None) -> str | None:
    if model is not None:
        return data.resolve(model, "model")
    lowered = {str(c).lower(): c for c in data.table.columns}
    for name in MODEL_NAMES:
        if name in lowered:
            return str(lowered[name])
    return None


def read_scores(runs: Runs | pd.DataFrame | str, *, target: str, benchmarks: Sequence[str] | None,
                columns: dict[str, str] | None, model: str | None) -> ScoreTable:
    """Read the models, drop those without compute or target score (with a note), validate the rest."""
    data = read_runs(runs, columns=columns)
    target_col = data.resolve(target, "target")
    model_col = _model_column(data, model)
    family_col = "family" if "family" in data.table.columns else None
    if "C" not in data.table.columns:
        present = ", ".join(str(c) for c in data.table.columns)
        raise InputError(f"observational scaling needs each model's training compute: a C (FLOPs) column, or N and D; the data has: {present}. "
                         "Map one with --col C=COLUMN")
    column_notes: list[str] = []
    if benchmarks is None:
        skip = set(ROLES) | {target_col, model_col, family_col}
        chosen, empty, other = [], [], []
        for c in data.table.columns:
            if c in skip:
                continue
            kind, detail = _benchmark_candidate(data.table[c], str(c))
            if kind == "error":
                raise InputError(detail)
            {"score": chosen, "empty": empty, "other": other}.get(kind, []).append(str(c))
        if empty:
            column_notes.append(f"left out column(s) with no value at all: {', '.join(empty)}")
        if other:
            column_notes.append(f"left out numeric column(s) that are not scores in [0, 1]: {', '.join(other)} "
                                "(name the benchmarks with --benchmarks to choose them yourself)")
        if not chosen:
            raise InputError("found no benchmark columns (numeric scores in [0, 1]) besides the target; name them with --benchmarks A,B,C")
    else:
        if isinstance(benchmarks, str) or not len(benchmarks):
            raise InputError(f"benchmarks must be a non-empty list of column names, got {benchmarks!r}")
        chosen = [data.resolve(str(b), "benchmark") for b in benchmarks]
        duplicated = sorted({b for b in chosen if chosen.count(b) > 1})
        if duplicated:
            raise InputError(f"benchmark column(s) {', '.join(duplicated)} given more than once in --benchmarks")
    if target_col in chosen:
        raise InputError(f"target {target!r} is also among the benchmarks; leave it out of --benchmarks (the capabilities must not see the score they predict)")

    target_values = _scores(data, target_col, "target")
    score_matrix = np.column_stack([_scores(data, b, "benchmark") for b in chosen])
    raw_c = data.table["C"]
    compute = pd.to_numeric(raw_c, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(compute) & raw_c.notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"compute column {data.column_label('C')} has non-numeric value(s), first {raw_c.iloc[row]!r} at row {row}; fix or remove those rows")
    wrong = np.isfinite(compute) & (compute <= 0) | np.isinf(compute)
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputError(f"compute column {data.column_label('C')} must be finite and > 0 FLOPs, got {compute[row]:g} at row {row}")

    notes = list(data.notes) + column_notes
    keep = np.ones(len(compute), dtype=bool)
    for mask, why in ((np.isnan(compute), "no compute (C); the cutoff, the family lines and the log-C baseline need it"),
                      (np.isnan(target_values), f"no {target} score"),
                      (np.all(np.isnan(score_matrix), axis=1), "no benchmark score")):
        dropped = mask & keep
        if dropped.any():
            notes.append(f"left out {int(dropped.sum())} model(s) with {why}")
            keep &= ~mask
    if not keep.any():
        raise InputError(f"no model has compute, a {target} score and benchmark scores; check --target, --benchmarks and the C column")
    names = (data.table[model_col].astype(str).to_numpy() if model_col is not None
             else np.asarray([f"row {i}" for i in range(len(compute))]))
    if model_col is not None:
        kept = pd.Series(names[keep], index=np.flatnonzero(keep))
        repeated = kept[kept.duplicated(keep=False)]
        if not repeated.empty:
            listed = "; ".join(f"{name!r} at rows {', '.join(str(int(i)) for i in rows.index)}"
                               for name, rows in repeated.groupby(repeated, sort=False))
            notes.append(f"{repeated.nunique()} model name(s) in column {model_col!r} name more than one row, and each row is "
                         f"fitted as its own model: {listed}; rename them (or drop repeated rows) to tell them apart")
    families = None
    if family_col is not None:
        fam = data.table[family_col]
        families = fam.where(fam.notna(), names).astype(str).to_numpy()[keep]
    return ScoreTable(data.source, names[keep], families, compute[keep], score_matrix[keep], target_values[keep],
                      tuple(chosen), target, tuple(notes))


def check_split_options(cutoff: float | None, top: float | None) -> tuple[str, float]:
    """``("cutoff", FLOPs)`` or ``("top", fraction)``; both or neither given is resolved or refused here."""
    if cutoff is not None and top is not None:
        raise InputError("give either cutoff (hold out models above a compute) or top (hold out the most capable fraction), not both")
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, (int, float)) or not (0 < top < 1):
            raise InputError(f"top must be a fraction between 0 and 1 (e.g. 0.2 holds out the top 20% by PC1), got {top!r}")
        return "top", float(top)
    value = DEFAULT_CUTOFF if cutoff is None else cutoff
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise InputError(f"cutoff must be a compute in FLOPs > 0 (e.g. 8.4e22, Llama-2-7B), got {cutoff!r}")
    return "cutoff", float(value)


__all__ = ["DEFAULT_CUTOFF", "ScoreTable", "check_split_options", "read_scores"]
