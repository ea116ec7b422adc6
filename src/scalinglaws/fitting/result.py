"""The frozen record a fit returns, and its JSON form (DESIGN.md)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..outputs import output_path
from ..laws.base import Law, get_law
from .objectives import Loss

SCHEMA = "scalinglaws.fit/1"


@dataclass(frozen=True)
class FitWarning:
    """A typed warning attached to a result: a stable ``code`` and a message."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Bootstrap:
    """Bootstrap replicates of a fit's parameters (rows: replicates)."""

    replicates: np.ndarray  # (R, P) in the law's parameter order; NaN rows did not converge
    level: float
    resampled_by: str
    seed: int
    residual_std: float = 0.0

    @property
    def converged(self) -> int:
        return int(np.sum(np.all(np.isfinite(self.replicates), axis=1)))


@dataclass(frozen=True)
class Fit:
    """A fitted law and everything needed to reproduce and judge it.

    Attributes
    ----------
    law: the law that was fitted.
    params: parameter values, unrounded.
    objective: value of the summed loss at ``params``.
    loss: the objective's definition.
    n_points: rows fitted.
    status: ``"converged"`` or a message saying why not.
    warnings: diagnostics raised by the fit.
    data_range: variable -> (min, max) of the fitted inputs (for extrapolation checks).
    residual_std: standard deviation of the residuals in the loss's space.
    provenance: version, data hash, starts, solver and the settings used.
    notes: derivations done on the data (e.g. ``D derived as C / (6 N)``).
    bootstrap: replicates when a bootstrap was run.
    """

    law: Law
    params: Mapping[str, float]
    objective: float
    loss: Loss
    n_points: int
    status: str
    warnings: tuple[FitWarning, ...] = ()
    data_range: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    residual_std: float = 0.0
    provenance: Mapping[str, object] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    bootstrap: Bootstrap | None = None

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    def with_(self, **changes: object) -> Fit:
        return replace(self, **changes)

    def summary(self) -> pd.DataFrame:
        """One row per parameter: value and, with a bootstrap, its interval."""
        rows = []
        for i, p in enumerate(self.law.parameters):
            row: dict[str, object] = {"parameter": p.name, "value": self.params[p.name], "description": p.description}
            if self.bootstrap is not None:
                lo, hi = self.intervals()[p.name]
                row["lower"], row["upper"] = lo, hi
            rows.append(row)
        return pd.DataFrame(rows).set_index("parameter")

    def intervals(self) -> dict[str, tuple[float, float]]:
        """Percentile intervals of the parameters from the bootstrap replicates."""
        if self.bootstrap is None:
            return {}
        reps = self.bootstrap.replicates
        ok = reps[np.all(np.isfinite(reps), axis=1)]
        tail = (1 - self.bootstrap.level) / 2
        return {
            p.name: (float(np.quantile(ok[:, i], tail)), float(np.quantile(ok[:, i], 1 - tail)))
            for i, p in enumerate(self.law.parameters)
        }

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "schema": SCHEMA,
            "law": self.law.name,
            "formula": self.law.formula,
            "variables": list(self.law.variables),
            "params": {k: _finite_or_none(float(v)) for k, v in self.params.items()},
        }
        if self.bootstrap is not None:
            out["intervals"] = {k: list(v) for k, v in self.intervals().items()}
            out["level"] = self.bootstrap.level
            out["bootstrap"] = {
                "replicates": int(self.bootstrap.replicates.shape[0]),
                "converged": self.bootstrap.converged,
                "resampled_by": self.bootstrap.resampled_by,
                "seed": self.bootstrap.seed,
                "residual_std": self.bootstrap.residual_std,
                "samples": [[_finite_or_none(v) for v in row] for row in self.bootstrap.replicates.tolist()],
            }
        out.update(
            {
                "objective": _finite_or_none(self.objective),
                "loss": self.loss.to_dict(),
                "n_points": self.n_points,
                "status": self.status,
                "warnings": [w.to_dict() for w in self.warnings],
                "data_range": {k: list(v) for k, v in self.data_range.items()},
                "residual_std": self.residual_std,
                "notes": list(self.notes),
                "provenance": dict(self.provenance),
            }
        )
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def save(self, path: str | os.PathLike[str]) -> None:
        output_path(path, "fit").write_text(self.to_json() + "\n")


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _float_or_nan(value: object, name: str = "value") -> float:
    """``value`` as a float (``None``: NaN); an :class:`InputError` naming the field ``name`` otherwise."""
    if value is None:
        return float("nan")
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            pass
    raise InputError(f"fit JSON: {name} must be a number, got {value!r}; fix the file or regenerate it with `scalinglaws fit -o`")


