"""Read runs from files and DataFrames into a :class:`Runs` table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .runs import ROLES, ROW_COUNTING, Runs, derive_compute_columns
from .units import loss_to_nats, parse_quantities

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


def as_frame(source: object, what: str) -> pd.DataFrame:
    """``source`` as a DataFrame: read it with :func:`read_table` if it is a path; ``what`` names it in the error."""
    if isinstance(source, (str, os.PathLike)):
        return read_table(source)
    if isinstance(source, pd.DataFrame):
        return source
    raise InputError(f"{what} must be a table path (CSV, Parquet...) or a DataFrame, got {type(source).__name__}")


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
    columns = dict(_check_columns(columns) or {})
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


def _check_columns(columns: object) -> Mapping[str, str] | None:
    """``columns`` if it is ``None`` or a mapping; otherwise an :class:`InputError` saying what it must be."""
    if columns is None or isinstance(columns, Mapping):
        return columns
    raise InputError(f"columns must be a mapping role -> column, e.g. {{'N': 'params'}} (command line: --col N=params); "
                     f"got {type(columns).__name__} {columns!r}")


def ambiguous_columns(frame: pd.DataFrame, columns: Mapping[str, str] | None, mapping: Mapping[str, str]) -> list[str]:
    """Notes on roles that two or more columns of ``frame`` could fill by their names, saying which was chosen and how to choose.

    A role given explicitly in ``columns`` is never ambiguous.
    """
    explicit = dict(columns or {})
    taken = set(explicit.values())
    notes = []
    for role, names in WELL_KNOWN.items():
        if role in explicit:
            continue
        candidates: list[str] = []
        for name in names:
            matches = [c for c in frame.columns if str(c).strip().lower() == name and c not in taken and c not in candidates]
            candidates.extend(matches)
        chosen = mapping.get(role)
        if len(candidates) < 2 or chosen not in candidates:
            continue
        others = [c for c in candidates if c != chosen]
        notes.append(f"{role} read from column {str(chosen)!r}; {', '.join(repr(str(c)) for c in others)} also "
                     f"{'match' if len(others) > 1 else 'matches'} {role}; to use another, pass columns={{{role!r}: {str(others[0])!r}}} "
                     f"(command line: --col {role}={others[0]})")
    return notes


def to_wide(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Pivot a long table (one row per checkpoint and metric: ``metric``, ``value``) to one column per metric."""
    lowered = {str(c).lower(): c for c in frame.columns}
    if not {"metric", "value"} <= set(lowered):
        return frame, []
    metric, value = lowered["metric"], lowered["value"]
    keys = [c for c in frame.columns if c not in (metric, value)]
    if not keys:
        raise InputError("a long table needs columns that identify each checkpoint (e.g. run, step) beside 'metric' and 'value'")
    duplicated = frame.duplicated(subset=[*keys, metric])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise InputError(f"long table has {int(duplicated.sum())} repeated (checkpoint, metric) rows, first {dict(first[[*keys, metric]])}; remove the duplicates")
    wide = frame.pivot(index=keys, columns=metric, values=value).reset_index()
    wide.columns.name = None
    return wide, [f"pivoted a long table ({frame[metric].nunique()} metrics) to one column per metric"]


def _suffix_example(original: pd.Series, parsed: pd.Series) -> str:
    """``", e.g. '2.8B' -> 2.8e+09"`` for the first value that was parsed from a suffix, or ``""``."""
    for before, after in zip(original, parsed, strict=True):
        if isinstance(before, str) and before.strip()[-1:].isalpha() and isinstance(after, float) and after == after:
            return f", e.g. {before!r} -> {after:g}"
    return ""


