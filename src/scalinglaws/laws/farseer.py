"""Farseer (Li et al. 2025), REFERENCE.md §1.5.

Chinchilla's ``E + B / D^beta`` at every model size, with the irreducible
term, the data coefficient and the data exponent each a smooth function of N:

    L(N, D) = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) D^(-exp(a1 N^alpha + b1))

The data exponent may shrink or grow with N, which a separable law such as
Chinchilla's cannot express; Li et al. report 0.50% mean extrapolation error
against 2.68% for Chinchilla's form on about 1,000 models.

For fixed exponents and ``a1, a2, a3, b1`` the law is linear in ``e^b3`` and
``e^b2``, which the global search solves exactly (variable projection).

N counts **non-embedding** parameters, as in the paper. Nine parameters need
many model sizes: with a dozen or two sizes the N-dependence is weakly
identified and fits typically warn that they are ill-conditioned, or that
``b3``/``b2`` sit on their bounds (``a N^g + b`` with ``g -> 0`` and
``a -> -b`` is the limit where a term becomes a plain power of N). Judge the
law by a backtest, not by its parameters.
"""

from __future__ import annotations

import numpy as np

from .base import ArrayMap, Law, Parameter, Projection, register_law

#: Smallest linear coefficient kept when a term is switched off: e^-30, so b = -30.
LOG_COEF_FLOOR = -30.0

#: Starting grids. The products ``a N^exponent`` matter, not ``a`` alone; the
#: grids cover terms that change by 0.01 to a few units over N = 1e7..1e11,
#: increasing or decreasing with N.
A3_GRID = (-1.0, -0.1, -0.01, 0.01, 0.1)
GAMMA_GRID = (-0.2, 0.1, 0.2)
A2_GRID = (-3.0, 3.0, 30.0, 300.0)
BETA_GRID = (-0.2, -0.1, 0.1)
A1_GRID = (-1.0, -0.1, -0.01, 0.01, 0.1)
ALPHA_GRID = (-0.2, 0.1, 0.2)
B1_GRID = (-1.5, -0.75, 0.0, 0.75)


def _farseer(params: ArrayMap, x: ArrayMap) -> np.ndarray:
    n, d = x["N"], x["D"]
    irreducible = np.exp(params["a3"] * n ** params["gamma"] + params["b3"])
    data_exponent = np.exp(params["a1"] * n ** params["alpha"] + params["b1"])
    data_term = np.exp(params["a2"] * n ** params["beta"] + params["b2"] - data_exponent * np.log(d))
    return irreducible + data_term


def _farseer_design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
    n, d = x["N"], x["D"]
    irreducible = np.exp(nl["a3"] * n ** nl["gamma"])
    data_exponent = np.exp(nl["a1"] * n ** nl["alpha"] + nl["b1"])
    data_term = np.exp(nl["a2"] * n ** nl["beta"] - data_exponent * np.log(d))
    return np.stack(np.broadcast_arrays(irreducible, data_term), axis=-1)


def _farseer_assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore"):
        b3, b2 = (np.maximum(np.log(coefs[:, j]), LOG_COEF_FLOOR) for j in (0, 1))
    out = {name: nl[name].ravel() for name in ("a1", "b1", "alpha", "a2", "beta", "a3", "gamma")}
    return {**out, "b2": b2, "b3": b3}


FARSEER = Law(
    name="farseer",
    variables=("N", "D"),
    parameters=(
        Parameter("a3", -1e3, 1e3, grid=A3_GRID, description="irreducible term: log E(N) = a3 N^gamma + b3"),
        Parameter("gamma", -1.0, 1.0, grid=GAMMA_GRID, description="irreducible term: exponent in N"),
        Parameter("b3", LOG_COEF_FLOOR, 30.0, linear=True, description="irreducible term: offset of log E"),
        Parameter("a2", -1e4, 1e4, grid=A2_GRID, description="data coefficient: log B(N) = a2 N^beta + b2"),
        Parameter("beta", -1.0, 1.0, grid=BETA_GRID, description="data coefficient: exponent in N"),
        Parameter("b2", LOG_COEF_FLOOR, 30.0, linear=True, description="data coefficient: offset of log B"),
        Parameter("a1", -1e3, 1e3, grid=A1_GRID, description="data exponent: log c(N) = a1 N^alpha + b1"),
        Parameter("alpha", -1.0, 1.0, grid=ALPHA_GRID, description="data exponent: exponent in N"),
        Parameter("b1", -20.0, 20.0, grid=B1_GRID, description="data exponent: offset of log c"),
    ),
    function=_farseer,
    formula="L = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) D^(-exp(a1 N^alpha + b1))",
    latex=r"L(N, D) = e^{a_3 N^{\gamma} + b_3} + e^{a_2 N^{\beta} + b_2}\, D^{-e^{a_1 N^{\alpha} + b_1}}",
    citation="Li et al. 2025, Farseer: A Refined Scaling Law in Large Language Models, arXiv:2506.10972",
    projection=Projection(design=_farseer_design, assemble=_farseer_assemble),
    description="Chinchilla-like law whose irreducible term, data coefficient and data exponent vary smoothly with N.",
)

#: Published fit (REFERENCE.md §1.5): N non-embedding parameters, D tokens, L in bits per character.
FARSEER_PUBLISHED = {
    "a3": -0.021, "gamma": 0.169, "b3": -0.091,
    "a2": 88.01, "beta": -0.1, "b2": -6.287,
    "a1": -0.124, "alpha": 0.123, "b1": 0.424,
}

register_law(FARSEER)
