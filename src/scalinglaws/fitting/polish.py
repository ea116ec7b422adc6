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


def _objective_weights(loss: Loss, r: np.ndarray, delta: float) -> np.ndarray:
    """IRLS weights: the Huber objective is majorised by a weighted sum of squares."""
    if loss.name == "squared":
        return np.ones_like(r)
    a = np.abs(r)
    return np.where(a <= delta, 1.0, delta / np.maximum(a, 1e-300))


def _huber_sum(r: np.ndarray, delta: float, counts: np.ndarray | None = None) -> float:
    a = np.abs(r)
    m = np.minimum(a, delta)
    terms = m * (a - 0.5 * m)
    return float(np.sum(terms) if counts is None else terms @ counts)


def damped_gauss_newton(
    residuals,
    jacobian,
    u0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    loss: Loss,
    delta: float,
    *,
    max_iterations: int = 300,
    tolerance: float = 1e-14,
    counts: np.ndarray | None = None,
) -> tuple[np.ndarray, float, bool, str, int]:
    """Levenberg-Marquardt on the IRLS form of the (Huber or squared) sum, with bounds by projection.

    Each step solves ``(J' W J + lam diag) step = -J' W r`` with Huber weights
    ``W`` and accepts it only if the exact objective decreases; ``lam`` adapts.
    Small dense problems make this much cheaper per iteration than scipy's
    general trust-region code, while reaching the same optimum.
    """
    if loss.name != "squared":
        value_of = lambda r: _huber_sum(r, delta, counts)  # noqa: E731
    else:
        value_of = (lambda r: 0.5 * float(r @ r)) if counts is None else (lambda r: 0.5 * float((r * r) @ counts))  # noqa: E731
    u = np.clip(u0, lower, upper)
    r = residuals(u)
    value = value_of(r)
    lam = 1e-4
    evaluations = 1
    quiet = 0
    for iteration in range(max_iterations):
        jac = jacobian(u)
        w = _objective_weights(loss, r, delta)
        if counts is not None:
            w = w * counts
        grad = jac.T @ (w * r)
        hess = jac.T @ (w[:, None] * jac)
        # Projected gradient: a bound-active coordinate pushing outward is converged.
        free = ~(((u <= lower) & (grad > 0)) | ((u >= upper) & (grad < 0)))
        if np.max(np.abs(grad[free]), initial=0.0) <= 1e-15 * max(1.0, value):
            return u, value, True, "gradient below tolerance", evaluations
        diag = np.maximum(np.diag(hess), 1e-300)
        accepted = False
        while lam < 1e16:
            try:
                step = np.linalg.solve(hess + lam * np.diag(diag), -grad)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            trial = np.clip(u + step, lower, upper)
            r_trial = residuals(trial)
            evaluations += 1
            trial_value = value_of(r_trial) if np.all(np.isfinite(r_trial)) else np.inf
            if trial_value <= value:
                accepted = True
                break
            lam *= 8.0
        if not accepted:
            return u, value, True, "no further decrease possible (converged to machine precision)", evaluations
        change = value - trial_value
        moved = np.max(np.abs(trial - u) / np.maximum(1.0, np.abs(u)))
        u, r, value = trial, r_trial, trial_value
        lam = max(lam / 5.0, 1e-12)
        quiet = quiet + 1 if (change <= tolerance * max(value, 1e-300) and moved < 1e-10) else 0
        if quiet >= 2:
            return u, value, True, "objective and parameters stopped changing", evaluations
    return u, value, False, f"iteration limit ({max_iterations}) reached", evaluations


def polish(
    law: Law,
    start: dict[str, float],
    inputs: dict[str, np.ndarray],
    y: np.ndarray,
    loss: Loss,
    *,
    max_evaluations: int = 3000,
    counts: np.ndarray | None = None,
) -> Polished:
    """Minimise the objective over all parameters from ``start``.

    A fast damped Gauss-Newton (IRLS) solver runs first; scipy's trust-region
    ``least_squares`` takes over when that one does not report convergence
    and for the absolute loss. ``counts`` weighs each row as that many copies
    (the fallback expands the rows, so it is exact there too).
    """
    transform = Transform(law)
    log_y = np.log(y)
    size = len(law.parameters)

    def residuals(u: np.ndarray) -> np.ndarray:
        predicted = law.function(transform.to_params(u), inputs)
        if loss.space == "log":
            return np.log(predicted) - log_y
        return predicted - y

    def batched_residuals(columns: np.ndarray) -> np.ndarray:
        # Parameters as (P, 1) arrays broadcast against inputs: all P shifts in one call.
        params = {p.name: columns[i][:, None] for i, p in enumerate(law.parameters)}
        predicted = law.function(params, inputs)
        if loss.space == "log":
            return np.log(predicted) - log_y
        return predicted - y

    def jacobian(u: np.ndarray) -> np.ndarray:
        if law.complex_safe:
            shifted = np.repeat(u.astype(complex)[:, None], size, axis=1) + 1j * COMPLEX_STEP * np.eye(size)
            values = np.where(transform.log[:, None], np.exp(shifted), shifted)
            return (batched_residuals(values).imag / COMPLEX_STEP).T
        h = 1e-6 * np.maximum(1.0, np.abs(u))
        plus = np.repeat(u[:, None], size, axis=1) + np.diag(h)
        minus = np.repeat(u[:, None], size, axis=1) - np.diag(h)
        to_values = lambda m: np.where(transform.log[:, None], np.exp(m), m)  # noqa: E731
        return ((batched_residuals(to_values(plus)) - batched_residuals(to_values(minus))) / (2 * h[:, None])).T

    u0 = transform.to_vector(start)
    with np.errstate(all="ignore"):
        if not np.all(np.isfinite(residuals(u0))):
            return Polished(dict(start), float("inf"), False, "start gives invalid predictions", 0)
        if loss.name != "absolute":
            u, _, ok, message, evaluations = damped_gauss_newton(residuals, jacobian, u0, transform.lower, transform.upper, loss, loss.delta, counts=counts)
            if ok:
                params = {k: float(v) for k, v in transform.to_params(u).items()}
                return Polished(params, float(loss.total(law.function(params, inputs), y, counts)), True, message, evaluations)
            u0 = u
        if counts is not None:
            # scipy's robust losses have no row weights: fall back on real copies of the rows.
            copies = np.repeat(np.arange(y.size), counts.astype(int))
            expanded = polish(law, {k: float(v) for k, v in transform.to_params(u0).items()}, {k: v[copies] for k, v in inputs.items()}, y[copies], loss,
                              max_evaluations=max_evaluations)
            return expanded
        kwargs = {"loss": "huber", "f_scale": loss.delta} if loss.name == "huber" else {"loss": "linear"}
        if loss.name == "absolute":
            # Huber with a tiny delta is delta * |r| away from zero: a smooth stand-in for
            # |r| whose minimiser agrees to high accuracy (soft_l1 converged far worse here).
            scale = 1.0 if loss.space == "log" else float(np.median(np.abs(y)))
            kwargs = {"loss": "huber", "f_scale": ABSOLUTE_SURROGATE_DELTA * scale}
        result = least_squares(
            residuals,
            u0,
            jac=jacobian,
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
