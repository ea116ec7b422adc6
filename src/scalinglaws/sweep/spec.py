"""The sweep specification: which datasets, laws, splits and bootstrap settings to backtest.

A spec is a YAML file (or the equivalent mapping) such as::

    root: ..                      # where relative data paths start, from this file (default: its folder)
    laws: [chinchilla, kaplan]
    splits:
      - {by: C, holdout: 0.2}
      - {by: N, holdout: 0.2, drop_fraction: 0.1}
    bootstrap: [0, {replicates: 50, level: 0.9, seed: 0}]
    datasets:
      - dataset:gemstones
      - path: runs.csv
        name: ladder
        columns: {N: Model Size}
        group: recipe             # one family per value (a list for several columns)
        where: {optimizer: adam}  # keep rows whose column equals the value (or is in the list)
        query: "step > 0"         # a pandas query on the file's own column names
        drop: [flops]             # columns removed (after grouping) before the roles are detected
        laws: [power:N]           # overrides the top-level laws for this dataset
        splits: [{column: is_train}]

Everything here is checked when the spec is read (law names, bundled dataset
names, that local data paths exist, column roles), so that a typo stops the
sweep before any fit runs; whatever needs the data's contents (columns, a
split that leaves nothing to fit) is found by the job itself and recorded as
that job's error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..data.runs import ROLES
from ..errors import InputError
from ..arguments import check_replicates

SPLIT_BY = ("C", "N", "D")
LOSS_UNITS = ("nats", "perplexity", "bits", "bpb")

TOP_KEYS = ("root", "laws", "splits", "bootstrap", "datasets")
DATASET_KEYS = ("path", "name", "columns", "group", "where", "query", "drop", "laws", "splits",
                "loss_unit", "bytes_per_token", "tokens_per_step")
SPLIT_KEYS = ("by", "holdout", "column", "drop_fraction", "min_tokens", "name")
BOOTSTRAP_KEYS = ("replicates", "level", "seed")


@dataclass(frozen=True)
class SplitSpec:
    """How to divide one dataset into fitted and held-out rows (see :func:`scalinglaws.evaluate.split_mask`)."""

    name: str
    by: str = "C"
    holdout: float = 0.2
    column: str | None = None
    drop_fraction: float = 0.0
    min_tokens: float | None = None

    def identity(self) -> dict[str, object]:
        """The fields that define this split, for job ids."""
        return {"name": self.name, "by": self.by, "holdout": self.holdout, "column": self.column,
                "drop_fraction": self.drop_fraction, "min_tokens": self.min_tokens}


@dataclass(frozen=True)
class BootstrapSpec:
    """Bootstrap replicates for prediction intervals of one job (0: none)."""

    replicates: int = 0
    level: float = 0.95
    seed: int = 0

    def identity(self) -> dict[str, object]:
        """The fields that define this setting, for job ids."""
        return {"replicates": self.replicates, "level": self.level, "seed": self.seed}


@dataclass(frozen=True)
class DatasetSpec:
    """One data source of the sweep, how to read it and how to cut it into families."""

    path: str
    name: str
    laws: tuple[str, ...]
    splits: tuple[SplitSpec, ...]
    columns: Mapping[str, str] = field(default_factory=dict)
    group: tuple[str, ...] = ()
    where: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    query: str | None = None
    drop: tuple[str, ...] = ()
    loss_unit: str = "nats"
    bytes_per_token: float | None = None
    tokens_per_step: float | None = None
    #: Folder that a relative ``path`` starts from.
    root: Path = Path(".")

    @property
    def location(self) -> str:
        """The path to read: ``dataset:NAME`` as is, a relative file path joined to :attr:`root`."""
        if self.path.startswith("dataset:") or os.path.isabs(self.path):
            return self.path
        return str(self.root / self.path)

    def identity(self) -> dict[str, object]:
        """The fields that define what data a job sees (the path as written, so ids survive a move)."""
        return {"path": self.path, "name": self.name, "columns": dict(self.columns), "group": list(self.group),
                "where": {k: list(v) for k, v in self.where.items()}, "query": self.query, "drop": list(self.drop),
                "loss_unit": self.loss_unit, "bytes_per_token": self.bytes_per_token, "tokens_per_step": self.tokens_per_step}

    def read_options(self) -> dict[str, object]:
        """Keyword arguments for :func:`scalinglaws.read_runs`."""
        return {"columns": dict(self.columns), "loss_unit": self.loss_unit, "bytes_per_token": self.bytes_per_token,
                "tokens_per_step": self.tokens_per_step}


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: datasets (each with its laws and splits) and bootstrap settings."""

    datasets: tuple[DatasetSpec, ...]
    bootstraps: tuple[BootstrapSpec, ...]
    source: str = "spec"


