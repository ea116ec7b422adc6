"""Objectives: a robust loss summed (never averaged) over residuals.

Hoffmann et al. (2022) minimise the **sum** of Huber losses of the log
residuals; dividing by the number of points makes gradient-based solvers stop
early (REFERENCE.md §1.3), so every objective here is a sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

LOSS_NAMES = ("huber", "squared", "absolute")
SPACES = ("log", "linear")


@dataclass(frozen=True)
class Loss:
    r"""How residuals are penalised.

    ``huber``: :math:`\rho(r) = r^2/2` for :math:`|r| \le \delta`, else
    :math:`\delta(|r| - \delta/2)`; ``squared``: :math:`r^2/2`;
    ``absolute``: :math:`|r|`. Residuals are :math:`\log \hat L - \log L` in
    ``log`` space and :math:`\hat L - L` in ``linear`` space.
    """

    name: str = "huber"
    delta: float = 1e-3
    space: str = "log"

    def __post_init__(self) -> None:
        if self.name not in LOSS_NAMES:
            raise InputError(f"unknown loss {self.name!r}; choose one of: {', '.join(LOSS_NAMES)}")
        if self.space not in SPACES:
            raise InputError(f"unknown residual space {self.space!r}; choose 'log' or 'linear'")
        if not (np.isfinite(self.delta) and self.delta > 0):
            raise InputError(f"--delta must be a positive number, got {self.delta!r}")

    def residuals(self, predicted: np.ndarray, observed: np.ndarray) -> np.ndarray:
        if self.space == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(predicted) - np.log(observed)
        return predicted - observed

    def rho(self, r: np.ndarray) -> np.ndarray:
        a = np.abs(r)
        if self.name == "huber":
            # m = min(|r|, delta): m (|r| - m/2) is r^2/2 inside delta and delta (|r| - delta/2) outside.
            m = np.minimum(a, self.delta)
            return m * (a - 0.5 * m)
        if self.name == "squared":
            return 0.5 * r * r
        return a

    def total(self, predicted: np.ndarray, observed: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``rho`` over the last axis (each row ``counts`` times); ``inf`` where a prediction is invalid."""
        r = self.residuals(predicted, observed)
        terms = self.rho(r)
        value = terms.sum(axis=-1) if counts is None else terms @ counts
        return np.where(np.isfinite(value), value, np.inf)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "delta": self.delta, "space": self.space}


def make_loss(loss: str | Loss = "huber", *, delta: float = 1e-3, space: str = "log") -> Loss:
    """The :class:`Loss` named ``loss`` (or ``loss`` itself)."""
    if isinstance(loss, Loss):
        return loss
    return Loss(loss, float(delta), space)
