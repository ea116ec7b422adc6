"""Broken Neural Scaling Law (Caballero et al. 2023), REFERENCE.md §1.6.

A power law whose exponent changes smoothly at ``n`` breaks:

    y = a + b x^(-c0) prod_{i=1..n} (1 + (x / d_i)^(1 / f_i))^(-c_i f_i)

Past break ``i`` the log-log slope changes by ``-c_i``; ``d_i`` is where,
``f_i`` how sharply (small ``f_i``: a kink). A negative ``c_i`` bends the
curve up, so the law expresses double descent and inverse scaling as well as
the sudden drops of arithmetic tasks: it is declared ``monotone=False``.

For fixed exponents and breaks the law is linear in ``a`` and ``b``, which
the global search solves exactly (variable projection). The break locations
``d_i`` are in the units of the data, so the catalogue entry searches them
over a wide static range; :func:`bnsl_law` with ``span=`` spreads them over
the data instead, which is sharper and cheaper, and needed for 3 breaks.

Catalogue names: ``bnsl:VARIABLE[:BREAKS]`` with VARIABLE one of N, D, C,
step and BREAKS 1 or 2 (default 1); the bare ``bnsl`` is ``bnsl:D:1``.
Breaks are interchangeable, so a fit may label them in any order;
:func:`ordered_breaks` relabels them by location.

Caballero et al. fit squared errors of ``log(y + 1)`` from a brute-force
grid; the library's default objective (Huber on ``log y``) reproduces their
4-digit-addition extrapolation (tests/test_laws_extended.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..errors import InputError
from .base import ArrayMap, Law, Parameter, Projection, register_law
from .core import POWER_VARIABLES

#: Most breaks the catalogue offers: the grid grows as (points per break)^breaks.
MAX_BREAKS = 3
#: Static range of break locations searched when the data's range is unknown.
DEFAULT_SPAN = (1.0, 1e13)
#: Starting grids by number of breaks. The search is a full product over
#: c0 and (c_i, d_i, f_i) for every break, so each break gets fewer points as
#: breaks are added: 49k grid points for 1 break (0.2 s on 14 points), 0.7M
#: for 2 over the static span (about 8 s) or 0.1M over a given span (2 s),
#: and 1.4M for 3 (about 15 s).
#: Exponent of the power law before the first break.
C0_GRIDS = {
    1: (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0),
    2: (0.0, 0.1, 0.25, 0.5, 1.0),
    3: (0.0, 0.1, 0.3, 0.7),
}
#: Change of exponent at a break; negative values bend the curve upwards.
C_GRIDS = {
    1: (-1.0, -0.3, 0.1, 0.3, 0.6, 1.0, 1.5, 2.5, 4.0, 6.0, 9.0),
    2: (-0.5, 0.2, 0.5, 1.0, 2.5, 6.0),
    3: (-0.7, 0.3, 0.8, 2.0, 5.0),
}
#: Sharpness of a break (log-log width of the bend): 0.02 is a kink, 2 a gentle bend.
F_GRIDS = {
    1: (0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2),
    2: (0.05, 0.2, 0.8),
    3: (0.1, 0.5),
}
#: Break locations per factor of ten of the static span, and in all over a given span.
D_PER_DECADE = {1: 6, 2: 1.5}
D_POINTS_IN_SPAN = {1: 24, 2: 8, 3: 7}


def _softplus(t: np.ndarray) -> np.ndarray:
    """log(1 + e^t), without overflow and complex-step safe (branch on the real part)."""
    positive = np.real(t) > 0
    # exp only ever sees a non-positive real part.
    return np.where(positive, t, 0.0) + np.log1p(np.exp(np.where(positive, -t, t)))


def bnsl_law(variable: str = "D", breaks: int = 1, *, span: tuple[float, float] | None = None) -> Law:
    r"""The Broken Neural Scaling Law in ``variable`` with ``breaks`` breaks.

    .. math::

        y = a + b\,x^{-c_0} \prod_{i=1}^{n} \left(1 + (x / d_i)^{1/f_i}\right)^{-c_i f_i}

    Parameters
    ----------
    variable:
        The input it scales with: ``"N"``, ``"D"``, ``"C"`` or ``"step"``.
    breaks:
        Number of breaks ``n`` (1 to 3).
    span:
        ``(low, high)`` range of ``variable`` over which the global search
        places the break locations ``d_i``, typically the data's range (a
        break can lie past the data: the search also tries a half-decade
        beyond each end). ``None``: a wide static range, 1 to 1e13, for 1 or
        2 breaks.

    Returns
    -------
    Law
        Named ``bnsl:{variable}:{breaks}`` whatever ``span`` is, so saved fits
        load back with the catalogue's entry.

    Raises
    ------
    InputError
        For an unknown variable, a break count outside 1..3, a bad span, or 3
        breaks without a span.

    Examples
    --------
    >>> import scalinglaws as sl
    >>> law = sl.get_law("bnsl:D:1")
    >>> law.parameter_names
    ('a', 'b', 'c0', 'c1', 'd1', 'f1')
    """
    if variable not in POWER_VARIABLES:
        raise InputError(
            f"law 'bnsl' needs the variable it scales with: use one of "
            f"{', '.join('bnsl:' + v for v in POWER_VARIABLES)}, optionally with a break count "
            f"such as bnsl:D:2 (got variable {variable!r})"
        )
    if isinstance(breaks, bool) or not isinstance(breaks, (int, np.integer)) or not 1 <= breaks <= MAX_BREAKS:
        raise InputError(f"law 'bnsl' takes 1 to {MAX_BREAKS} breaks (bnsl:{variable}:2), got {breaks!r}")
    breaks = int(breaks)
    d_grid = _break_grid(breaks, span)
    names = [name for i in range(1, breaks + 1) for name in (f"c{i}", f"d{i}", f"f{i}")]

    def log_shape(params: ArrayMap, x: ArrayMap) -> np.ndarray:
        # log of x^-c0 prod(...): sums of softplus keep sharp breaks (f -> 0) finite.
        log_x = np.log(x[variable])
        out = -params["c0"] * log_x
        for i in range(1, breaks + 1):
            c, d, f = params[f"c{i}"], params[f"d{i}"], params[f"f{i}"]
            out = out - c * f * _softplus((log_x - np.log(d)) / f)
        return out

    def function(params: ArrayMap, x: ArrayMap) -> np.ndarray:
        return params["a"] + params["b"] * np.exp(log_shape(params, x))

    def design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
        shape = np.exp(log_shape(nl, x))
        return np.stack([np.ones_like(shape), shape], axis=-1)

    def assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
        out = {"a": coefs[:, 0], "b": coefs[:, 1], "c0": nl["c0"].ravel()}
        out.update({name: nl[name].ravel() for name in names})
        return out

    parameters = [
        Parameter("a", 0.0, np.inf, log_scale=True, linear=True, description="limit as the variable grows (irreducible loss)"),
        Parameter("b", 0.0, np.inf, log_scale=True, linear=True, description="scale of the reducible part"),
        Parameter("c0", -5.0, 10.0, grid=C0_GRIDS[breaks], description="exponent before the first break"),
    ]
    for i in range(1, breaks + 1):
        parameters += [
            Parameter(f"c{i}", -20.0, 50.0, grid=C_GRIDS[breaks], description=f"change of exponent at break {i}"),
            Parameter(f"d{i}", 0.0, np.inf, log_scale=True, grid=d_grid, description=f"location of break {i}, in units of {variable}"),
            Parameter(f"f{i}", 1e-3, 20.0, log_scale=True, grid=F_GRIDS[breaks], description=f"sharpness of break {i} (small: sharp)"),
        ]
    product = r" \prod_{i=1}^{" + str(breaks) + r"} \left(1 + (" + variable + r"/d_i)^{1/f_i}\right)^{-c_i f_i}"
    return Law(
        name=f"bnsl:{variable}:{breaks}",
        variables=(variable,),
        parameters=tuple(parameters),
        function=function,
        formula=(
            f"y = a + b {variable}^-c0 (1 + ({variable}/d1)^(1/f1))^(-c1 f1)" if breaks == 1
            else f"y = a + b {variable}^-c0 prod_i (1 + ({variable}/d_i)^(1/f_i))^(-c_i f_i), i = 1..{breaks}"
        ),
        latex=rf"y({variable}) = a + b\,{variable}^{{-c_0}}" + product,
        citation="Caballero et al. 2023, Broken Neural Scaling Laws, ICLR 2023, arXiv:2210.14891",
        projection=Projection(design=design, assemble=assemble),
        monotone=False,
        description=f"Broken power law in {variable} with {breaks} smooth break(s); can bend down (emergence) or up (double descent).",
        extra={"breaks": breaks, "span": tuple(span) if span is not None else DEFAULT_SPAN},
    )


def _break_grid(breaks: int, span: tuple[float, float] | None) -> tuple[float, ...]:
    if span is None:
        if breaks > 2:
            raise InputError(
                f"bnsl with {breaks} breaks needs the range to search break locations in: "
                f"use bnsl_law(variable, {breaks}, span=(x_min, x_max)) with your data's range"
            )
        low, high = DEFAULT_SPAN
        count = int(round(D_PER_DECADE[breaks] * math.log10(high / low))) + 1
        return tuple(float(v) for v in np.geomspace(low, high, count))
    try:
        low, high = (float(v) for v in span)
    except (TypeError, ValueError):
        raise InputError(f"span must be a pair (low, high) of positive numbers, got {span!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low < high):
        raise InputError(f"span must be a pair (low, high) with 0 < low < high, got {span!r}")
    # Half a decade either side: a break can sit just outside the data and still bend it.
    margin = 10 ** 0.5
    return tuple(float(v) for v in np.geomspace(low / margin, high * margin, D_POINTS_IN_SPAN[breaks]))


def ordered_breaks(params: Mapping[str, float]) -> dict[str, float]:
    """The same BNSL parameters with the breaks relabelled in order of location ``d_i``.

    The law is symmetric under swapping breaks, so a fit may return them in
    any order; this gives the canonical labelling (break 1 first along x).

    Examples
    --------
    >>> ordered_breaks({"a": 1.0, "b": 2.0, "c0": 0.1, "c1": 1.0, "d1": 1e6, "f1": 0.1, "c2": 0.5, "d2": 1e3, "f2": 0.3})["d1"]
    1000.0
    """
    count = sum(1 for name in params if name.startswith("d") and name[1:].isdigit())
    triples = sorted((params[f"d{i}"], params[f"c{i}"], params[f"f{i}"]) for i in range(1, count + 1))
    out = {name: float(params[name]) for name in ("a", "b", "c0")}
    for i, (d, c, f) in enumerate(triples, start=1):
        out.update({f"c{i}": float(c), f"d{i}": float(d), f"f{i}": float(f)})
    return out


#: What the bare name ``bnsl`` means: data size, the x-axis of most of Caballero et al.'s examples.
DEFAULT_VARIABLE = "D"


def _bnsl_factory(option: str) -> Law:
    """``bnsl:VARIABLE[:BREAKS]``; the bare ``bnsl`` is ``bnsl:D:1``."""
    variable, _, count = option.partition(":")
    variable = variable or DEFAULT_VARIABLE
    if not count:
        return bnsl_law(variable, 1)
    if not count.isdigit():
        raise InputError(f"law 'bnsl' takes the number of breaks after the variable (bnsl:{variable}:2), got {count!r} in {('bnsl:' + option)!r}")
    return bnsl_law(variable, int(count))


register_law(_bnsl_factory, name="bnsl")

#: The 4-digit-addition fit re-derived with the authors' procedure (REFERENCE.md §1.6;
#: ../shared/data/bnsl_4digit_addition/README.md): one break, x = training-set size.
BNSL_4DIGIT_ADDITION = {"a": 0.413885, "b": 2.277272, "c0": 0.0550773, "c1": 5.662906, "d1": 612.5836, "f1": 0.0591930}
