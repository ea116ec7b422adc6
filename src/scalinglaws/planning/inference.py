"""Inference-aware allocation (Sardana et al. 2024, REFERENCE.md §5).

Minimise total FLOPs ``6 N D_train + 2 N D_inference`` subject to reaching a
target loss ``L(N, D_train) = target``; or, the reverse, the lowest loss for a
total FLOP budget. With large inference demand the optimum is a smaller model
trained on more tokens than Chinchilla-optimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from ..errors import InputError
from ..fitting.result import Fit
from .optimal import N_SEARCH, _edge_error

INFERENCE_FLOPS_PER_PARAM_TOKEN = 2.0
TRAIN_FLOPS_PER_PARAM_TOKEN = 6.0


@dataclass(frozen=True)
class InferencePlan:
    """N and D_train of the cheapest way to the target (or the best loss for a budget)."""

    N: float
    D_train: float
    D_inference: float
    loss: float
    training_flops: float
    inference_flops: float
    chinchilla_N: float
    chinchilla_D: float
    chinchilla_total_flops: float

    @property
    def total_flops(self) -> float:
        return self.training_flops + self.inference_flops

    def to_dict(self) -> dict[str, float]:
        return {
            "N": self.N, "D_train": self.D_train, "D_inference": self.D_inference, "loss": self.loss,
            "tokens_per_param": self.D_train / self.N, "training_flops": self.training_flops,
            "inference_flops": self.inference_flops, "total_flops": self.total_flops,
            "chinchilla_N": self.chinchilla_N, "chinchilla_D": self.chinchilla_D,
            "chinchilla_total_flops": self.chinchilla_total_flops,
            "saving": 1.0 - self.total_flops / self.chinchilla_total_flops,
        }


def _loss(fit: Fit, n: float, d: float) -> float:
    with np.errstate(all="ignore"):
        return float(fit.law.function(dict(fit.params), {"N": np.asarray(n), "D": np.asarray(d)}))


def tokens_for_loss(fit: Fit, n: float, target: float) -> float:
    """D such that L(n, D) = target, or inf if no D reaches it at this size."""
    if _loss(fit, n, 1e30) >= target:
        return np.inf
    lo, hi = np.log(1.0), np.log(1e30)
    if _loss(fit, n, np.exp(lo)) <= target:
        return float(np.exp(lo))
    return float(np.exp(brentq(lambda log_d: _loss(fit, n, np.exp(log_d)) - target, lo, hi, xtol=1e-12)))


def _cheapest(fit: Fit, target: float, d_inference: float) -> tuple[float, float]:
    def total(log_n: float) -> float:
        n = np.exp(log_n)
        d = tokens_for_loss(fit, n, target)
        return TRAIN_FLOPS_PER_PARAM_TOKEN * n * d + INFERENCE_FLOPS_PER_PARAM_TOKEN * n * d_inference

    grid = np.linspace(np.log(N_SEARCH[0]), np.log(N_SEARCH[1]), 400)
    values = np.array([total(v) for v in grid])
    if not np.isfinite(values).any():
        raise InputError(f"no model size up to {N_SEARCH[1]:.0e} parameters reaches loss {target}; choose a higher target loss")
    i = int(np.argmin(values))
    if i in _edges(values):
        raise _edge_error(fit, dict(fit.params), {}, at_low=i == _edges(values)[0], n=float(np.exp(grid[i])),
                          what=f"for target loss {target:g}", quantity="the total FLOPs",
                          fix="choose a target loss the law reaches with a model inside that range")
    best = minimize_scalar(total, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]), method="bounded", options={"xatol": 1e-9})
    n = float(np.exp(best.x))
    return n, tokens_for_loss(fit, n, target)


def _edges(values: np.ndarray) -> tuple[int, int]:
    """Indices of the first and last finite values: an optimum there is the search range's edge, not a plan."""
    finite = np.flatnonzero(np.isfinite(values))
    return int(finite[0]), int(finite[-1])


