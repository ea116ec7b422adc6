"""The tidy, validated table of training runs.

Columns are named by the vocabulary of DESIGN.md (``N``, ``D``, ``C``,
``U``, ``step``, ``lr``, ``batch_size``, ``loss``, ``run``, ``family``,
``seed``); any other column is kept as a metric. Derived columns are recorded
in :attr:`Runs.notes` so that outputs can say what was computed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError

#: Roles with a numeric meaning; every one of them must be finite and > 0 when used.
NUMERIC_ROLES = ("N", "D", "C", "U", "step", "lr", "batch_size", "width", "depth", "loss_x", "loss")
GROUP_ROLES = ("run", "family", "seed")
ROLES = NUMERIC_ROLES + GROUP_ROLES

#: Flops per parameter per token of a dense transformer's training step.
FLOPS_PER_PARAM_TOKEN = 6.0


@dataclass(frozen=True)
class Runs:
    """A validated table of training runs (one row per run or checkpoint).

    Attributes
    ----------
    table:
        The data, columns named by role (``N``, ``D``, ``loss``...).
    source:
        Where it came from (a path, ``dataset:NAME`` or ``DataFrame``).
    mapping:
        Role -> original column name, for messages that name the user's column.
    notes:
        Human-readable notes on derived columns and cleaning steps.
    origin:
        Row of the source data (counting from 0, header excluded) of each
        table row, when reading reordered them (checkpoints sorted by step);
        ``None`` when the table's rows are in the source's order. Error
        messages quote these rows.
    """

    table: pd.DataFrame
    source: str = "DataFrame"
    mapping: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    origin: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.table)

    def has(self, role: str) -> bool:
        return role in self.table.columns

    def column_label(self, role: str) -> str:
        """The role and, if different, the user's column name, for messages."""
        original = self.mapping.get(role, role)
        return repr(role) if original == role else f"{role!r} (column {original!r})"

    def require(self, roles: Iterable[str]) -> None:
        """Check that ``roles`` exist and hold finite positive numbers.

        Raises
        ------
        InputError
            Naming the first offending column, the rows and what to do.
        """
        for role in roles:
            if role not in self.table.columns:
                derived = self.derived_roles()
                present = ", ".join(_column_name(str(c), self.mapping, derived) for c in self.table.columns)
                raise InputError(
                    f"missing column for {role!r}; the data has: {present}. "
                    f"Map one with --col {role}=COLUMN (Python: columns={{{role!r}: 'COLUMN'}})"
                )
            if role in GROUP_ROLES:
                missing = np.flatnonzero(self.table[role].isna().to_numpy())
                if missing.size:
                    raise InputError(f"column {self.column_label(role)} has {missing.size} missing value(s) at {_rows(missing, self.origin)}; "
                                     "fill or remove those rows")
                continue
            validate_positive(self.table[role], self.column_label(role), origin=self.origin)

    def derived_roles(self) -> set[str]:
        """The columns computed while reading (e.g. C from N and D), as the notes say."""
        return {m.group(1) for note in self.notes if (m := re.match(r"^(\w+) derived as ", note))}

    def resolve(self, column: str, argument: str) -> str:
        """The table column holding the user's ``column`` (renamed to its role if it was a well-known name).

        ``argument`` names the option in the error, e.g. ``--accuracy``.
        """
        if not isinstance(column, str) or not column:
            raise InputError(f"{argument} must name a column, got {column!r}")
        if column in self.table.columns:
            return column
        for role, original in self.mapping.items():
            if original == column:
                return role
        present = ", ".join(str(c) for c in self.table.columns)
        raise InputError(f"{argument} column {column!r} is not in the data; the data has: {present}")

    def values(self, role: str) -> np.ndarray:
        self.require([role])
        return self.table[role].to_numpy(dtype=float)

    def inputs(self, roles: Sequence[str]) -> dict[str, np.ndarray]:
        self.require(roles)
        return {r: self.table[r].to_numpy(dtype=float) for r in roles}

    def groups(self) -> np.ndarray:
        """Group label of each row for resampling: ``run`` if present, else the row."""
        if "run" in self.table.columns:
            return pd.factorize(self.table["run"].astype(str))[0]
        return np.arange(len(self.table))

    def subset(self, mask: np.ndarray | Sequence[int]) -> Runs:
        """The rows selected by a boolean mask or integer positions."""
        positions = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(list(mask), dtype=int)
        rows = self.table.iloc[positions]
        origin = tuple(int(i) for i in np.asarray(self.origin if self.origin is not None else np.arange(len(self.table)))[positions])
        return Runs(rows.reset_index(drop=True), self.source, dict(self.mapping), self.notes, origin)

    def sha256(self, roles: Sequence[str]) -> str:
        """Hash of the numeric content of ``roles`` (for provenance)."""
        digest = hashlib.sha256()
        for role in roles:
            digest.update(role.encode())
            digest.update(np.ascontiguousarray(self.table[role].to_numpy(dtype=float)).tobytes())
        return digest.hexdigest()