def _clean(table: pd.DataFrame, mapping: dict[str, str], *, loss_unit: str, bytes_per_token: float | None,
           tokens_per_step: float | None) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    for role in ("N", "D", "C", "U"):
        if role in table.columns:
            original = table[role]
            parsed, suffixed = parse_quantities(original)
            table[role] = parsed
            if suffixed:
                notes.append(f"parsed {role} values with unit suffixes (k, M, B, T){_suffix_example(original, parsed)}")
    if tokens_per_step is not None:
        if not (tokens_per_step > 0):
            raise InputError(f"tokens per step must be > 0 (batch size x context length), got {tokens_per_step!r}")
        if "D" in table.columns:
            raise InputError("the data already has tokens (D); drop --tokens-per-step or the D column")
        if "step" not in table.columns:
            raise InputError("--tokens-per-step needs a 'step' column (map one with --col step=COLUMN)")
        validate_positive_or_zero_steps(table["step"])
        table["D"] = pd.to_numeric(table["step"]) * tokens_per_step
        notes.append(f"D derived as step x {tokens_per_step:g} tokens per step")
    if loss_unit != "nats":
        if "loss" not in table.columns:
            raise InputError(f"--loss-unit {loss_unit} given but there is no loss column; map one with --col loss=COLUMN")
        raw = pd.to_numeric(table["loss"], errors="coerce")
        converted = loss_to_nats(raw.to_numpy(), loss_unit, bytes_per_token=bytes_per_token)
        _check_raw_loss(table["loss"], raw, loss_unit, mapping.get("loss", "loss"))
        table["loss"] = converted
        rule = {"perplexity": "ln(perplexity)", "bits": "bits x ln 2", "bpb": f"bits per byte x ln 2 x {bytes_per_token} bytes per token"}[loss_unit]
        notes.append(f"loss converted to nats per token as {rule}")
    if {"run", "step"} <= set(table.columns):
        duplicated = table.duplicated(subset=["run", "step"])
        if duplicated.any():
            first = table[duplicated].iloc[0]
            raise InputError(f"{int(duplicated.sum())} duplicated checkpoint(s): run {str(first['run'])!r} step {first['step']} appears more than once; remove duplicates")
        steps = pd.to_numeric(table["step"], errors="coerce")
        if steps.notna().all() and not table.assign(_s=steps).groupby("run", sort=False)["_s"].apply(lambda s: s.is_monotonic_increasing).all():
            table = table.assign(_s=steps).sort_values(["run", "_s"], kind="stable").drop(columns="_s")
            notes.append("sorted checkpoints by step within each run")
    return table, notes


#: The smallest valid raw value of a loss in each unit, and why (the loss in nats must be > 0).
_RAW_LOSS_FLOOR = {"perplexity": (1.0, "perplexities must be > 1 (a loss > 0 nats)"), "bits": (0.0, "losses in bits must be > 0"),
                   "bpb": (0.0, "losses in bits per byte must be > 0")}


def _check_raw_loss(original: pd.Series, raw: pd.Series, unit: str, column: str) -> None:
    """Reject raw losses whose conversion to nats is not > 0, quoting the value as it is in the data (not converted)."""
    floor, why = _RAW_LOSS_FLOOR[unit]
    bad = np.flatnonzero((raw <= floor).to_numpy())
    if bad.size:
        first = int(bad[int(np.argmin(original.index.to_numpy()[bad]))])
        label = "'loss'" if column == "loss" else f"'loss' (column {column!r})"
        raise InputError(f"column {label} is read as {unit} (--loss-unit {unit}); {why}, but it has {bad.size} value(s) <= {floor:g}, "
                         f"first {raw.iloc[first]:g} at row {int(original.index[first])} ({ROW_COUNTING}); fix the values or the --loss-unit")


def check_duplicates(table: pd.DataFrame) -> list[str]:
    """Notes on rows that may be duplicates: the same run and D without a step column, or rows repeated exactly.

    With a ``run`` column and no ``step`` column, two rows with the same run
    and D cannot be told apart; they are kept (curves read off a published
    figure often hold several points at one D) and noted, since a log
    written twice would count twice. Without a ``run``
    column each row is a run, and rows identical in every column are kept
    (they may be repeated runs, e.g. seeds, that logged the same numbers) and
    noted, since they weigh twice in the fit.
    """
    if "run" in table.columns:
        if "step" in table.columns or "D" not in table.columns:
            return []
        repeated = table.duplicated(subset=["run", "D"])
        if not repeated.any():
            return []
        first = table[repeated].iloc[0]
        return [f"{int(repeated.sum())} row(s) share a run and D with another row (first: run {str(first['run'])!r} at D = {float(first['D']):g}) "
                "and no step column tells them apart; all are kept as points of the fit: if they are a log written twice, remove them, "
                "or map a step column with --col step=COLUMN"]
    copies = int(table.duplicated().sum())
    return [f"{copies} row(s) repeat another row in every column; kept (each row is a run, e.g. a repeated seed), so each copy counts in the fit"] if copies else []