def _check(fit: Fit, d_inference: float) -> None:
    if not {"N", "D"} <= set(fit.law.variables) or len(fit.law.variables) != 2:
        raise InputError(f"inference-aware allocation needs a law in N and D; law {fit.law.name!r} takes {', '.join(fit.law.variables)}")
    if not (np.isfinite(d_inference) and d_inference >= 0):
        raise InputError(f"--inference-tokens must be a number >= 0, got {d_inference!r}")


def inference_optimal(fit: Fit, *, target_loss: float, inference_tokens: float) -> InferencePlan:
    """Cheapest (N, D_train) reaching ``target_loss`` when serving ``inference_tokens``.

    Raises
    ------
    InputError
        If the target is at or below the law's irreducible loss.
    """
    _check(fit, inference_tokens)
    floor = _loss(fit, 1e30, 1e30)
    if not target_loss > floor:
        raise InputError(f"target loss {target_loss} is at or below the law's irreducible loss {floor:.4g}; no model reaches it")
    n, d = _cheapest(fit, target_loss, inference_tokens)
    n0, d0 = _cheapest(fit, target_loss, 0.0)
    chin_total = TRAIN_FLOPS_PER_PARAM_TOKEN * n0 * d0 + INFERENCE_FLOPS_PER_PARAM_TOKEN * n0 * inference_tokens
    return InferencePlan(n, d, inference_tokens, _loss(fit, n, d), TRAIN_FLOPS_PER_PARAM_TOKEN * n * d,
                         INFERENCE_FLOPS_PER_PARAM_TOKEN * n * inference_tokens, n0, d0, chin_total)


def best_loss_for_budget(fit: Fit, *, total_flops: float, inference_tokens: float) -> InferencePlan:
    """Lowest loss reachable with ``total_flops`` of training plus inference."""
    _check(fit, inference_tokens)
    if not (np.isfinite(total_flops) and total_flops > 0):
        raise InputError(f"--total-flops must be a positive number, got {total_flops!r}")

    def loss_at(log_n: float) -> float:
        n = np.exp(log_n)
        d = (total_flops - INFERENCE_FLOPS_PER_PARAM_TOKEN * n * inference_tokens) / (TRAIN_FLOPS_PER_PARAM_TOKEN * n)
        return _loss(fit, n, d) if d > 1 else np.inf

    grid = np.linspace(np.log(N_SEARCH[0]), np.log(N_SEARCH[1]), 800)
    values = np.array([loss_at(v) for v in grid])
    if not np.isfinite(values).any():
        raise InputError(f"a budget of {total_flops:.3g} FLOPs cannot even serve {inference_tokens:.3g} inference tokens with a {N_SEARCH[0]:.0e}-parameter model")
    i = int(np.argmin(values))
    if i in _edges(values):
        raise _edge_error(fit, dict(fit.params), {}, at_low=i == _edges(values)[0], n=float(np.exp(grid[i])),
                          what=f"for --total-flops {total_flops:.3g}",
                          fix="the budget is outside what the law can plan; give one whose best model lies inside that range")
    best = minimize_scalar(loss_at, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]), method="bounded", options={"xatol": 1e-9})
    n = float(np.exp(best.x))
    d = (total_flops - INFERENCE_FLOPS_PER_PARAM_TOKEN * n * inference_tokens) / (TRAIN_FLOPS_PER_PARAM_TOKEN * n)
    loss = _loss(fit, n, d)
    n0, d0 = _cheapest(fit, loss, 0.0)
    return InferencePlan(n, d, inference_tokens, loss, TRAIN_FLOPS_PER_PARAM_TOKEN * n * d, INFERENCE_FLOPS_PER_PARAM_TOKEN * n * inference_tokens,
                         n0, d0, TRAIN_FLOPS_PER_PARAM_TOKEN * n0 * d0 + INFERENCE_FLOPS_PER_PARAM_TOKEN * n0 * inference_tokens)
