"""Readers for experiment trackers: TensorBoard event files, MLflow stores, W&B exports.

Each returns a plain DataFrame (one row per run and step, one column per
metric, plus ``run``) that :func:`scalinglaws.read_runs` then maps to roles.
The libraries are optional and imported only when used.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .units import parse_quantity


def _missing(extra: str, package: str) -> InputError:
    return InputError(f"reading {extra} needs the optional package {package!r}: pip install 'scalinglaws[{extra}]'")


def is_tensorboard_dir(path: Path) -> bool:
    return path.is_dir() and any(path.rglob("events.out.tfevents*"))


def read_tensorboard(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Scalars of every run under a TensorBoard log directory.

    Each subdirectory holding event files is one run (named by its path
    relative to ``path``); each scalar tag becomes a column, by step.
    """
    try:
        from tbparse import SummaryReader
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise _missing("tensorboard", "tbparse") from exc
    root = Path(path)
    if not is_tensorboard_dir(root):
        raise InputError(f"no TensorBoard event files (events.out.tfevents*) under {str(root)!r}")
    with warnings.catch_warnings():
        # tbparse and its dependencies emit deprecation noise that is not the user's concern.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        frame = SummaryReader(str(root), pivot=False, extra_columns={"dir_name"}).scalars
    if frame.empty:
        raise InputError(f"the TensorBoard logs under {str(root)!r} hold no scalars")
    frame["dir_name"] = frame["dir_name"].replace("", root.name)
    notes = _repeated_steps(frame, run="dir_name", metric="tag")
    wide = frame.pivot_table(index=["dir_name", "step"], columns="tag", values="value", aggfunc="last").reset_index()
    wide.columns.name = None
    wide = wide.rename(columns={"dir_name": "run"})
    wide.attrs["notes"] = notes
    return wide


def _repeated_steps(frame: pd.DataFrame, *, run: str, metric: str) -> list[str]:
    """Notes on metrics logged more than once at one step of a run (a restart): the last logged value is kept.

    ``frame`` is long (one row per logged value, in logging order) with columns ``run``, ``step``, ``metric``.
    """
    replaced = frame[frame.duplicated(subset=[run, "step", metric], keep="last")]
    notes = []
    for (name, tag), group in replaced.groupby([run, metric], sort=True):
        steps = sorted({int(s) for s in group["step"]})
        shown = ", ".join(str(s) for s in steps[:5]) + (f" and {len(steps) - 5} more" if len(steps) > 5 else "")
        notes.append(f"run {str(name)!r} logged {str(tag)!r} more than once at step(s) {shown} (a restart?); kept the last value logged, "
                     f"{len(group)} earlier value(s) replaced")
    return notes


def is_mlflow_uri(source: str) -> bool:
    return source.startswith(("sqlite:///", "mlflow:", "file://")) or (Path(source).is_dir() and (Path(source) / "mlflow.db").exists())


def read_mlflow(uri: str, *, experiment: str | None = None) -> pd.DataFrame:
    """Runs, params and metric histories from an MLflow tracking store.

    ``uri`` is a tracking URI (``sqlite:///path/mlflow.db``; ``mlflow:URI``
    also works) or a directory holding ``mlflow.db``. Params become columns
    (parsed as numbers where they are, e.g. ``N = "1.2e8"``); every metric's
    history becomes a column by step.
    """
    uri = uri.removeprefix("mlflow:")
    if Path(uri).is_dir():
        uri = f"sqlite:///{Path(uri) / 'mlflow.db'}"
    _check_sqlite_file(uri)
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise _missing("mlflow", "mlflow-skinny") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return _read_mlflow_store(MlflowClient, uri, experiment)


