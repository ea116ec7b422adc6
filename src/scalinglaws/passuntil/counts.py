"""Reading and validating pass counts for the PassUntil fit: one place, at the front door."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data.units import parse_quantities
from ..errors import InputError


def read_counts_table(runs: object) -> pd.DataFrame:
    from ..data.readers import as_frame

    if isinstance(runs, pd.DataFrame) and runs.empty:
        raise InputError("the DataFrame has no rows; give one row per model with its pass counts")
    return as_frame(runs, "runs")


def _column(frame: pd.DataFrame, name: object, argument: str) -> pd.Series:
    if not isinstance(name, str) or not name:
        raise InputError(f"{argument} must name a column, got {name!r}")
    if name not in frame.columns:
        raise InputError(f"{argument} column {name!r} is not in the data; the data has: {', '.join(map(str, frame.columns))}")
    return frame[name]


def _numbers(series: pd.Series, label: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError(f"{label} has {bad.size} missing or non-numeric value(s), first {_quote(series.iloc[bad[0]])} at row {bad[0]}; "
                         "fix or remove those rows")
    return values


def _quote(value: object) -> str:
    """A value as the user wrote it: numbers (NaN, inf) with :g, anything else quoted (no numpy repr)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return f"{float(value):g}"
    return repr(value.item() if isinstance(value, np.generic) else value)


def _whole(values: np.ndarray, label: str, *, minimum: int) -> np.ndarray:
    below = np.flatnonzero(values < minimum)
    if below.size:
        raise InputError(f"{label} must be >= {minimum} but has {below.size} value(s) below, first {values[below[0]]:g} at row {below[0]}")
    fractional = np.flatnonzero(np.abs(values - np.round(values)) > 1e-9 * np.maximum(1.0, np.abs(values)))
    if fractional.size:
        raise InputError(f"{label} must hold whole counts but has {values[fractional[0]]:g} at row {fractional[0]}; give counts, not rates")
    return np.round(values)