def fit_from_dict(data: Mapping[str, object]) -> Fit:
    """Rebuild a :class:`Fit` from its JSON form.

    Raises
    ------
    InputError
        If the document is not a scalinglaws fit or names an unknown law.
    """
    if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
        raise InputError(f"not a scalinglaws fit: expected \"schema\": \"{SCHEMA}\" (write one with `scalinglaws fit ... -o fit.json`)")
    try:
        law = get_law(str(data["law"]))
        params = {p.name: _float_or_nan(data["params"][p.name], f"parameter {p.name!r}") for p in law.parameters}  # type: ignore[index]
        loss_spec = data.get("loss", {})
        loss = Loss(str(loss_spec.get("name", "huber")), float(loss_spec.get("delta", 1e-3)), str(loss_spec.get("space", "log")))  # type: ignore[union-attr]
    except KeyError as exc:
        raise InputError(f"fit JSON is missing {exc.args[0]!r}; regenerate it with `scalinglaws fit`") from exc
    except InputError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"fit JSON has a malformed law, params or loss field ({exc}); regenerate it with `scalinglaws fit -o`") from exc
    try:
        return _rebuild(data, law, params, loss)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"fit JSON has a malformed field ({type(exc).__name__}: {exc}); regenerate it with `scalinglaws fit -o`") from exc


def _rebuild(data: Mapping[str, object], law: Law, params: dict[str, float], loss: Loss) -> Fit:
    """The :class:`Fit` of a checked document (its law, parameters and objective already parsed)."""
    bootstrap = None
    boot = data.get("bootstrap")
    if isinstance(boot, Mapping) and boot.get("samples"):
        samples = np.array([[np.nan if v is None else v for v in row] for row in boot["samples"]], dtype=float)  # type: ignore[union-attr]
        bootstrap = Bootstrap(samples, float(data.get("level", 0.95)), str(boot.get("resampled_by", "run")), int(boot.get("seed", 0)), float(boot.get("residual_std", 0.0)))
    return Fit(
        law=law,
        params=params,
        objective=_float_or_nan(data.get("objective"), "objective"),
        loss=loss,
        n_points=int(data.get("n_points", 0)),
        status=str(data.get("status", "converged")),
        warnings=tuple(FitWarning(w["code"], w["message"]) for w in data.get("warnings", [])),  # type: ignore[union-attr,index]
        data_range={k: (float(v[0]), float(v[1])) for k, v in dict(data.get("data_range", {})).items()},  # type: ignore[arg-type]
        residual_std=float(data.get("residual_std", 0.0)),
        provenance=dict(data.get("provenance", {})),  # type: ignore[arg-type]
        notes=tuple(data.get("notes", ())),  # type: ignore[arg-type]
        bootstrap=bootstrap,
    )


def load_fit(path: str | os.PathLike[str] | Fit) -> Fit:
    """Read a fit saved by :meth:`Fit.save` or ``scalinglaws fit -o``."""
    if isinstance(path, Fit):
        return path
    data = read_fit_json(path, missing="create one with `scalinglaws fit RUNS --law NAME -o {name}`",
                         invalid="; pass the file written by `scalinglaws fit -o`")
    return fit_from_dict(data)


def read_fit_json(path: str | os.PathLike[str], *, missing: str, invalid: str = "") -> dict:
    """The JSON object in a saved fit file, with one-line errors for a missing or malformed file.

    ``missing`` tells the user how to make the file (``{name}`` is replaced by
    the file's name); ``invalid`` is appended to the invalid-JSON message.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"fit file not found: {str(p)!r}; {missing.format(name=p.name)}")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{str(p)!r} is not valid JSON ({exc.msg} at line {exc.lineno}){invalid}") from None
    if not isinstance(data, dict):
        raise InputError(f"{str(p)!r} does not hold a fit (expected a JSON object)")
    return data
