"""Data-constrained scaling (Muennighoff et al. 2023), REFERENCE.md §1.4.

Repeated epochs of the same unique data are worth less than fresh tokens;
excess parameters beyond what the unique data supports are worth less too:

    L = E + A / N'^alpha + B / D'^beta
    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),  R_D = max(D / U_D - 1, 0),  U_D = min(D, U)
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),  U_N = min(N, D_to_N(U_D)),  R_N = max(N / U_N - 1, 0)
    D_to_N(D) = (D G)^(beta / alpha) G,  G = (alpha A / (beta B))^(1 / (alpha + beta))

The input U is the unique tokens *available*; U_D is the unique tokens a run of
D tokens actually sees, min(D, U) (Muennighoff et al. define D = U_D (1 + R_D),
so U_D <= D). Crediting all of U to a run shorter than one epoch would make
tiny-D plans look as good as full-data ones. With U >= D the law is Chinchilla's
along the compute-optimal curve (R_D = 0, and R_N = 0 where N = D_to_N(D)).
"""

from __future__ import annotations

import numpy as np

from .base import ArrayMap, Law, Parameter, register_law


def _data_constrained(params: ArrayMap, x: ArrayMap) -> np.ndarray:
    e, a, b = params["E"], params["A"], params["B"]
    alpha, beta = params["alpha"], params["beta"]
    rd_star, rn_star = params["R_D_star"], params["R_N_star"]
    n, d = x["N"], x["D"]
    u_d = np.minimum(d, x["U"])  # unique tokens seen: a run shorter than one epoch sees only D of them
    g = (alpha * a / (beta * b)) ** (1.0 / (alpha + beta))
    repeats_d = np.maximum(d / u_d - 1.0, 0.0)
    d_eff = u_d + u_d * rd_star * (1.0 - np.exp(-repeats_d / rd_star))
    # Parameters the unique data can use: the compute-optimal size for U_D tokens.
    u_n = np.minimum(n, (u_d * g) ** (beta / alpha) * g)
    repeats_n = np.maximum(n / u_n - 1.0, 0.0)
    n_eff = u_n + u_n * rn_star * (1.0 - np.exp(-repeats_n / rn_star))
    return e + a / n_eff**alpha + b / d_eff**beta


DATA_CONSTRAINED = Law(
    name="data_constrained",
    variables=("N", "D", "U"),
    parameters=(
        Parameter("E", 0.0, np.inf, log_scale=True, grid=(1.0, 1.9), description="irreducible loss"),
        Parameter("A", 0.0, np.inf, log_scale=True, grid=(1e2, 1e3), description="model-size coefficient"),
        Parameter("alpha", 0.01, 3.0, grid=(0.3, 0.5), description="model-size exponent"),
        Parameter("B", 0.0, np.inf, log_scale=True, grid=(1e2, 1e3), description="data coefficient"),
        Parameter("beta", 0.01, 3.0, grid=(0.3, 0.5), description="data exponent"),
        Parameter("R_D_star", 0.1, 1e3, log_scale=True, grid=(5.0, 20.0), description="epochs at which repeated data loses 1 - 1/e of its value"),
        Parameter("R_N_star", 0.1, 1e3, log_scale=True, grid=(2.0, 8.0), description="the same for excess parameters"),
    ),
    function=_data_constrained,
    formula="L = E + A / N'^alpha + B / D'^beta, D' and N' discounted for repeated data (U unique tokens available, U_D = min(D, U) seen)",
    latex=r"L = E + \frac{A}{N'^{\alpha}} + \frac{B}{D'^{\beta}},\quad D' = U_D + U_D R_D^*\left(1 - e^{-R_D/R_D^*}\right)",
    citation="Muennighoff et al. 2023, Scaling Data-Constrained Language Models, arXiv:2305.16264",
    complex_safe=False,
    description="Chinchilla's law with diminishing returns from repeated epochs and excess parameters.",
)

#: Published fit (REFERENCE.md §1.4; datablations README).
DATA_CONSTRAINED_PUBLISHED = {
    "E": float(np.exp(0.6254804)),
    "A": float(np.exp(6.255414)),
    "alpha": 0.3526596,
    "B": float(np.exp(7.3049974)),
    "beta": 0.3526596,
    "R_D_star": 15.387756,
    "R_N_star": 5.309743,
}

register_law(DATA_CONSTRAINED)