def counts_from_table(frame: pd.DataFrame, *, size: str, passes: str | None, attempts: str | int | None, rate: str | None,
            samples_until: str | None, solved: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, object], list[str]]:
    """Sizes, passes and attempts per row (per size with ``samples_until``), validated once."""
    modes = [name for name, value in (("passes", passes), ("rate", rate), ("samples_until", samples_until)) if value is not None]
    if len(modes) != 1:
        raise InputError("give the counts one way: passes= with attempts=, rate= with attempts=, or samples_until= "
                         f"(CLI: --passes, --rate or --samples-until); got {', '.join(modes) or 'none'}")
    raw = _column(frame, size, "size")
    parsed, _ = parse_quantities(raw)
    sizes = _numbers(parsed, f"size column {size!r}")
    nonpositive = np.flatnonzero(sizes <= 0)
    if nonpositive.size:
        raise InputError(f"size column {size!r} must be > 0 but has {sizes[nonpositive[0]]:g} at row {nonpositive[0]}")
    columns: dict[str, object] = {"size": size}
    notes: list[str] = []
    if samples_until is not None:
        if attempts is not None:
            raise InputError("samples_until= counts the attempts itself; drop attempts=")
        drawn = _whole(_numbers(_column(frame, samples_until, "samples_until"), f"samples_until column {samples_until!r}"),
                       f"samples_until column {samples_until!r}", minimum=1)
        success = np.ones(drawn.size, dtype=bool) if solved is None else _flags(_column(frame, solved, "solved"), solved)
        table = pd.DataFrame({"size": sizes, "k": success.astype(float), "n": drawn}).groupby("size", sort=True).sum()
        columns.update(samples_until=samples_until, solved=solved)
        notes.append(f"pooled {drawn.size} instances into {len(table)} sizes: passes = instances solved, attempts = samples drawn "
                     "(one shared pass rate per size)")
        return table.index.to_numpy(dtype=float), table["k"].to_numpy(), table["n"].to_numpy(), columns, notes
    if solved is not None:
        raise InputError("solved= goes with samples_until= (instances never solved); drop it or give samples_until=")
    if attempts is None:
        raise InputError(f"{modes[0]}= needs attempts= (a column, or one whole number such as the number of items)")
    if isinstance(attempts, str):
        tries = _numbers(_column(frame, attempts, "attempts"), f"attempts column {attempts!r}")
        tries = _whole(tries, f"attempts column {attempts!r}", minimum=1)
    elif isinstance(attempts, (int, np.integer)) and not isinstance(attempts, bool) and attempts >= 1:
        tries = np.full(sizes.size, float(attempts))
    else:
        raise InputError(f"attempts must be a column name or a whole number >= 1, got {attempts!r}")
    columns["attempts"] = attempts
    if passes is not None:
        label = f"passes column {passes!r}"
        count = _whole(_numbers(_column(frame, passes, "passes"), label), label, minimum=0)
        columns["passes"] = passes
    else:
        label = f"rate column {rate!r}"
        fraction = _numbers(_column(frame, rate, "rate"), label)
        outside = np.flatnonzero((fraction < 0) | (fraction > 1))
        if outside.size:
            raise InputError(f"{label} must hold fractions in [0, 1] but has {fraction[outside[0]]:g} at row {outside[0]}; divide percentages by 100")
        product = fraction * tries
        off = np.flatnonzero(np.abs(product - np.round(product)) > 1e-6 * np.maximum(1.0, tries) + 1e-9)
        if off.size:
            i = off[0]
            raise InputError(f"{label} times attempts is not a whole number of passes at row {i} ({fraction[i]:g} x {tries[i]:g} = {product[i]:g}); "
                             "check the number of attempts or give the pass counts")
        count = np.round(product)
        columns["rate"] = rate
        notes.append("passes = rate x attempts (checked to be whole numbers)")
    over = np.flatnonzero(count > tries)
    if over.size:
        i = over[0]
        raise InputError(f"passes exceed attempts at {over.size} row(s), first row {i} ({count[i]:g} > {tries[i]:g}); "
                         "passes count the successes among the attempts, so passes <= attempts")
    return sizes, count, tries, columns, notes


def _flags(series: pd.Series, name: str) -> np.ndarray:
    text = series.astype(str).str.strip().str.lower()
    truthy, falsy = {"1", "1.0", "true", "yes"}, {"0", "0.0", "false", "no"}
    unknown = sorted(set(text) - truthy - falsy)
    if unknown:
        raise InputError(f"solved column {name!r} must hold true/false (or 1/0); found {unknown[:3]}")
    return text.isin(truthy).to_numpy()


def sizes_from(values: object, argument: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{argument} must be sizes (numbers > 0), got {values!r}") from None
    if not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise InputError(f"{argument} must be finite sizes > 0, got {values!r}")
    return out


def dispersion_option(dispersion: float | str) -> float | None:
    if dispersion == "auto":
        return None
    if isinstance(dispersion, (int, float)) and not isinstance(dispersion, bool) and math.isfinite(dispersion) and dispersion >= 1:
        return float(dispersion)
    raise InputError(f"dispersion must be 'auto' or a number >= 1 (1: pure binomial), got {dispersion!r}")


def check_identifiable(sizes: np.ndarray, k: np.ndarray, n: np.ndarray, max_size: float | None) -> None:
    where = f" at or below max_size={max_size:g}" if max_size is not None else ""
    if np.unique(sizes).size < 2:
        raise InputError(f"the fit needs pass counts at 2 or more model sizes{where}; got {np.unique(sizes).size}")
    if k.sum() == 0:
        raise InputError(f"no passes at all{where}: the pass rate cannot be told from 0; sample more per model "
                         "(PassUntil: sample until the first success)")
    if k.sum() == n.sum():
        raise InputError(f"every attempt passed{where}: the pass rate cannot be told from 1; evaluate on harder items or smaller models")


