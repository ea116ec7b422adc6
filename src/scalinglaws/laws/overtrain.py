"""Over-training and downstream error (Gadre et al. 2024), REFERENCE.md §1.7.

Loss in compute ``C = 6 N D`` and token multiplier ``M = D / N``:

    L(C, M) = E + (a M^eta + b M^-eta) C^-eta

This is Chinchilla's law with equal exponents, ``alpha = beta = 2 eta``,
written so that over-training (large ``M``) reads off directly: at fixed
``M`` the loss is a power law in compute with the same exponent ``eta`` for
every multiplier, which is what lets a few cheap runs predict an over-trained
large one. With ``A = a 6^-eta`` and ``B = b 6^-eta`` it equals
``E + A / N^(2 eta) + B / D^(2 eta)``. The law takes ``N`` and ``D``, the
columns every ladder has, and forms ``C`` and ``M`` from them.

Average top-1 error on downstream tasks from the loss:

    Err(L) = epsilon - k exp(-gamma L)

``epsilon`` is the error the curve approaches as the loss grows (near chance),
and the error falls exponentially as the loss drops. The law's input is the
``loss`` column; fit it to an error column with ``fit(..., target=...)``.
Error rises with loss, so the law is declared ``monotone=False`` (the
library's monotone check expects values that fall as inputs grow).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import ArrayMap, Law, Parameter, Projection, register_law

#: Flops per parameter per token of the compute C = 6 N D (Gadre et al. use the same).
FLOPS_PER_PARAM_TOKEN = 6.0

ETA_GRID = tuple(float(x) for x in np.round(np.geomspace(0.005, 1.5, 100), 6))
GAMMA_GRID = tuple(float(x) for x in np.round(np.geomspace(0.02, 20.0, 100), 6))


def compute_and_multiplier(n: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training compute ``C = 6 N D`` and token multiplier ``M = D / N``."""
    return FLOPS_PER_PARAM_TOKEN * n * d, d / n


def _overtrain(params: ArrayMap, x: ArrayMap) -> np.ndarray:
    c, m = compute_and_multiplier(x["N"], x["D"])
    eta = params["eta"]
    return params["E"] + (params["a"] * m**eta + params["b"] * m**-eta) * c**-eta


def _overtrain_columns(eta: np.ndarray, x: ArrayMap) -> tuple[np.ndarray, np.ndarray]:
    c, m = compute_and_multiplier(x["N"], x["D"])
    # M^eta C^-eta = (6 N^2)^-eta and M^-eta C^-eta = (6 D^2)^-eta: no overflow for large C.
    return (m / c) ** eta, (1.0 / (m * c)) ** eta


def _overtrain_design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
    over, under = _overtrain_columns(nl["eta"], x)
    return np.stack(np.broadcast_arrays(np.ones_like(over * under), over, under), axis=-1)


def _overtrain_assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
    return {"E": coefs[:, 0], "a": coefs[:, 1], "b": coefs[:, 2], "eta": nl["eta"].ravel()}


OVERTRAIN = Law(
    name="overtrain",
    variables=("N", "D"),
    parameters=(
        Parameter("E", 0.0, np.inf, log_scale=True, linear=True, description="irreducible loss"),
        Parameter("a", 0.0, np.inf, log_scale=True, linear=True, description="coefficient of the over-training term M^eta C^-eta"),
        Parameter("b", 0.0, np.inf, log_scale=True, linear=True, description="coefficient of the under-training term M^-eta C^-eta"),
        Parameter("eta", 0.0, 5.0, grid=ETA_GRID, description="compute exponent (Chinchilla's alpha = beta = 2 eta)"),
    ),
    function=_overtrain,
    formula="L = E + (a M^eta + b M^-eta) C^-eta, C = 6 N D, M = D / N",
    latex=r"L(C, M) = E + \left(a M^{\eta} + b M^{-\eta}\right) C^{-\eta},\quad C = 6ND,\ M = D/N",
    citation="Gadre et al. 2024, Language models scale reliably with over-training and on downstream tasks, arXiv:2403.08540",
    projection=Projection(
        design=_overtrain_design,
        assemble=_overtrain_assemble,
        separable=(
            (None, lambda _, x: np.ones((1, x["N"].size))),
            ("eta", lambda eta, x: _overtrain_columns(eta, x)[0]),
            ("eta", lambda eta, x: _overtrain_columns(eta, x)[1]),
        ),
    ),
    description="Loss in compute and token multiplier M = D/N (over-training); Chinchilla with alpha = beta = 2 eta.",
)


def optimal_token_multiplier(params: Mapping[str, float]) -> float:
    r"""The token multiplier that minimises the over-training law's loss at any fixed compute.

    .. math:: M^* = (b / a)^{1 / (2\eta)}

    It does not depend on the compute: with equal exponents the
    compute-optimal tokens per parameter is a constant (Gadre et al. 2024).

    Examples
    --------
    >>> round(optimal_token_multiplier({"E": 1.7, "a": 100.0, "b": 400.0, "eta": 0.25}), 6)
    16.0
    """
    return float((params["b"] / params["a"]) ** (1.0 / (2.0 * params["eta"])))


def _downstream_error(params: ArrayMap, x: ArrayMap) -> np.ndarray:
    return params["epsilon"] - params["k"] * np.exp(-params["gamma"] * x["loss"])


def _downstream_design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
    decay = -np.exp(-nl["gamma"] * x["loss"])
    return np.stack([np.ones_like(decay), decay], axis=-1)


def _downstream_assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
    return {"epsilon": coefs[:, 0], "k": coefs[:, 1], "gamma": nl["gamma"].ravel()}


DOWNSTREAM_ERROR = Law(
    name="downstream_error",
    variables=("loss",),
    parameters=(
        Parameter("epsilon", 0.0, np.inf, log_scale=True, linear=True, description="error approached as the loss grows (about chance)"),
        Parameter("k", 0.0, np.inf, log_scale=True, linear=True, description="scale of the error's decay"),
        Parameter("gamma", 0.0, 100.0, grid=GAMMA_GRID, description="decay rate of the error in the loss"),
    ),
    function=_downstream_error,
    formula="Err = epsilon - k exp(-gamma L)",
    latex=r"\mathrm{Err}(L) = \epsilon - k\, e^{-\gamma L}",
    citation="Gadre et al. 2024, Language models scale reliably with over-training and on downstream tasks, arXiv:2403.08540",
    projection=Projection(
        design=_downstream_design,
        assemble=_downstream_assemble,
        separable=(
            (None, lambda _, x: np.ones((1, x["loss"].size))),
            ("gamma", lambda g, x: -np.exp(-g * x["loss"])),
        ),
    ),
    monotone=False,
    description="Average downstream top-1 error as a function of the loss (fit with target= the error column).",
)

register_law(OVERTRAIN)
register_law(DOWNSTREAM_ERROR)