def load_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and validate a sweep spec from a YAML file.

    Relative data paths start from the spec file's folder, or from its
    ``root`` key (itself relative to the spec file).

    Raises
    ------
    InputError
        If the file is missing, is not YAML, or the spec is malformed.

    Examples
    --------
    >>> spec = load_spec("benchmarks/sweep_families.yaml")  # doctest: +SKIP
    """
    try:
        import yaml
    except ImportError:
        raise InputError('reading a sweep spec needs PyYAML: pip install "pyyaml>=6"') from None

    spec_path = Path(path)
    if not spec_path.is_file():
        raise InputError(f"sweep spec not found: {str(spec_path)!r}; give the path of a YAML file")
    try:
        document = yaml.safe_load(spec_path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"cannot read sweep spec {str(spec_path)!r} as YAML: {str(exc).splitlines()[0]}") from exc
    return parse_spec(document, base=spec_path.parent, source=str(spec_path))


def parse_spec(document: object, *, base: str | os.PathLike[str] = ".", source: str = "spec") -> SweepSpec:
    """Validate a spec given as a mapping (the parsed YAML); ``base`` is where ``root`` starts."""
    top = _mapping(document, "the sweep spec", TOP_KEYS)
    root = Path(base) / _text(top.get("root", "."), "root")
    laws = _laws(top["laws"], "laws") if "laws" in top else ()
    splits = _splits(top["splits"], "splits") if "splits" in top else (SplitSpec(name="C:0.2"),)
    if "datasets" not in top:
        raise InputError("the sweep spec has no 'datasets'; list at least one path or dataset:NAME")
    entries = top["datasets"]
    if not isinstance(entries, list) or not entries:
        raise InputError(f"'datasets' must be a non-empty list of paths or mappings, got {entries!r}")
    datasets = tuple(_dataset(entry, f"datasets[{i}]", laws, splits, root) for i, entry in enumerate(entries))
    names = [d.name for d in datasets]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"dataset names must be unique, {', '.join(map(repr, repeated))} appears twice; give each a distinct 'name'")
    bootstraps = _bootstraps(top.get("bootstrap", 0))
    for i, dataset in enumerate(datasets):
        _check_exists(dataset, f"datasets[{i}].path")
    return SweepSpec(datasets, bootstraps, source)


def _dataset(entry: object, where: str, laws: tuple[str, ...], splits: tuple[SplitSpec, ...], root: Path) -> DatasetSpec:
    if isinstance(entry, str):
        entry = {"path": entry}
    fields = _mapping(entry, where, DATASET_KEYS)
    if "path" not in fields:
        raise InputError(f"{where} has no 'path'; give a file path or dataset:NAME")
    path = _text(fields["path"], f"{where}.path")
    _check_bundled(path, f"{where}.path")
    own_laws = _laws(fields["laws"], f"{where}.laws") if "laws" in fields else laws
    if not own_laws:
        raise InputError(f"no laws for {where} ({path}); add a top-level 'laws' list or one on the dataset")
    loss_unit = _text(fields.get("loss_unit", "nats"), f"{where}.loss_unit")
    if loss_unit not in LOSS_UNITS:
        raise InputError(f"{where}.loss_unit must be one of {', '.join(LOSS_UNITS)}, got {loss_unit!r}")
    return DatasetSpec(
        path=path,
        name=_text(fields.get("name", _default_name(path)), f"{where}.name"),
        laws=own_laws,
        splits=_splits(fields["splits"], f"{where}.splits") if "splits" in fields else splits,
        columns=_columns(fields.get("columns", {}), f"{where}.columns"),
        group=_names(fields.get("group", []), f"{where}.group"),
        where=_filters(fields.get("where", {}), f"{where}.where"),
        query=_text(fields["query"], f"{where}.query") if "query" in fields else None,
        drop=_names(fields.get("drop", []), f"{where}.drop"),
        loss_unit=loss_unit,
        bytes_per_token=_optional_positive(fields.get("bytes_per_token"), f"{where}.bytes_per_token"),
        tokens_per_step=_optional_positive(fields.get("tokens_per_step"), f"{where}.tokens_per_step"),
        root=root,
    )


def _check_bundled(path: str, where: str) -> None:
    """``dataset:NAME`` must name a bundled dataset."""
    from ..datasets import DATASETS

    name = path.removeprefix("dataset:")
    if path.startswith("dataset:") and name not in DATASETS:
        raise InputError(f"{where}: unknown bundled dataset {name!r}; choose one of: {', '.join(sorted(DATASETS))} "
                         "(see `scalinglaws datasets`)")


def _check_exists(dataset: DatasetSpec, where: str) -> None:
    """A local data path must exist (checked last, so that the spec's shape is reported first)."""
    from ..data.trackers import is_mlflow_uri

    if dataset.path.startswith("dataset:") or is_mlflow_uri(dataset.location):
        return
    if not Path(dataset.location).exists():
        raise InputError(f"{where}: data file not found: {dataset.location!r}; relative paths start from the spec's folder "
                         "(or its 'root'); fix the path or use dataset:NAME for a bundled dataset")


def _default_name(path: str) -> str:
    if path.startswith("dataset:"):
        return path.removeprefix("dataset:")
    name = Path(path).name
    for suffix in (".gz", ".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".json"):
        name = name.removesuffix(suffix)
    return name


def _splits(value: object, where: str) -> tuple[SplitSpec, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"'{where}' must be a non-empty list such as [{{by: C, holdout: 0.2}}], got {value!r}")
    splits = tuple(_split(item, f"{where}[{i}]") for i, item in enumerate(value))
    names = [s.name for s in splits]
    if len(set(names)) < len(names):
        raise InputError(f"'{where}' repeats a split ({', '.join(names)}); give each a distinct 'name'")
    return splits


def _split(value: object, where: str) -> SplitSpec:
    fields = _mapping(value, where, SPLIT_KEYS)
    column = _text(fields["column"], f"{where}.column") if "column" in fields else None
    if column is not None and ({"by", "holdout"} & set(fields)):
        raise InputError(f"{where} gives both 'column' and by/holdout; a split is either a column of 1/0 or the largest fraction by C, N or D")
    by = fields.get("by", "C")
    if by not in SPLIT_BY:
        raise InputError(f"{where}.by must be one of {', '.join(SPLIT_BY)} (what 'larger' means), got {by!r}")
    holdout = _number(fields.get("holdout", 0.2), f"{where}.holdout")
    if not 0 < holdout < 1:
        raise InputError(f"{where}.holdout must be a fraction between 0 and 1 (e.g. 0.2), got {holdout!r}")
    drop_fraction = _number(fields.get("drop_fraction", 0.0), f"{where}.drop_fraction")
    if not 0 <= drop_fraction < 1:
        raise InputError(f"{where}.drop_fraction must be in [0, 1) (e.g. 0.1), got {drop_fraction!r}")
    min_tokens = _optional_positive(fields.get("min_tokens"), f"{where}.min_tokens")
    label = f"column:{column}" if column is not None else f"{by}:{holdout:g}"
    label += f"+drop{drop_fraction:g}" if drop_fraction else ""
    label += f"+min{min_tokens:g}" if min_tokens is not None else ""
    return SplitSpec(_text(fields.get("name", label), f"{where}.name"), str(by), holdout, column, drop_fraction, min_tokens)


def _bootstraps(value: object) -> tuple[BootstrapSpec, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InputError("'bootstrap' must be a number of replicates, a mapping {replicates, level, seed} or a non-empty list of them")
    return tuple(_bootstrap(item, f"bootstrap[{i}]" if isinstance(value, list) else "bootstrap") for i, item in enumerate(items))


def _bootstrap(value: object, where: str) -> BootstrapSpec:
    fields = _mapping({"replicates": value} if isinstance(value, int) else value, where, BOOTSTRAP_KEYS)
    replicates = fields.get("replicates", 0)
    check_replicates(replicates, f"{where}.replicates")
    level = _number(fields.get("level", 0.95), f"{where}.level")
    if not 0 < level < 1:
        raise InputError(f"{where}.level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    seed = fields.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"{where}.seed must be an integer, got {seed!r}")
    return BootstrapSpec(replicates, level, seed)


def _mapping(value: object, where: str, allowed: Sequence[str]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a mapping with keys among {', '.join(allowed)}, got {value!r}")
    unknown = [str(k) for k in value if k not in allowed]
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(map(repr, unknown))} in {where}; allowed: {', '.join(allowed)}")
    return {str(k): v for k, v in value.items()}


def _laws(value: object, where: str) -> tuple[str, ...]:
    """Law names, each checked against the catalogue now: a typo is bad input, not a failed job."""
    from ..laws import get_law

    laws = _names(value, where)
    if not laws:
        raise InputError(f"'{where}' must name at least one law (see `scalinglaws laws`)")
    for name in laws:
        try:
            get_law(name)
        except InputError as exc:
            raise InputError(f"'{where}' in the sweep spec: {exc}") from None
    return laws


def _names(value: object, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise InputError(f"'{where}' must be a name or a list of names, got {value!r}")
    return tuple(v.strip() for v in items)


def _columns(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InputError(f"'{where}' must map roles to column names, e.g. {{N: Model Size}}, got {value!r}")
    for role in value:
        if role not in ROLES:
            raise InputError(f"unknown role {role!r} in {where}; roles: {', '.join(ROLES)} (map a role to your column, e.g. {{N: Model Size}})")
    return dict(value)


def _filters(value: object, where: str) -> dict[str, tuple[object, ...]]:
    if not isinstance(value, dict):
        raise InputError(f"'{where}' must map column names to a value or a list of values, got {value!r}")
    return {str(k): tuple(v) if isinstance(v, list) else (v,) for k, v in value.items()}


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"'{where}' must be a non-empty string, got {value!r}")
    return value.strip()


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"'{where}' must be a number, got {value!r}")
    return float(value)


def _optional_positive(value: object, where: str) -> float | None:
    if value is None:
        return None
    number = _number(value, where)
    if not number > 0:
        raise InputError(f"'{where}' must be > 0, got {value!r}")
    return number
