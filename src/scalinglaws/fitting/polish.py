"""Local polish of all parameters from a start found by the global search.

The objective is minimised in a transformed space where positive scales are
represented by their logarithm (the log-sum-exp form of Hoffmann et al.).
scipy's trust-region reflective ``least_squares`` with ``loss="huber"`` and
``f_scale=delta`` minimises exactly the sum of Huber losses (its cost is
half the sum of ``f_scale^2 * rho(r^2 / f_scale^2)``), so it handles bounds
and uses an exact Jacobian from complex-step differentiation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..laws.base import Law
from .objectives import Loss

#: Smallest value a log-scale parameter starts from when the search put it at 0.
LOG_FLOOR = 1e-12
COMPLEX_STEP = 1e-30
ABSOLUTE_SURROGATE_DELTA = 1e-5


@dataclass(frozen=True)
class Polished:
    params: dict[str, float]
    objective: float
    success: bool
    message: str
    evaluations: int


class Transform:
    """Maps law parameters to the solver's unconstrained-ish vector and back."""

    def __init__(self, law: Law):
        self.law = law
        self.log = np.array([p.log_scale for p in law.parameters])
        lower = np.array([p.lower for p in law.parameters], dtype=float)
        upper = np.array([p.upper for p in law.parameters], dtype=float)
        with np.errstate(divide="ignore"):
            self.lower = np.where(self.log, np.log(np.maximum(lower, 0.0)), lower)
            self.upper = np.where(self.log, np.log(upper), upper)

    def to_vector(self, params: dict[str, float]) -> np.ndarray:
        values = np.array([float(params[p.name]) for p in self.law.parameters])
        values = np.where(self.log, np.log(np.maximum(values, LOG_FLOOR)), values)
        return np.clip(values, self.lower, self.upper)

    def to_params(self, u: np.ndarray) -> dict:
        values = np.where(self.log, np.exp(u), u) if not np.iscomplexobj(u) else np.array(
            [np.exp(v) if lg else v for v, lg in zip(u, self.log, strict=True)]
        )
        return {p.name: values[i] for i, p in enumerate(self.law.parameters)}


def polish(
    law: Law,
    start: dict[str, float],
    inputs: dict[str, np.ndarray],
    y: np.ndarray,
    loss: Loss,
    *,
    max_evaluations: int = 3000,
) -> Polished:
    """Minimise the objective over all parameters from ``start``."""
    transform = Transform(law)
    log_y = np.log(y)

    def residuals(u: np.ndarray) -> np.ndarray:
        predicted = law.function(transform.to_params(u), inputs)
        if loss.space == "log":
            return np.log(predicted) - log_y
        return predicted - y

    def jacobian(u: np.ndarray) -> np.ndarray:
        jac = np.empty((y.size, u.size))
        for j in range(u.size):
            shifted = u.astype(complex)
            shifted[j] += 1j * COMPLEX_STEP
            jac[:, j] = residuals(shifted).imag / COMPLEX_STEP
        return jac

    u0 = transform.to_vector(start)
    with np.errstate(all="ignore"):
        if not np.all(np.isfinite(residuals(u0))):
            return Polished(dict(start), float("inf"), False, "start gives invalid predictions", 0)
        kwargs = {"loss": "huber", "f_scale": loss.delta} if loss.name == "huber" else {"loss": "linear"}
        if loss.name == "absolute":
            # Huber with a tiny delta is delta * |r| away from zero: a smooth stand-in for
            # |r| whose minimiser agrees to high accuracy (soft_l1 converged far worse here).
            scale = 1.0 if loss.space == "log" else float(np.median(np.abs(y)))
            kwargs = {"loss": "huber", "f_scale": ABSOLUTE_SURROGATE_DELTA * scale}
        result = least_squares(
            residuals,
            u0,
            jac=jacobian if law.complex_safe else "3-point",
            bounds=(transform.lower, transform.upper),
            method="trf",
            x_scale="jac",
            ftol=1e-12,
            xtol=1e-12,
            gtol=1e-12,
            max_nfev=max_evaluations,
            **kwargs,
        )
        params = {k: float(v) for k, v in transform.to_params(result.x).items()}
        objective = float(loss.total(law.function(params, inputs), y))
    # Status 1-4: a tolerance was met; 0: the evaluation limit was reached.
    return Polished(params, objective, bool(result.status > 0), str(result.message), int(result.nfev))