def _column_name(column: str, mapping: dict[str, str], derived: set[str]) -> str:
    """A table column as the user knows it: ``"Model Size (as N)"``, ``"D (derived)"`` or the name itself."""
    if column in derived:
        return f"{column} (derived)"
    original = mapping.get(column, column)
    return column if original == column else f"{original} (as {column})"


def validate_positive(series: pd.Series, label: str, *, origin: Sequence[int] | np.ndarray | None = None) -> None:
    """Raise a clear :class:`InputError` unless every value is a finite number > 0.

    Rows are quoted as data rows counted from 0 (header excluded): ``origin[i]``
    for the ``i``-th value when given (the source row of a reordered table),
    else the position ``i``.
    """
    numeric = pd.to_numeric(series, errors="coerce")
    bad_type = numeric.isna() & series.notna()
    if bad_type.any():
        rows = np.flatnonzero(bad_type.to_numpy())
        first = _first(rows, origin)
        raise InputError(
            f"column {label} has {len(rows)} non-numeric value(s), first {series.iloc[first]!r} "
            f"at {_row(first, origin)}; fix or remove those rows"
        )
    values = numeric.to_numpy(dtype=float)
    missing = np.flatnonzero(np.isnan(values))
    if missing.size:
        raise InputError(
            f"column {label} has {missing.size} missing (NaN) value(s) at {_rows(missing, origin)}; "
            "remove or fill those rows"
        )
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        raise InputError(f"column {label} has infinite value(s) at {_rows(infinite, origin)}; fix those rows")
    nonpositive = np.flatnonzero(values <= 0)
    if nonpositive.size:
        first = _first(nonpositive, origin)
        raise InputError(
            f"column {label} must be > 0 but has {nonpositive.size} zero or negative value(s), "
            f"first {values[first]:g} at {_row(first, origin)}; remove those rows or fix the units"
        )


#: What the row numbers in messages mean.
ROW_COUNTING = "counting data rows from 0, header excluded"


def _source_rows(index: np.ndarray, origin: Sequence[int] | np.ndarray | None) -> np.ndarray:
    index = np.asarray(index, dtype=int)
    return index if origin is None else np.asarray(origin, dtype=int)[index]


def _first(index: np.ndarray, origin: Sequence[int] | np.ndarray | None) -> int:
    """The table position, among ``index``, of the row that comes first in the source."""
    return int(index[int(np.argmin(_source_rows(index, origin)))])


def _row(position: int, origin: Sequence[int] | np.ndarray | None) -> str:
    """``"row 10 (counting data rows from 0, header excluded)"``: the source row of table row ``position``."""
    return f"row {int(_source_rows(np.array([position]), origin)[0])} ({ROW_COUNTING})"


def _rows(index: np.ndarray, origin: Sequence[int] | np.ndarray | None = None, limit: int = 5) -> str:
    """``"rows [3, 10] (counting data rows from 0, header excluded)"``, in the source's order."""
    rows = np.sort(_source_rows(index, origin))
    shown = ", ".join(str(int(i)) for i in rows[:limit])
    return f"rows [{shown}{', ...' if rows.size > limit else ''}] ({ROW_COUNTING})"


def derive_compute_columns(table: pd.DataFrame, mapping: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """Fill in the third of N, D, C from the other two with C = 6 N D.

    Returns the new table and notes saying what was derived. Values are
    validated first so that a derived column never hides bad input.
    """
    notes: list[str] = []
    have = {r for r in ("N", "D", "C") if r in table.columns}
    if len(have) < 2 or len(have) == 3:
        return table, notes
    out = table.copy()
    for role in have:
        label = repr(role) if mapping.get(role, role) == role else f"{role!r} (column {mapping[role]!r})"
        validate_positive(out[role], label, origin=out.index.to_numpy(dtype=int))
        out[role] = pd.to_numeric(out[role])
    if "D" not in have:
        out["D"] = out["C"] / (FLOPS_PER_PARAM_TOKEN * out["N"])
        notes.append("D derived as C / (6 N)")
    elif "N" not in have:
        out["N"] = out["C"] / (FLOPS_PER_PARAM_TOKEN * out["D"])
        notes.append("N derived as C / (6 D)")
    else:
        out["C"] = FLOPS_PER_PARAM_TOKEN * out["N"] * out["D"]
        notes.append("C derived as 6 N D")
    return out, notes
