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
    wide = frame.pivot_table(index=["dir_name", "step"], columns="tag", values="value", aggfunc="last").reset_index()
    wide.columns.name = None
    return wide.rename(columns={"dir_name": "run"})


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
    _check_sqlite_file(uri)
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise _missing("mlflow", "mlflow-skinny") from exc
    if Path(uri).is_dir():
        uri = f"sqlite:///{Path(uri) / 'mlflow.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return _read_mlflow_store(MlflowClient, uri, experiment)


def _check_sqlite_file(uri: str) -> None:
    """An MLflow sqlite store must exist: MLflow would otherwise create an empty database there."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri.removeprefix("sqlite:///"))
    if not path.is_file():
        raise InputError(f"file not found: {str(path)!r} (from {uri!r}); check the path of the MLflow database (sqlite:////absolute/path/mlflow.db)")


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
    rows = []
    for run in runs:
        params = {k: (parse_quantity(v) if parse_quantity(v) == parse_quantity(v) else v) for k, v in run.data.params.items()}
        by_step: dict[int, dict[str, float]] = {}
        for key in run.data.metrics:
            for metric in client.get_metric_history(run.info.run_id, key):
                by_step.setdefault(int(metric.step), {})[key] = float(metric.value)
        for step, metrics in sorted(by_step.items()):
            rows.append({"run": run.info.run_name or run.info.run_id, "step": step, **params, **metrics})
    return pd.DataFrame(rows)


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
