"""The reference procedure of Hoffmann et al. (2022), Approach 3.

L-BFGS from each of the 4,500 points of the grid alpha, beta in
{0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25} on

    log L_hat = LSE(a - alpha log N, b - beta log D, e),

minimising the **sum** of Huber(delta) of log L_hat - log L, keeping the best
(REFERENCE.md §1.3). It is here as the yardstick that tests and benchmarks
compare :func:`scalinglaws.fit` against: same data, same objective. It uses
analytic gradients and is as fast as scipy's L-BFGS-B allows, but it is slow
by design (one scipy call per start).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

ALPHAS = BETAS = (0.0, 0.5, 1.0, 1.5, 2.0)
ES = (-1.0, -0.5, 0.0, 0.5, 1.0)
AS = BS = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)


@dataclass(frozen=True)
class ReferenceResult:
    params: dict[str, float]
    objective: float
    starts: int


def reference_grid() -> np.ndarray:
    """The 4,500 starting points as rows (a, b, e, alpha, beta)."""
    return np.array([(a, b, e, al, be) for a, b, e, al, be in itertools.product(AS, BS, ES, ALPHAS, BETAS)])


def _objective_and_gradient(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_y: np.ndarray, delta: float) -> tuple[float, np.ndarray]:
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
    lse = logsumexp(terms, axis=0)
    r = lse - log_y
    absr = np.abs(r)
    huber = np.where(absr <= delta, 0.5 * r * r, delta * (absr - 0.5 * delta))
    dh = np.clip(r, -delta, delta)  # derivative of Huber
    weights = np.exp(terms - lse)  # softmax over the three terms
    grad = np.array([
        np.sum(dh * weights[0]),
        np.sum(dh * weights[1]),
        np.sum(dh * weights[2]),
        -np.sum(dh * weights[0] * log_n),
        -np.sum(dh * weights[1] * log_d),
    ])
    return float(np.sum(huber)), grad


#: Tolerances for polishing the best start: L-BFGS-B's defaults stop short of the optimum on flat valleys,
#: and where they stop has moved between SciPy releases.
POLISH_OPTIONS = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 20_000}


def reference_fit(n: np.ndarray, d: np.ndarray, loss: np.ndarray, *, delta: float = 1e-3, starts: np.ndarray | None = None,
                  polish: bool = False) -> ReferenceResult:
    """Run the 4,500-start L-BFGS procedure; return the best parameters (E, A, alpha, B, beta).

    With ``polish``, the best start is run again to tight tolerances
    (``POLISH_OPTIONS``), so that the result is the optimum itself rather
    than wherever the default stopping rule halted; use it to compare
    optima, not to time the paper's recipe.
    """
    log_n, log_d, log_y = np.log(n), np.log(d), np.log(loss)
    grid = reference_grid() if starts is None else starts
    best_value, best_theta = np.inf, None
    for x0 in grid:
        result = minimize(_objective_and_gradient, x0, args=(log_n, log_d, log_y, delta), jac=True, method="L-BFGS-B")
        if result.fun < best_value:
            best_value, best_theta = float(result.fun), result.x
    assert best_theta is not None
    if polish:
        result = minimize(_objective_and_gradient, best_theta, args=(log_n, log_d, log_y, delta), jac=True, method="L-BFGS-B",
                          options=POLISH_OPTIONS)
        if result.fun < best_value:
            best_value, best_theta = float(result.fun), result.x
    a, b, e, alpha, beta = best_theta
    params = {"E": float(np.exp(e)), "A": float(np.exp(a)), "alpha": float(alpha), "B": float(np.exp(b)), "beta": float(beta)}
    return ReferenceResult(params, best_value, len(grid))
