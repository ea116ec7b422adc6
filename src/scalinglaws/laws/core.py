"""The core pre-training loss laws: power law, Kaplan and Chinchilla.

Formulas follow REFERENCE.md §1.1-1.3. Each law is a declaration plus one
pure function; the projections tell the solver which parameters enter
linearly so that they can be solved exactly for given exponents.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import ArrayMap, Law, Parameter, Projection, register_law

#: Exponent grid of the global search: 0.02 to 2.5, finer than the 0.5 steps
#: of the 4,500-start recipe of Hoffmann et al. and wider at the top.
EXPONENT_GRID = tuple(float(x) for x in np.round(np.linspace(0.02, 2.5, 63), 6))

POWER_VARIABLES = ("N", "D", "C", "step")


def _chinchilla(params: ArrayMap, x: ArrayMap) -> np.ndarray:
    return params["E"] + params["A"] * x["N"] ** -params["alpha"] + params["B"] * x["D"] ** -params["beta"]


def _chinchilla_design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
    n_term = x["N"] ** -nl["alpha"]
    d_term = x["D"] ** -nl["beta"]
    return np.stack(np.broadcast_arrays(np.ones_like(n_term * d_term), n_term, d_term), axis=-1)


def _chinchilla_assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
    return {"E": coefs[:, 0], "A": coefs[:, 1], "alpha": nl["alpha"].ravel(), "B": coefs[:, 2], "beta": nl["beta"].ravel()}


CHINCHILLA = Law(
    name="chinchilla",
    variables=("N", "D"),
    parameters=(
        Parameter("E", 0.0, np.inf, log_scale=True, linear=True, description="irreducible loss"),
        Parameter("A", 0.0, np.inf, log_scale=True, linear=True, description="model-size coefficient"),
        Parameter("alpha", 0.0, 10.0, grid=EXPONENT_GRID, description="model-size exponent"),
        Parameter("B", 0.0, np.inf, log_scale=True, linear=True, description="data coefficient"),
        Parameter("beta", 0.0, 10.0, grid=EXPONENT_GRID, description="data exponent"),
    ),
    function=_chinchilla,
    formula="L = E + A / N^alpha + B / D^beta",
    latex=r"L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}",
    citation="Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, arXiv:2203.15556",
    projection=Projection(
        design=_chinchilla_design,
        assemble=_chinchilla_assemble,
        separable=(
            (None, lambda _, x: np.ones((1, x["N"].size))),
            ("alpha", lambda a, x: x["N"] ** -a),
            ("beta", lambda b, x: x["D"] ** -b),
        ),
    ),
    description="Joint loss in parameters and tokens with an irreducible term (Approach 3).",
)


def _kaplan(params: ArrayMap, x: ArrayMap) -> np.ndarray:
    ratio = params["alpha_N"] / params["alpha_D"]
    return ((params["N_c"] / x["N"]) ** ratio + params["D_c"] / x["D"]) ** params["alpha_D"]


def _kaplan_design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
    # L^(1/alpha_D) = N_c^p N^-p + D_c / D with p = alpha_N / alpha_D.
    p = nl["alpha_N"] / nl["alpha_D"]
    n_term = x["N"] ** -p
    d_term = np.broadcast_to(1.0 / x["D"], n_term.shape)
    return np.stack([n_term, d_term], axis=-1)


def _kaplan_response(y: np.ndarray, nl: ArrayMap) -> np.ndarray:
    return y ** (1.0 / nl["alpha_D"])


def _kaplan_assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
    alpha_n, alpha_d = nl["alpha_N"].ravel(), nl["alpha_D"].ravel()
    p = alpha_n / alpha_d
    with np.errstate(divide="ignore"):
        n_c = np.maximum(coefs[:, 0], 1e-300) ** (1.0 / p)
    return {"N_c": n_c, "alpha_N": alpha_n, "D_c": coefs[:, 1], "alpha_D": alpha_d}


KAPLAN_GRID = tuple(float(x) for x in np.round(np.geomspace(0.01, 1.5, 40), 6))

KAPLAN = Law(
    name="kaplan",
    variables=("N", "D"),
    parameters=(
        Parameter("N_c", 0.0, np.inf, log_scale=True, linear=True, description="model-size scale"),
        Parameter("alpha_N", 1e-4, 10.0, grid=KAPLAN_GRID, description="model-size exponent"),
        Parameter("D_c", 0.0, np.inf, log_scale=True, linear=True, description="data scale"),
        Parameter("alpha_D", 1e-4, 10.0, grid=KAPLAN_GRID, description="data exponent"),
    ),
    function=_kaplan,
    formula="L = ((N_c / N)^(alpha_N / alpha_D) + D_c / D)^alpha_D",
    latex=r"L(N, D) = \left[\left(\frac{N_c}{N}\right)^{\alpha_N/\alpha_D} + \frac{D_c}{D}\right]^{\alpha_D}",
    citation="Kaplan et al. 2020, Scaling Laws for Neural Language Models, arXiv:2001.08361",
    projection=Projection(design=_kaplan_design, assemble=_kaplan_assemble, response=_kaplan_response),
    description="Joint loss without an irreducible term; N counts non-embedding parameters.",
)


def _power_law(variable: str) -> Law:
    if variable not in POWER_VARIABLES:
        raise InputError(
            f"law 'power' needs the variable it scales with: use one of "
            f"{', '.join('power:' + v for v in POWER_VARIABLES)} (got {('power:' + variable)!r})"
        )

    def function(params: ArrayMap, x: ArrayMap) -> np.ndarray:
        return params["E"] + params["A"] * x[variable] ** -params["alpha"]

    def design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
        term = x[variable] ** -nl["alpha"]
        return np.stack([np.ones_like(term), term], axis=-1)

    def assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
        return {"E": coefs[:, 0], "A": coefs[:, 1], "alpha": nl["alpha"].ravel()}

    return Law(
        name=f"power:{variable}",
        variables=(variable,),
        parameters=(
            Parameter("E", 0.0, np.inf, log_scale=True, linear=True, description="irreducible loss"),
            Parameter("A", 0.0, np.inf, log_scale=True, linear=True, description="coefficient"),
            Parameter("alpha", 0.0, 10.0, grid=tuple(float(a) for a in np.round(np.geomspace(0.005, 3.0, 120), 6)), description="exponent"),
        ),
        function=function,
        formula=f"L = E + A / {variable}^alpha",
        latex=rf"L({variable}) = E + A\,{variable}^{{-\alpha}}",
        citation="Hestness et al. 2017, arXiv:1712.00409; Henighan et al. 2020, arXiv:2010.14701",
        projection=Projection(
            design=design,
            assemble=assemble,
            separable=((None, lambda _, x: np.ones((1, x[variable].size))), ("alpha", lambda a, x: x[variable] ** -a)),
        ),
        description=f"Power law plus constant in {variable}.",
    )


def _power_factory(option: str) -> Law:
    return _power_law(option)


def _plain_power_law(variable: str) -> Law:
    if variable not in POWER_VARIABLES:
        raise InputError(
            f"law 'plain' needs the variable it scales with: use one of "
            f"{', '.join('plain:' + v for v in POWER_VARIABLES)} (got {('plain:' + variable)!r})"
        )

    def function(params: ArrayMap, x: ArrayMap) -> np.ndarray:
        return params["A"] * x[variable] ** -params["alpha"]

    def design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
        return (x[variable] ** -nl["alpha"])[..., None]

    def assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
        return {"A": coefs[:, 0], "alpha": nl["alpha"].ravel()}

    return Law(
        name=f"plain:{variable}",
        variables=(variable,),
        parameters=(
            Parameter("A", 0.0, np.inf, log_scale=True, linear=True, description="coefficient"),
            Parameter("alpha", 0.0, 10.0, grid=tuple(float(a) for a in np.round(np.geomspace(0.001, 3.0, 120), 6)), description="exponent"),
        ),
        function=function,
        formula=f"L = A / {variable}^alpha",
        latex=rf"L({variable}) = A\,{variable}^{{-\alpha}}",
        citation="Hestness et al. 2017, arXiv:1712.00409 (pure power law, no irreducible term)",
        projection=Projection(design=design, assemble=assemble, separable=(("alpha", lambda a, x: x[variable] ** -a),)),
        description=f"Pure power law in {variable}: a straight line in log-log.",
    )


register_law(_power_factory, name="power")
register_law(_plain_power_law, name="plain")
register_law(KAPLAN)
register_law(CHINCHILLA)

#: Published Chinchilla fit, unrounded (REFERENCE.md §1.3).
CHINCHILLA_PUBLISHED = {
    "E": 1.69337368, "A": 406.401018, "alpha": 0.33917084, "B": 410.722827, "beta": 0.2849083,
}
#: Published Chinchilla fit, rounded as printed in the paper.
CHINCHILLA_ROUNDED = {"E": 1.69, "A": 406.4, "alpha": 0.34, "B": 410.7, "beta": 0.28}
#: Kaplan et al. joint L(N, D) constants (REFERENCE.md §1.2).
KAPLAN_PUBLISHED = {"N_c": 6.4e13, "alpha_N": 0.076, "D_c": 1.8e13, "alpha_D": 0.103}
