"""Global search: variable projection over a grid of the nonlinear parameters.

For fixed exponents most laws are linear in their scale parameters (E, A, B),
so those are solved exactly, with non-negativity, by a batched NNLS over every
grid point at once. The grid therefore only spans the exponents, which is
what makes a dense global search cheap (REFERENCE.md §1.3, last note).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..laws.base import Law
from .objectives import Loss

#: Upper bound on floats held at once by one chunk of the grid (about 160 MB).
CHUNK_FLOATS = 20_000_000


def batched_nnls(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative least squares for a batch of small problems.

    Solves ``min ||design[g] @ x - target[g]||`` subject to ``x >= 0`` for every
    ``g``. With ``k`` columns (``k`` is 2 to 4 here) the optimum is the
    unconstrained solution on one of the ``2^k - 1`` supports that is
    feasible and has the least residual, so all supports are enumerated and
    solved by batched linear algebra.

    Parameters
    ----------
    design: array of shape (G, n, k)
    target: array of shape (G, n)

    Returns
    -------
    coefs: array of shape (G, k)
    rss: array of shape (G,), the residual sum of squares
    """
    g, _, k = design.shape
    scale = np.sqrt(np.einsum("gnk,gnk->gk", design, design))
    scale = np.where(scale > 0, scale, 1.0)
    scaled = design / scale[:, None, :]
    gram = np.einsum("gnk,gnl->gkl", scaled, scaled)
    rhs = np.einsum("gnk,gn->gk", scaled, target)
    total = np.einsum("gn,gn->g", target, target)
    best_rss = total.copy()
    best = np.zeros((g, k))
    for size in range(1, k + 1):
        for support in itertools.combinations(range(k), size):
            idx = np.array(support)
            sub = gram[:, idx[:, None], idx[None, :]]
            # Columns are scaled to unit norm, so a tiny absolute ridge keeps empty columns solvable.
            ridge = 1e-13 * np.eye(size)
            x = np.linalg.solve(sub + ridge, rhs[:, idx][..., None])[..., 0]
            rss = total - np.einsum("gk,gk->g", x, rhs[:, idx])
            ok = np.all(x >= 0, axis=1) & (rss < best_rss)
            best_rss = np.where(ok, rss, best_rss)
            update = np.zeros((g, k))
            update[:, idx] = x
            best = np.where(ok[:, None], update, best)
    return best / scale, np.maximum(best_rss, 0.0)


@dataclass(frozen=True)
class GridResult:
    """Objective at every grid point and the parameters found there."""

    shape: tuple[int, ...]
    objective: np.ndarray  # (G,)
    params: dict[str, np.ndarray]  # name -> (G,)

    @property
    def size(self) -> int:
        return int(self.objective.size)


def grid_axes(law: Law) -> list[tuple[str, np.ndarray]]:
    axes = [(p.name, np.asarray(p.grid, dtype=float)) for p in law.nonlinear]
    missing = [name for name, values in axes if values.size == 0]
    if missing:
        raise ValueError(f"law {law.name!r} declares no starting grid for {', '.join(missing)}")
    return axes


def evaluate_grid(law: Law, inputs: dict[str, np.ndarray], y: np.ndarray, loss: Loss) -> GridResult:
    """Solve the linear parameters and evaluate the objective at every grid point."""
    axes = grid_axes(law)
    mesh = np.meshgrid(*[values for _, values in axes], indexing="ij")
    flat = {name: m.ravel() for (name, _), m in zip(axes, mesh, strict=True)}
    size = mesh[0].size
    n = y.size
    k = 1 + sum(p.linear for p in law.parameters) if law.projection else 1
    chunk = max(1, CHUNK_FLOATS // max(1, n * (k + 2)))
    objective = np.empty(size)
    params = {p.name: np.empty(size) for p in law.parameters}
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        nl = {name: values[start:stop, None] for name, values in flat.items()}
        if law.projection is not None:
            part = _project(law, nl, inputs, y)
        else:
            part = {name: values.ravel() for name, values in nl.items()}
        with np.errstate(all="ignore"):
            predicted = law.function({name: v[:, None] for name, v in part.items()}, inputs)
            objective[start:stop] = loss.total(predicted, y)
        for name in params:
            params[name][start:stop] = part[name]
    return GridResult(tuple(m for m in mesh[0].shape), objective, params)


def _project(law: Law, nl: dict[str, np.ndarray], inputs: dict[str, np.ndarray], y: np.ndarray) -> dict[str, np.ndarray]:
    projection = law.projection
    assert projection is not None
    with np.errstate(all="ignore"):
        design = projection.design(nl, inputs)
        response = projection.response(y, nl) if projection.response else np.broadcast_to(y, design.shape[:2])
        # Relative residuals of the transformed response approximate log residuals.
        weighted = design / response[..., None]
        valid = np.all(np.isfinite(weighted), axis=(1, 2))
        weighted = np.where(valid[:, None, None], weighted, 0.0)
        coefs, _ = batched_nnls(weighted, np.ones(design.shape[:2]))
        return projection.assemble(nl, coefs)


def local_minima(result: GridResult, count: int) -> np.ndarray:
    """Indices of up to ``count`` best grid points that are local minima of the grid."""
    obj = result.objective.reshape(result.shape)
    is_min = np.isfinite(obj)
    for axis in range(obj.ndim):
        pad = [(0, 0)] * obj.ndim
        pad[axis] = (1, 1)
        padded = np.pad(obj, pad, constant_values=np.inf)
        lo = np.take(padded, np.arange(0, obj.shape[axis]), axis=axis)
        hi = np.take(padded, np.arange(2, obj.shape[axis] + 2), axis=axis)
        is_min &= (obj <= lo) & (obj <= hi)
    idx = np.flatnonzero(is_min.ravel())
    order = idx[np.argsort(result.objective[idx], kind="stable")]
    best = int(np.argmin(result.objective))
    chosen = [best] + [int(i) for i in order if i != best]
    return np.array(chosen[:count])
