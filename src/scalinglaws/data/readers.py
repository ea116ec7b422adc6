"""Read runs from files and DataFrames into a :class:`Runs` table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .runs import ROLES, Runs, derive_compute_columns

#: Column names recognised without ``--col``, compared case-insensitively.
WELL_KNOWN: dict[str, tuple[str, ...]] = {
    "N": ("n", "params", "parameters", "n_params", "num_params", "model_size", "model size", "params_active_precise"),
    "D": ("d", "tokens", "n_tokens", "num_tokens", "training_tokens", "train_tokens"),
    "C": ("c", "flops", "compute", "training_flops", "training flop", "training flops"),
    "U": ("u", "unique_tokens"),
    "step": ("step", "steps", "_step", "iteration", "global_step"),
    "lr": ("lr", "learning_rate"),
    "batch_size": ("batch_size", "bs", "batch"),
    "loss": ("loss", "val_loss", "validation_loss", "eval_loss"),
    "run": ("run", "run_name", "run_id"),
    "family": ("family",),
    "seed": ("seed",),
}

READERS = {
    ".csv": lambda p: pd.read_csv(p),
    ".tsv": lambda p: pd.read_csv(p, sep="\t"),
    ".parquet": lambda p: pd.read_parquet(p),
    ".json": lambda p: _read_json(p, lines=False),
    ".jsonl": lambda p: _read_json(p, lines=True),
    ".ndjson": lambda p: _read_json(p, lines=True),
}


def _read_json(path: Path, *, lines: bool) -> pd.DataFrame:
    try:
        return pd.read_json(path, lines=lines)
    except ValueError:
        # A JSON file may hold one object per line even without the .jsonl suffix.
        return pd.read_json(path, lines=not lines)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV, TSV, Parquet, JSON or JSONL file into a DataFrame.

    Raises
    ------
    InputError
        If the file does not exist, has an unknown suffix, or cannot be parsed.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: {str(p)!r}; check the path (or use dataset:NAME for a bundled dataset)")
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise InputError(
            f"cannot read {str(p)!r}: unknown file type {p.suffix!r}; use one of {', '.join(sorted(READERS))}"
        )
    try:
        frame = reader(p)
    except Exception as exc:  # the libraries raise many types; we report one
        raise InputError(f"cannot read {str(p)!r} as {p.suffix[1:]}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    if frame.empty:
        raise InputError(f"{str(p)!r} has no rows; a fit needs at least a few runs")
    return frame


def map_columns(frame: pd.DataFrame, columns: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename columns to roles: explicit ``columns`` first, then well-known names.

    Raises
    ------
    InputError
        If a role is unknown or an explicit column is not in the data.
    """
    columns = dict(columns or {})
    mapping: dict[str, str] = {}
    for role, column in columns.items():
        if role not in ROLES:
            raise InputError(f"unknown role {role!r} in column mapping; roles are: {', '.join(ROLES)}")
        if column not in frame.columns:
            present = ", ".join(str(c) for c in frame.columns)
            raise InputError(f"column {column!r} (given for {role!r}) is not in the data; the data has: {present}")
        mapping[role] = column
    taken = set(mapping.values())
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    for role, names in WELL_KNOWN.items():
        if role in mapping:
            continue
        for name in names:
            original = lowered.get(name)
            if original is not None and original not in taken:
                mapping[role] = original
                taken.add(original)
                break
    renamed = {original: role for role, original in mapping.items()}
    # A column that already carries a role name but was not mapped keeps its name
    # only if no other column took that role.
    clashes = [c for c in frame.columns if c in ROLES and c not in renamed and c in mapping]
    table = frame.drop(columns=clashes).rename(columns=renamed)
    return table, mapping


def read_runs(
    source: str | os.PathLike[str] | pd.DataFrame | Runs,
    *,
    columns: Mapping[str, str] | None = None,
) -> Runs:
    """Read runs from a path, ``dataset:NAME``, a DataFrame or a :class:`Runs`.

    Parameters
    ----------
    source:
        CSV, TSV, Parquet, JSON or JSONL file; ``"dataset:NAME"`` for a
        bundled dataset; a :class:`pandas.DataFrame`; or a :class:`Runs`.
    columns:
        Role -> column name for columns not named by the vocabulary, e.g.
        ``{"N": "Model Size", "C": "Training FLOP"}``.

    Returns
    -------
    Runs
        With the third of N, D, C derived from the other two (C = 6 N D) and
        a note saying so.

    Examples
    --------
    >>> import pandas as pd
    >>> runs = read_runs(pd.DataFrame({"Model Size": [1e8, 2e8], "Training FLOP": [6e18, 2.4e19], "loss": [3.1, 2.9]}),
    ...                  columns={"N": "Model Size", "C": "Training FLOP"})
    >>> runs.notes
    ('D derived as C / (6 N)',)
    """
    if isinstance(source, Runs):
        return source if not columns else read_runs(source.table, columns=columns)
    if isinstance(source, pd.DataFrame):
        frame, label = source, "DataFrame"
        if frame.empty:
            raise InputError("the DataFrame has no rows; a fit needs at least a few runs")
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith("dataset:"):
            from ..datasets import load

            runs = load(text.removeprefix("dataset:"))
            return runs if not columns else read_runs(runs.table, columns=columns)
        frame, label = read_table(text), text
    else:
        raise InputError(f"runs must be a path, 'dataset:NAME' or a DataFrame, got {type(source).__name__}")
    table, mapping = map_columns(frame, columns)
    table, notes = derive_compute_columns(table, mapping)
    return Runs(table.reset_index(drop=True), label, mapping, tuple(notes))
