"""The frozen record a learning-curve fit returns, and its JSON form."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from ..outputs import output_path
from ..fitting.result import FitWarning, read_fit_json
from .laws import CurveLaw, get_curve_law

SCHEMA = "scalinglaws.curve_fit/1"


@dataclass(frozen=True)
class CurveFit:
    """A fitted learning-curve law and everything needed to reproduce and judge it.

    Attributes
    ----------
    law: the law fitted.
    params: every parameter (fixed ones included), in the units of the LR given.
    objective: summed loss of the residuals at ``params``.
    loss, delta: the objective (``"squared"`` or ``"huber"`` with ``delta``), on loss residuals.
    n_points: checkpoints fitted.
    status: ``"converged"`` or a message saying why not.
    warnings: warnings raised by the fit.
    runs: per fitted run: schedule, steps fitted, peak LR, forward area, annealing depth, RMS residual.
    residual_std: standard deviation of the residuals (free parameters subtracted).
    settings: fixed parameters, min_step, starts, solver, LR reference.
    replicates: bootstrap replicates of ``params`` (for prediction intervals).
    bootstrap_method: how the replicates were drawn.
    level: interval coverage chosen with the bootstrap.
    seed: the bootstrap's seed.
    """

    law: CurveLaw
    params: Mapping[str, float]
    objective: float
    loss: str
    n_points: int
    status: str
    delta: float | None = None
    warnings: tuple[FitWarning, ...] = ()
    runs: tuple[Mapping[str, object], ...] = ()
    residual_std: float = 0.0
    settings: Mapping[str, object] = field(default_factory=dict)
    replicates: tuple[Mapping[str, float], ...] = ()
    bootstrap_method: str = ""
    level: float | None = None
    seed: int | None = None

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    def summary(self) -> pd.DataFrame:
        """One row per parameter: value, whether held (fixed, or unused with its term off), and bootstrap percentiles when present."""
        fixed = {**dict(self.settings.get("fixed", {})), **dict(self.settings.get("unused", {}))}  # type: ignore[call-overload]
        rows = []
        for name in self.law.parameter_names:
            row: dict[str, object] = {"parameter": name, "value": float(self.params[name]), "fixed": name in fixed}
            if self.replicates and self.level is not None:
                values = np.array([r[name] for r in self.replicates])
                tail = (1 - self.level) / 2
                row["lower"], row["upper"] = (float(v) for v in np.quantile(values, [tail, 1 - tail]))
            rows.append(row)
        return pd.DataFrame(rows).set_index("parameter")

    def to_dict(self) -> dict[str, object]:
        """The JSON document (schema ``scalinglaws.curve_fit/1``)."""
        out: dict[str, object] = {
            "schema": SCHEMA,
            "law": self.law.name,
            "formula": self.law.formula,
            "citation": self.law.citation,
            "params": {k: float(v) for k, v in self.params.items()},
            "objective": self.objective,
            "loss": {"name": self.loss, "delta": self.delta, "space": "linear"},
            "n_points": self.n_points,
            "n_runs": len(self.runs),
            "status": self.status,
            "warnings": [w.to_dict() for w in self.warnings],
            "residual_std": self.residual_std,
            "runs": [dict(r) for r in self.runs],
            "provenance": {"version": __version__, **dict(self.settings)},
        }
        if self.replicates:
            summary = self.summary()
            out["intervals"] = {name: [summary.loc[name, "lower"], summary.loc[name, "upper"]] for name in self.law.parameter_names}
            out["level"] = self.level
            out["bootstrap"] = {
                "method": self.bootstrap_method,
                "seed": self.seed,
                "replicates": [[float(r[n]) for n in self.law.parameter_names] for r in self.replicates],
            }
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        output_path(path, "fit").write_text(json.dumps(_json_safe(self.to_dict()), indent=2) + "\n")


def _json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def curve_fit_from_dict(data: Mapping[str, object]) -> CurveFit:
    """Rebuild a :class:`CurveFit` from its JSON document."""
    if data.get("schema") != SCHEMA:
        raise InputError(f"not a learning-curve fit (schema {data.get('schema')!r}, expected {SCHEMA!r}); write one with `scalinglaws curve fit -o`")
    law = get_curve_law(str(data.get("law")))
    params = {k: float(v) for k, v in dict(data["params"]).items()}  # type: ignore[call-overload]
    missing = [n for n in law.parameter_names if n not in params]
    if missing:
        raise InputError(f"the fit file lacks parameters {', '.join(missing)} of law {law.name!r}")
    provenance = dict(data.get("provenance", {}))  # type: ignore[call-overload]
    provenance.pop("version", None)
    boot = dict(data.get("bootstrap", {}) or {})  # type: ignore[call-overload]
    replicates = tuple({n: float(v) for n, v in zip(law.parameter_names, row, strict=True)} for row in boot.get("replicates", []))
    loss = dict(data.get("loss", {}))  # type: ignore[call-overload]
    return CurveFit(
        law=law,
        params=params,
        objective=float(data.get("objective", float("nan")) or float("nan")),  # type: ignore[arg-type]
        loss=str(loss.get("name", "squared")),
        delta=loss.get("delta"),
        n_points=int(data.get("n_points", 0)),  # type: ignore[call-overload]
        status=str(data.get("status", "")),
        warnings=tuple(FitWarning(w["code"], w["message"]) for w in data.get("warnings", [])),  # type: ignore[union-attr,index]
        runs=tuple(dict(r) for r in data.get("runs", [])),  # type: ignore[union-attr]
        residual_std=float(data.get("residual_std", 0.0)),  # type: ignore[arg-type]
        settings=provenance,
        replicates=replicates,
        bootstrap_method=str(boot.get("method", "")),
        level=data.get("level"),  # type: ignore[arg-type]
        seed=boot.get("seed"),
    )


def load_curve_fit(path: str | os.PathLike[str]) -> CurveFit:
    """Read a fit written by :meth:`CurveFit.save` or ``scalinglaws curve fit -o``."""
    if os.path.isdir(path):
        raise InputError(f"{os.fspath(path)!r} is a directory, not a saved curve fit; give the JSON file written by "
                         "`scalinglaws curve fit RUNS -o FIT.json` (to forecast a run from its logs, use --from-run RUNS)")
    return curve_fit_from_dict(read_fit_json(path, missing="write one with `scalinglaws curve fit RUNS -o {name}`"))


__all__ = ["SCHEMA", "CurveFit", "curve_fit_from_dict", "load_curve_fit"]