def _check_sqlite_file(uri: str) -> None:
    """An MLflow sqlite store must exist and hold MLflow's tables: MLflow would otherwise create (or migrate) its schema there."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri.removeprefix("sqlite:///"))
    if not path.is_file():
        raise InputError(f"file not found: {str(path)!r} (from {uri!r}); check the path of the MLflow database (sqlite:////absolute/path/mlflow.db)")
    # MLflow creates (or migrates) its schema in any database it opens: look first, read-only, that it is an MLflow store.
    import sqlite3

    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise InputError(f"not an MLflow store: {str(path)!r} cannot be read as an SQLite database ({exc}); "
                         "pass the mlflow.db of a tracking store (sqlite:///path/mlflow.db)") from exc
    missing = sorted(_MLFLOW_TABLES - tables)
    if missing:
        raise InputError(f"not an MLflow store: {str(path)!r} has no MLflow tables ({', '.join(missing)} missing); "
                         "pass the mlflow.db of a tracking store (sqlite:///path/mlflow.db)")


#: Tables every MLflow tracking database holds.
_MLFLOW_TABLES = frozenset({"experiments", "runs", "metrics", "params"})


def _read_mlflow_store(client_class, uri: str, experiment: str | None) -> pd.DataFrame:
    client = client_class(tracking_uri=uri)
    try:
        experiments = client.search_experiments()
    except Exception as exc:  # the client raises many types for a bad store
        raise InputError(f"cannot open the MLflow store {uri!r}: {str(exc).splitlines()[0]}") from exc
    if experiment is not None:
        experiments = [e for e in experiments if e.name == experiment or e.experiment_id == experiment]
        if not experiments:
            raise InputError(f"no MLflow experiment named {experiment!r} in {uri!r}")
    runs = client.search_runs([e.experiment_id for e in experiments]) if experiments else []
    if not runs:
        raise InputError(f"the MLflow store {uri!r} holds no runs")
    names, notes = _run_labels(runs, {e.experiment_id: e.name for e in experiments})
    rows = []
    for run, name in zip(runs, names, strict=True):
        params = {k: (parse_quantity(v) if parse_quantity(v) == parse_quantity(v) else v) for k, v in run.data.params.items()}
        history = [(int(metric.step), key, float(metric.value)) for key in run.data.metrics
                   for metric in sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.timestamp)]
        logged = pd.DataFrame(history, columns=["step", "metric", "value"]).assign(run=name)
        notes += _repeated_steps(logged, run="run", metric="metric")
        by_step: dict[int, dict[str, float]] = {}
        for step, key, value in history:
            by_step.setdefault(step, {})[key] = value
        for step, metrics in sorted(by_step.items()):
            rows.append({"run": name, "step": step, **params, **metrics})
    frame = pd.DataFrame(rows)
    frame.attrs["notes"] = notes
    return frame


def _run_labels(runs: list, experiment_names: dict[str, str]) -> tuple[list[str], list[str]]:
    """A distinct label per MLflow run: its name; ``EXPERIMENT/NAME`` where names collide; then the run id too."""
    names = [run.info.run_name or run.info.run_id for run in runs]
    counts = pd.Series(names).value_counts()
    labels = [f"{experiment_names.get(run.info.experiment_id, run.info.experiment_id)}/{name}" if counts[name] > 1 else name
              for run, name in zip(runs, names, strict=True)]
    notes = []
    shared = sorted(str(n) for n in counts[counts > 1].index)
    if shared:
        notes.append(f"{len(shared)} MLflow run name(s) are shared by several runs ({', '.join(map(repr, shared[:5]))}); "
                     "those runs are named EXPERIMENT/RUN")
    again = pd.Series(labels).value_counts()
    if (again > 1).any():
        labels = [f"{label} ({run.info.run_id})" if again[label] > 1 else label for run, label in zip(runs, labels, strict=True)]
        notes.append(f"runs named alike within one experiment ({', '.join(map(repr, sorted(again[again > 1].index)[:5]))}) "
                     "are told apart by their run id: EXPERIMENT/RUN (RUN_ID)")
    return labels, notes


def read_wandb(history: str | os.PathLike[str], *, config: str | os.PathLike[str] | None = None, run: str | None = None) -> pd.DataFrame:
    """A Weights & Biases run history export, with its config as constant columns.

    ``history`` is the CSV or JSON(L) export (``_step`` plus metric columns);
    ``config`` the run's ``config.yaml`` or ``config.json`` (W&B writes values
    as ``{"key": {"value": v}}``; flat files work too). For a direct download
    use the wandb API: ``wandb.Api().run(PATH).history()`` returns the same
    table (not tested here: it needs network access).
    """
    from .readers import read_table

    frame = read_table(history).rename(columns={"_step": "step"})
    if config is not None:
        for key, value in _read_config(Path(config)).items():
            if key not in frame.columns:
                number = parse_quantity(value)
                frame[key] = number if number == number else value
    frame.insert(0, "run", run or Path(history).stem)
    return frame


def _read_config(path: Path) -> dict[str, object]:
    if not path.exists():
        raise InputError(f"config file not found: {str(path)!r}")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:  # pragma: no cover
            raise InputError("reading a YAML config needs pyyaml: pip install pyyaml (or pass the config as JSON)") from exc
        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise InputError(f"the config {str(path)!r} is not a mapping of keys to values")
    return {k: (v.get("value") if isinstance(v, dict) and "value" in v else v) for k, v in data.items() if not str(k).startswith("_")}
