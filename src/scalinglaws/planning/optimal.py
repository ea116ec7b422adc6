"""Compute-optimal allocation: the N and D that minimise loss at a budget C = 6 N D."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from ..data.runs import FLOPS_PER_PARAM_TOKEN
from ..errors import InputError
from ..fitting.result import Fit

#: Search range of the numeric optimiser, in parameters.
N_SEARCH = (1e3, 1e16)


@dataclass(frozen=True)
class Allocation:
    """Compute-optimal model size and token count at one compute budget."""

    C: float
    N: float
    D: float
    tokens_per_param: float
    loss: float
    method: str
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    level: float | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "C": self.C, "N": self.N, "D": self.D,
            "tokens_per_param": self.tokens_per_param, "loss": self.loss, "method": self.method,
        }
        if self.intervals:
            out["intervals"] = {k: list(v) for k, v in self.intervals.items()}
            out["level"] = self.level
        return out


def chinchilla_allocation(params: dict[str, float], compute: float) -> tuple[float, float]:
    r"""Closed-form N*, D* for :math:`L = E + A N^{-\alpha} + B D^{-\beta}` at C = 6 N D.

    :math:`G = (\alpha A / (\beta B))^{1/(\alpha+\beta)}`,
    :math:`N^* = G (C/6)^{\beta/(\alpha+\beta)}`,
    :math:`D^* = G^{-1} (C/6)^{\alpha/(\alpha+\beta)}` (Hoffmann et al. 2022, eq. 4).
    """
    a, b = params["alpha"], params["beta"]
    g = (a * params["A"] / (b * params["B"])) ** (1.0 / (a + b))
    budget = compute / FLOPS_PER_PARAM_TOKEN
    return g * budget ** (b / (a + b)), budget ** (a / (a + b)) / g


def numeric_allocation(fit: Fit, compute: float, params: dict[str, float] | None = None) -> tuple[float, float]:
    """N*, D* by minimising the law along the IsoFLOP curve D = C / (6 N)."""
    law, theta = fit.law, dict(params or fit.params)
    budget = compute / FLOPS_PER_PARAM_TOKEN

    def loss_at(log_n: np.ndarray | float) -> np.ndarray:
        n = np.exp(log_n)
        with np.errstate(all="ignore"):
            value = law.function(theta, {"N": np.asarray(n, dtype=float), "D": np.asarray(budget / n, dtype=float)})
        return np.where(np.isfinite(value), value, np.inf)

    hi = min(np.log(N_SEARCH[1]), np.log(budget))
    grid = np.linspace(np.log(N_SEARCH[0]), hi, 2001)
    values = loss_at(grid)
    i = int(np.argmin(values))
    lo_i, hi_i = max(i - 1, 0), min(i + 1, grid.size - 1)
    best = minimize_scalar(lambda v: float(loss_at(v)), bounds=(grid[lo_i], grid[hi_i]), method="bounded", options={"xatol": 1e-10})
    n_opt = float(np.exp(best.x))
    return n_opt, budget / n_opt


def compute_optimal(fit: Fit, compute: float, *, method: str = "auto") -> Allocation:
    r"""The N and D that minimise the fitted loss at training compute ``C = 6 N D``.

    Closed form for Chinchilla's law (Hoffmann et al. 2022); a bounded numeric
    minimisation along the IsoFLOP curve for every other law in (N, D).
    Parameters are used unrounded: rounding alone moves N* by 20%
    (REFERENCE.md §1.3).

    Parameters
    ----------
    fit: a fitted law in N and D.
    compute: training FLOPs, > 0.
    method: ``"auto"`` (closed form when available), ``"closed"`` or ``"numeric"``.

    Examples
    --------
    >>> from scalinglaws.laws import CHINCHILLA, CHINCHILLA_PUBLISHED
    >>> from scalinglaws.fitting import Fit, Loss
    >>> f = Fit(CHINCHILLA, CHINCHILLA_PUBLISHED, 0.0, Loss(), 0, "converged")
    >>> round(compute_optimal(f, 5.76e23).N / 1e10, 2)
    4.04
    """
    if not (isinstance(compute, (int, float, np.floating)) and np.isfinite(compute) and compute > 0):
        raise InputError(f"--compute must be a positive number of FLOPs, got {compute!r}")
    if not {"N", "D"} <= set(fit.law.variables):
        raise InputError(f"law {fit.law.name!r} is not a law in N and D, so it has no compute-optimal allocation; fit chinchilla or kaplan")
    if method not in ("auto", "closed", "numeric"):
        raise InputError(f"method must be 'auto', 'closed' or 'numeric', got {method!r}")
    closed = fit.law.name == "chinchilla"
    if method == "closed" and not closed:
        raise InputError(f"law {fit.law.name!r} has no closed-form allocation; use method='numeric'")
    params = dict(fit.params)
    if closed and method != "numeric":
        n, d = chinchilla_allocation(params, float(compute))
        used = "closed form (Hoffmann et al. 2022)"
    else:
        n, d = numeric_allocation(fit, float(compute))
        used = "numeric minimisation along C = 6 N D"
    loss = float(fit.law.function(params, {"N": np.asarray(n), "D": np.asarray(d)}))
    return Allocation(float(compute), float(n), float(d), float(d / n), loss, used)
