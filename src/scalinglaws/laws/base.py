"""The declaration every law makes, and the registry that names them.

A law is a frozen declaration plus one pure function. The declaration names
the parameters (bounds, whether they are positive scales best searched in log
space, whether they enter linearly), the input variables, the formula and the
paper. Nothing here fits anything: :mod:`scalinglaws.fitting` does that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

ArrayMap = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Parameter:
    """One parameter of a law.

    Parameters
    ----------
    name:
        Short name used in tables and JSON (``"alpha"``).
    lower, upper:
        Bounds the fit respects.
    log_scale:
        A positive scale (``A``, ``E``, ``N_c``): searched and polished as its
        logarithm, as in the log-sum-exp form of Hoffmann et al. (2022).
    linear:
        Solved exactly for given nonlinear parameters (variable projection);
        only meaningful when the law has a :class:`Projection`.
    grid:
        Starting values of a nonlinear parameter for the global search.
    """

    name: str
    lower: float = 0.0
    upper: float = math.inf
    log_scale: bool = False
    linear: bool = False
    grid: tuple[float, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Projection:
    """How a law's linear parameters are found exactly for fixed exponents.

    For given nonlinear parameters (arrays of shape ``(G, 1)``, one row per
    grid point), the law is ``g(y) = design @ coefs`` with non-negative
    ``coefs``. ``design`` returns the basis of shape ``(G, n, k)``,
    ``response`` returns ``g(y)`` of shape ``(G, n)`` (``None`` means the
    identity), and ``assemble`` maps ``coefs`` of shape ``(G, k)`` back to
    every parameter of the law.
    """

    design: Callable[[ArrayMap, ArrayMap], np.ndarray]
    assemble: Callable[[ArrayMap, np.ndarray], dict[str, np.ndarray]]
    response: Callable[[np.ndarray, ArrayMap], np.ndarray] | None = None
    #: Optional fast path: for each design column, the one nonlinear parameter
    #: it depends on (``None`` for a constant column) and a function mapping that
    #: parameter's values (shape ``(m, 1)``) and the inputs to the column values
    #: ``(m, n)``. Lets the grid search form Gram matrices by matrix products
    #: over each parameter's axis instead of point by point (identity response only).
    separable: tuple[tuple[str | None, Callable[[np.ndarray, ArrayMap], np.ndarray]], ...] | None = None


@dataclass(frozen=True)
class Law:
    """A scaling law: a declaration plus one pure function.

    ``function(params, inputs)`` maps a mapping of parameter values and a
    mapping of input arrays (keyed by the variable names) to the predicted
    loss. It must broadcast: parameter arrays of shape ``(G, 1)`` against
    inputs of shape ``(n,)`` give ``(G, n)``.
    """

    name: str
    variables: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    function: Callable[[ArrayMap, ArrayMap], np.ndarray]
    formula: str
    latex: str
    citation: str
    projection: Projection | None = None
    complex_safe: bool = True
    monotone: bool = True
    description: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def nonlinear(self) -> tuple[Parameter, ...]:
        if self.projection is None:
            return self.parameters
        return tuple(p for p in self.parameters if not p.linear)

    def __call__(self, params: Mapping[str, float], **inputs: np.ndarray) -> np.ndarray:
        """Evaluate the law: ``law(params, N=..., D=...)``."""
        missing = [v for v in self.variables if v not in inputs]
        if missing:
            raise InputError(
                f"law {self.name!r} needs inputs {', '.join(self.variables)}; "
                f"missing {', '.join(missing)}"
            )
        arrays = {v: np.asarray(inputs[v], dtype=float) for v in self.variables}
        return self.function(params, arrays)


_REGISTRY: dict[str, Law | Callable[[str], Law]] = {}


def register_law(law: Law | Callable[[str], Law], name: str | None = None) -> None:
    """Add a law (or a factory taking an option such as ``"D"``) to the catalogue."""
    key = name or law.name  # type: ignore[union-attr]
    _REGISTRY[key] = law


def law_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_law(law: str | Law) -> Law:
    """Return the law named ``law`` (``"chinchilla"``, ``"power:D"``), or ``law`` itself.

    Raises
    ------
    InputError
        If the name is not in the catalogue.
    """
    if isinstance(law, Law):
        return law
    if not isinstance(law, str):
        raise InputError(f"law must be a name or a Law, got {type(law).__name__}")
    base, _, option = law.partition(":")
    entry = _REGISTRY.get(base)
    if entry is None:
        raise InputError(
            f"unknown law {law!r}; choose one of: {', '.join(sorted(_REGISTRY))} "
            "(see `scalinglaws laws`)"
        )
    if isinstance(entry, Law):
        if option:
            raise InputError(f"law {base!r} takes no option, got {law!r}")
        return entry
    return entry(option)
