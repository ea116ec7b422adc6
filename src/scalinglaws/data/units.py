"""Unit-aware parsing of sizes and conversion of losses to nats per token.

Sizes: ``"2.8B"``, ``"125m"``, ``"1.5T"``, ``"7e9"``, ``"1,000"``. In model and
dataset names a lower-case ``m`` means million (``opt-125m``), so ``k``, ``m``,
``b``/``g``, ``t`` are thousand, million, billion, trillion in either case.

Losses: perplexity -> ``ln(ppl)``; bits per token -> ``bits * ln 2``; bits per
byte -> ``bpb * ln 2 * bytes_per_token`` (the tokenizer's average bytes per
token, which the user must give: there is no universal value).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from ..errors import InputError

SUFFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtT]?)\s*$")

LOSS_UNITS = ("nats", "perplexity", "bits", "bpb")


def parse_quantity(text: object) -> float:
    """A number with an optional k/M/B/T suffix, as a float; NaN if it is not one.

    Examples
    --------
    >>> parse_quantity("2.8B"), parse_quantity("125m"), parse_quantity("1,000"), parse_quantity("7e9")
    (2800000000.0, 125000000.0, 1000.0, 7000000000.0)
    """
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        return float(text)
    match = _QUANTITY.match(str(text))
    if not match:
        return math.nan
    number, suffix = match.groups()
    return float(number.replace(",", "").replace("_", "")) * SUFFIXES[suffix.lower()]


def parse_quantities(series: pd.Series) -> tuple[pd.Series, bool]:
    """Parse a column of sizes; returns the floats and whether any suffix was used.

    Values that are not quantities become NaN here; the validator then names them.
    """
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float), False
    text = series.astype(str)
    parsed = series.map(parse_quantity).astype(float)
    parsed[series.isna()] = np.nan
    used_suffix = bool(text.str.strip().str.contains(r"\d\s*[kKmMbBgGtT]$", regex=True).any())
    # Keep unparseable entries as they were so that the validator can quote them.
    out = series.where(parsed.isna() & series.notna(), parsed)
    return out, used_suffix


def looks_like_percent(values: np.ndarray) -> bool:
    """Whether scores meant as fractions in [0, 1] look like percentages: all finite ones in [0, 100], at least half above 1."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return bool(finite.size and finite.min() >= 0 and finite.max() <= 100 and np.mean(finite > 1) >= 0.5)


def loss_to_nats(values: np.ndarray, unit: str, *, bytes_per_token: float | None = None) -> np.ndarray:
    """Convert a loss column to nats per token (the library's unit).

    Raises
    ------
    InputError
        For an unknown unit, or bits per byte without ``bytes_per_token``.
    """
    if unit not in LOSS_UNITS:
        raise InputError(f"unknown loss unit {unit!r}; use one of {', '.join(LOSS_UNITS)}")
    values = np.asarray(values, dtype=float)
    if unit == "nats":
        return values
    if unit == "perplexity":
        return np.log(values)
    if unit == "bits":
        return values * math.log(2.0)
    if bytes_per_token is None:
        raise InputError("converting bits per byte to nats per token needs --bytes-per-token (the tokenizer's average bytes per token, e.g. 4.2)")
    if not (bytes_per_token > 0 and math.isfinite(bytes_per_token)):
        raise InputError(f"--bytes-per-token must be a number > 0 (the tokenizer's average bytes per token, e.g. 4.2), got {bytes_per_token:g}")
    return values * math.log(2.0) * bytes_per_token
