"""Compute-optimal allocation: the N and D that minimise loss at a budget C = 6 N D."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from ..data.runs import FLOPS_PER_PARAM_TOKEN
from ..errors import FitError, InputError
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
    epochs: float | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "C": self.C, "N": self.N, "D": self.D,
            "tokens_per_param": self.tokens_per_param, "loss": self.loss, "method": self.method,
        }
        if self.epochs is not None:
            out["epochs"] = self.epochs
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
    if not all(math.isfinite(v) and v > 0 for v in (a, b, params["A"], params["B"])):
        return math.nan, math.nan  # a term that does not fall: no interior optimum
    g = (a * params["A"] / (b * params["B"])) ** (1.0 / (a + b))
    budget = compute / FLOPS_PER_PARAM_TOKEN
    return g * budget ** (b / (a + b)), budget ** (a / (a + b)) / g


def numeric_allocation(fit: Fit, compute: float, params: dict[str, float] | None = None, extra: dict[str, np.ndarray] | None = None) -> tuple[float, float]:
    """N*, D* by minimising the law along the IsoFLOP curve D = C / (6 N)."""
    law, theta = fit.law, dict(params or fit.params)
    extra = extra or {}
    budget = compute / FLOPS_PER_PARAM_TOKEN

    def loss_at(log_n: np.ndarray | float) -> np.ndarray:
        n = np.exp(log_n)
        with np.errstate(all="ignore"):
            value = law.function(theta, {"N": np.asarray(n, dtype=float), "D": np.asarray(budget / n, dtype=float), **extra})
        return np.where(np.isfinite(value), value, np.inf)

    hi = min(np.log(N_SEARCH[1]), np.log(budget))
    grid = np.linspace(np.log(N_SEARCH[0]), hi, 2001)
    values = loss_at(grid)
    i = int(np.argmin(values))
    if i in (0, grid.size - 1):
        raise _edge_error(fit, theta, extra, at_low=i == 0, n=float(np.exp(grid[i])), what=f"at C={compute:.3g}",
                          fix="--compute is outside what the law can plan; give a budget whose optimum lies inside that range")
    lo_i, hi_i = max(i - 1, 0), min(i + 1, grid.size - 1)
    best = minimize_scalar(lambda v: float(loss_at(v)), bounds=(grid[lo_i], grid[hi_i]), method="bounded", options={"xatol": 1e-10})
    n_opt = float(np.exp(best.x))
    return n_opt, budget / n_opt


def _flat_term(fit: Fit, variable: str, params: dict[str, float] | None = None, extra: dict[str, np.ndarray] | None = None) -> bool:
    """True when the law's loss does not change as ``variable`` (N or D) spans the search range.

    A fit whose model-size (or data) coefficient is 0 or vanishingly small has
    such a term; any optimiser over it runs to the edge of its range.
    """
    theta, extra = dict(params or fit.params), extra or {}
    other = "D" if variable == "N" else "N"
    with np.errstate(all="ignore"):
        ends = [float(fit.law.function(theta, {variable: np.asarray(v), other: np.asarray(1e12), **extra})) for v in N_SEARCH]
    return bool(np.isfinite(ends).all() and abs(ends[0] - ends[1]) <= 1e-9 * max(abs(ends[1]), 1e-300))


def _edge_error(fit: Fit, params: dict[str, float], extra: dict[str, np.ndarray], *, at_low: bool, n: float, what: str, fix: str,
                quantity: str = "the loss") -> FitError | InputError:
    """The error for an optimum on the edge of the search range ``N_SEARCH``: never return the edge as a plan."""
    direction, term, variable = ("shrinks", "model-size", "N") if at_low else ("grows", "data", "D")
    shown = ", ".join(f"{k}={v:.3g}" for k, v in params.items())
    if _flat_term(fit, variable, params, extra):
        return FitError(f"the fitted {fit.law.name} law has no optimum {what}: its {term} term is flat (the loss does not fall with {variable}; "
                        f"{shown}), so the optimiser runs to the edge of its range, N={n:.3g}; refit with more runs spread over {variable}")
    return InputError(f"no plan {what}: the {fit.law.name} law's optimum lies beyond the searched sizes N = {N_SEARCH[0]:.0e} to "
                      f"{N_SEARCH[1]:.0e} ({quantity} still falls as N {direction} to {n:.3g}); {fix}")


def compute_optimal(fit: Fit, compute: float, *, method: str = "auto", unique_tokens: float | None = None) -> Allocation:
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
    unique_tokens: for laws in (N, D, U) such as ``data_constrained``, the unique
        tokens available; the allocation then reports epochs = D / U.

    With bootstrap replicates in ``fit``, the allocation carries percentile
    intervals for N, D, tokens per parameter and loss.

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
    extra = _extra_inputs(fit, unique_tokens)
    if method not in ("auto", "closed", "numeric"):
        raise InputError(f"method must be 'auto', 'closed' or 'numeric', got {method!r}")
    closed = fit.law.name == "chinchilla"
    if method == "closed" and not closed:
        raise InputError(f"law {fit.law.name!r} has no closed-form allocation; use method='numeric'")
    use_closed = closed and method != "numeric"
    used = "closed form (Hoffmann et al. 2022)" if use_closed else "numeric minimisation along C = 6 N D"

    def allocate(params: dict[str, float]) -> tuple[float, float, float]:
        if use_closed:
            n, d = chinchilla_allocation(params, float(compute))
            _check_in_range(fit, n, compute)
        else:
            n, d = numeric_allocation(fit, float(compute), params, extra)
        loss = float(fit.law.function(params, {"N": np.asarray(n), "D": np.asarray(d), **extra}))
        return n, d, loss

    n, d, loss = allocate(dict(fit.params))
    if not (math.isfinite(n) and math.isfinite(d)):
        shown = ", ".join(f"{k}={v:.3g}" for k, v in fit.params.items())
        raise FitError(f"the fitted {fit.law.name} law has no compute-optimal allocation at C={compute:.3g} ({shown}): "
                       "a term that does not fall with N or D leaves nothing to trade; refit with more runs spread over N and D")
    intervals: dict[str, tuple[float, float]] = {}
    level = None
    if fit.bootstrap is not None:
        from ..uncertainty.intervals import percentile_interval, replicate_params

        level = fit.bootstrap.level
        with np.errstate(all="ignore"):
            values = np.array([_allocate_or_nan(allocate, p) for p in replicate_params(fit)])
        values = np.column_stack([values[:, 0], values[:, 1], values[:, 1] / values[:, 0], values[:, 2]])
        lo, hi = percentile_interval(values, level)
        intervals = {name: (float(a), float(b)) for name, a, b in zip(("N", "D", "tokens_per_param", "loss"), lo, hi, strict=True)}
    return Allocation(float(compute), float(n), float(d), float(d / n), loss, used, intervals, level,
                      epochs=float(d / unique_tokens) if unique_tokens else None)


def _check_in_range(fit: Fit, n: float, compute: float) -> None:
    """A closed-form N* outside the sizes the numeric search plans over (``N_SEARCH``) is no plan either: say so, as the search does."""
    if math.isfinite(n) and not (N_SEARCH[0] <= n <= N_SEARCH[1]):
        raise InputError(f"no plan at C={compute:.3g}: the {fit.law.name} law's optimum is N* = {n:.3g} parameters, outside the sizes "
                         f"planned for, N = {N_SEARCH[0]:.0e} to {N_SEARCH[1]:.0e}; --compute is outside what the law can plan; "
                         "give a budget whose optimum lies inside that range")


def _allocate_or_nan(allocate, params: dict[str, float]) -> tuple[float, float, float]:
    """A bootstrap replicate without an optimum in range counts as not converged (NaN, ignored by the interval)."""
    try:
        return allocate(params)
    except (FitError, InputError):
        return math.nan, math.nan, math.nan


def _extra_inputs(fit: Fit, unique_tokens: float | None) -> dict[str, np.ndarray]:
    """Inputs other than N and D a law needs at planning time (unique tokens U)."""
    others = [v for v in fit.law.variables if v not in ("N", "D")]
    if others == ["U"]:
        if unique_tokens is None:
            raise InputError(f"law {fit.law.name!r} needs the unique tokens available: pass --unique-tokens U (Python: unique_tokens=U)")
        if not (np.isfinite(unique_tokens) and unique_tokens > 0):
            raise InputError(f"--unique-tokens must be a positive number of tokens, got {unique_tokens!r}")
        return {"U": np.asarray(float(unique_tokens))}
    if others:
        raise InputError(f"law {fit.law.name!r} needs {', '.join(others)} besides N and D; it has no compute-optimal allocation here")
    if unique_tokens is not None:
        raise InputError(f"--unique-tokens applies to data-constrained laws; law {fit.law.name!r} does not use U")
    return {}


def frontier(fit: Fit, lower: float, upper: float, *, points: int = 7, unique_tokens: float | None = None) -> list[Allocation]:
    """Compute-optimal allocations at ``points`` log-spaced budgets from ``lower`` to ``upper``.

    Raises
    ------
    InputError
        If the range is empty or not positive.
    """
    if not (np.isfinite(lower) and np.isfinite(upper) and 0 < lower <= upper):
        raise InputError(f"--compute-range must be LOW:HIGH with 0 < LOW <= HIGH, got {lower:g}:{upper:g}")
    if not isinstance(points, int) or points < 1:
        raise InputError(f"points must be a positive integer, got {points!r}")
    budgets = np.geomspace(lower, upper, points) if upper > lower else np.array([lower])
    return [compute_optimal(fit, float(c), unique_tokens=unique_tokens) for c in budgets]