def validate_positive_or_zero_steps(steps: pd.Series) -> None:
    values = pd.to_numeric(steps, errors="coerce")
    if values.isna().any() or (values < 0).any():
        raise InputError("column 'step' must hold non-negative numbers to derive tokens from steps")


def load_source(source: str) -> tuple[pd.DataFrame, str]:
    """A DataFrame from a file path, a TensorBoard log directory or an MLflow store."""
    from .trackers import is_mlflow_uri, is_tensorboard_dir, read_mlflow, read_tensorboard

    if is_mlflow_uri(source):
        return read_mlflow(source), source
    path = Path(source)
    if path.is_dir():
        if is_tensorboard_dir(path):
            return read_tensorboard(path), source
        raise InputError(f"{source!r} is a directory without TensorBoard event files or mlflow.db; pass a file, a log directory or an MLflow URI")
    return read_table(source), source


def read_runs(
    source: str | os.PathLike[str] | pd.DataFrame | Runs,
    *,
    columns: Mapping[str, str] | None = None,
    loss_unit: str = "nats",
    bytes_per_token: float | None = None,
    tokens_per_step: float | None = None,
) -> Runs:
    """Read runs from a path, ``dataset:NAME``, a DataFrame or a :class:`Runs`.

    Parameters
    ----------
    source:
        CSV, TSV, Parquet, JSON or JSONL file (wide, or long with ``metric``
        and ``value`` columns); a TensorBoard log directory; an MLflow store
        (``sqlite:///mlflow.db`` or a directory holding ``mlflow.db``);
        ``"dataset:NAME"`` for a bundled dataset; a DataFrame; or a :class:`Runs`.
    columns:
        Role -> column name for columns not named by the vocabulary, e.g.
        ``{"N": "Model Size", "C": "Training FLOP"}``.
    loss_unit:
        ``"nats"`` (default), ``"perplexity"``, ``"bits"`` or ``"bpb"`` (with
        ``bytes_per_token``): converted to nats per token, and said so.
    tokens_per_step:
        Derive D = step x tokens_per_step (batch size x context) when only
        steps are logged.

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
    columns = _check_columns(columns)
    options = {"loss_unit": loss_unit, "bytes_per_token": bytes_per_token, "tokens_per_step": tokens_per_step}
    changed = bool(columns) or loss_unit != "nats" or tokens_per_step is not None
    if isinstance(source, Runs):
        return source if not changed else read_runs(source.table, columns=columns, **options)
    if isinstance(source, pd.DataFrame):
        frame, label = source, "DataFrame"
        if frame.empty:
            raise InputError("the DataFrame has no rows; a fit needs at least a few runs")
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith("dataset:"):
            from ..datasets import load

            runs = load(text.removeprefix("dataset:"))
            # A bundled dataset is checked when it is built (gpt3 holds several digitised points per run and D).
            return runs if not changed else _runs_from_frame(runs.table, "DataFrame", columns, options, check_checkpoints=False)
        frame, label = load_source(text)
    else:
        raise InputError(f"runs must be a path, 'dataset:NAME' or a DataFrame, got {type(source).__name__}")
    return _runs_from_frame(frame, label, columns, options)


def _runs_from_frame(frame: pd.DataFrame, label: str, columns: Mapping[str, str] | None, options: Mapping[str, object], *,
                     check_checkpoints: bool = True) -> Runs:
    """Pivot, map, clean and derive: the :class:`Runs` of a raw table."""
    reader_notes = [str(note) for note in frame.attrs.get("notes", ())]  # from a tracker reader (trackers.py)
    frame, pivot_notes = to_wide(frame)
    table, mapping = map_columns(frame.reset_index(drop=True), columns)  # index = source row, kept through sorting
    column_notes = ambiguous_columns(frame, columns, mapping)
    table, clean_notes = _clean(table.copy(), mapping, **options)  # type: ignore[arg-type]
    table, notes = derive_compute_columns(table, mapping)
    if check_checkpoints:
        notes += check_duplicates(table)
    origin = tuple(int(i) for i in table.index)
    return Runs(table.reset_index(drop=True), label, mapping, tuple(reader_notes + pivot_notes + column_notes + clean_notes + notes),
                None if origin == tuple(range(len(table))) else origin)
