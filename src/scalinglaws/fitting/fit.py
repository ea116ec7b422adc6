"""``fit()``: the front door of the fitting engine."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import __version__
from ..data.readers import read_runs
from ..data.runs import Runs
from ..errors import BoundWarning, ConvergenceWarning, InputError, warning_class
from ..laws.base import Law, get_law
from .objectives import Loss, make_loss
from .polish import polish
from .result import Fit, FitWarning
from .search import evaluate_grid, local_minima

#: Grid points polished by the local solver (the best one and the best other local minima).
DEFAULT_CANDIDATES = 4


def fit(
    runs: Runs | pd.DataFrame | str,
    law: str | Law,
    *,
    loss: str | Loss = "huber",
    delta: float = 1e-3,
    space: str = "log",
    columns: Mapping[str, str] | None = None,
    candidates: int = DEFAULT_CANDIDATES,
    target: str = "loss",
    diagnostics: bool = True,
    counts: np.ndarray | None = None,
) -> Fit:
    r"""Fit a scaling law to runs by global search and local polish.

    The linear parameters (E, A, B...) are solved exactly by non-negative
    least squares at every point of a dense grid of the nonlinear ones
    (variable projection); the best grid points that are local minima are
    then polished over all parameters, minimising the **sum** of the loss of
    the residuals (Huber with ``delta`` on log residuals by default,
    REFERENCE.md §1.3). The result does not depend on an initial guess.

    Parameters
    ----------
    runs:
        A :class:`Runs` table, a DataFrame, a path or ``"dataset:NAME"``.
    law:
        A catalogue name (``"chinchilla"``, ``"kaplan"``, ``"power:D"``) or a
        :class:`Law`.
    loss, delta, space:
        The objective: ``"huber"`` (default, ``delta=1e-3``), ``"squared"``
        or ``"absolute"``, on ``"log"`` (default) or ``"linear"`` residuals.
    columns:
        Role -> column name mapping used when ``runs`` is read here.
    candidates:
        How many grid minima to polish.
    target:
        The column to fit (default ``"loss"``).
    diagnostics:
        Run the checks of :func:`scalinglaws.evaluate.diagnose` (conditioning,
        residual trend, identifiability, monotonicity). Bootstrap replicates
        turn them off: their warnings would be discarded anyway.
    counts:
        Optional non-negative integer per row: a row with count ``k`` weighs
        exactly as ``k`` copies of it (rows with 0 are left out). The
        bootstrap uses this instead of copying resampled rows.

    Returns
    -------
    Fit
        A frozen record; ``fit.status`` is ``"converged"`` or says why not.

    Raises
    ------
    InputError
        For missing or invalid columns, too few points, unknown names.

    Examples
    --------
    >>> import scalinglaws as sl
    >>> result = sl.fit("dataset:gemstones", "chinchilla")
    >>> result.status
    'converged'
    """
    law = get_law(law)
    check_target(law, target)
    try:
        delta = float(delta)
    except (TypeError, ValueError):
        raise InputError(f"delta must be a positive number (the Huber threshold on the residuals, e.g. delta=1e-3), got {delta!r}") from None
    loss = make_loss(loss, delta=delta, space=space)
    runs = read_runs(runs, columns=columns)
    if not isinstance(candidates, int) or candidates < 1:
        raise InputError(f"candidates must be a positive integer, got {candidates!r}")
    inputs = runs.inputs(law.variables)
    y = runs.values(target)
    if counts is not None:
        inputs, y, counts = _apply_counts(counts, inputs, y)
    n_points = int(y.size if counts is None else counts.sum())
    n_params = len(law.parameters)
    if n_points <= n_params:
        raise InputError(
            f"law {law.name!r} has {n_params} parameters but the data has only {n_points} point(s); "
            f"add runs (at least {n_params + 1}) or choose a law with fewer parameters"
        )
    grid = evaluate_grid(law, inputs, y, loss, counts)
    if not np.isfinite(grid.objective).any():
        return _failed(law, loss, runs, y, inputs, grid.size, "not converged: no grid point gives valid predictions")
    best = None
    for index in local_minima(grid, candidates):
        start = {name: float(values[index]) for name, values in grid.params.items()}
        result = polish(law, start, inputs, y, loss, counts=counts)
        if best is None or result.objective < best.objective:
            best = result
    assert best is not None
    grid_best = float(np.min(grid.objective))
    if not grid.exact:  # ranked by least squares: compare with the objective at the best-ranked point
        at = int(np.argmin(grid.objective))
        with np.errstate(all="ignore"):
            grid_best = float(loss.total(law.function({k: v[at] for k, v in grid.params.items()}, inputs), y, counts))
    if not np.isfinite(best.objective) or best.objective > grid_best * (1 + 1e-12):
        status = f"not converged: the local solver ended above the grid's best objective ({best.message})"
    elif not best.success:
        status = f"not converged: {best.message}"
    else:
        status = "converged"
    predicted = law.function(best.params, inputs)
    residuals = loss.residuals(predicted, y)
    residual_std = _residual_std(residuals, np.ones_like(y) if counts is None else counts, n_params)
    pinned = _at_bounds(law, best.params, inputs)
    fit_warnings = [
        FitWarning(BoundWarning.code, f"parameter {name} = {best.params[name]:.6g} is at its bound {bound:g}; the data may not identify it")
        for name, bound in pinned.items()
    ]
    if status != "converged":
        fit_warnings.append(FitWarning(ConvergenceWarning.code, status))
    elif diagnostics:
        from ..evaluate.diagnostics import diagnose

        fit_warnings.extend(diagnose(law, best.params, inputs, y, loss, residuals, residual_std, pinned=pinned))
    for w in fit_warnings:
        warnings.warn(w.message, warning_class(w.code), stacklevel=2)
    return Fit(
        law=law,
        params=best.params,
        objective=best.objective,
        loss=loss,
        n_points=n_points,
        status=status,
        warnings=tuple(fit_warnings),
        data_range=_data_range(runs, law, inputs),
        residual_std=residual_std,
        provenance=_provenance(runs, law, target, grid.size, candidates),
        notes=runs.notes,
    )


#: How to fit the laws whose input is a loss column (so they cannot be fitted to that column itself).
_TARGET_HINTS = {
    "sigmoid": "it is step 2 of the task ladder: use `scalinglaws task --task-loss COLUMN --accuracy COLUMN` "
               "(Python: scalinglaws.task_ladder, or fit(runs, 'sigmoid', target='ACCURACY_COLUMN'))",
    "downstream_error": "fit it to an error column in Python: fit(runs, 'downstream_error', target='ERROR_COLUMN')",
}


def check_target(law: Law, target: str) -> None:
    """Refuse to fit ``target`` with a law that takes ``target`` itself as input (a law of a column against itself).

    Raises
    ------
    InputError
        Saying how that law is fitted instead.
    """
    if target not in law.variables:
        return
    base = law.name.partition(":")[0]
    hint = _TARGET_HINTS.get(base, f"fit it with target= another column (Python: fit(runs, {law.name!r}, target='COLUMN'))")
    raise InputError(f"law {law.name!r} predicts another quantity from the {target!r} column, so it cannot be fitted to {target!r} itself; {hint}")


def _residual_std(residuals: np.ndarray, counts: np.ndarray, n_params: int) -> float:
    """Standard deviation of the residuals, each row counted ``counts`` times, less ``n_params`` degrees of freedom."""
    total = float(counts.sum())
    if total <= 1:
        return 0.0
    mean = float(residuals @ counts) / total
    return float(np.sqrt(((residuals - mean) ** 2) @ counts / (total - min(n_params, total - 1))))


def _apply_counts(counts: np.ndarray, inputs: dict[str, np.ndarray], y: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Validate row counts and drop the rows counted zero times."""
    counts = np.asarray(counts)
    if counts.shape != y.shape or not np.all(np.isfinite(counts)) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise InputError(f"counts must be {y.size} non-negative integers, one per row")
    keep = counts > 0
    return {k: v[keep] for k, v in inputs.items()}, y[keep], counts[keep].astype(float)


def _data_range(runs: Runs, law: Law, inputs: Mapping[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """Fitted range of each input, and of compute C when known (for "40x the largest compute fitted")."""
    out = {v: (float(inputs[v].min()), float(inputs[v].max())) for v in law.variables}
    if "C" not in out and {"N", "D"} <= set(law.variables) and runs.has("C"):
        compute = runs.table["C"].to_numpy(dtype=float)
        out["C"] = (float(np.nanmin(compute)), float(np.nanmax(compute)))
    return out


def _provenance(runs: Runs, law: Law, target: str, starts: int, candidates: int) -> dict[str, object]:
    return {
        "version": __version__,
        "data_sha256": runs.sha256([*law.variables, target]),
        "source": runs.source,
        "columns": _columns(runs, (*law.variables, target)),
        "target": target,
        "starts": starts,
        "solver": (
            f"variable projection (exact NNLS for the linear parameters) over a {starts}-point grid "
            f"of the nonlinear parameters, then trust-region least squares polish of the best "
            f"{candidates} grid minima"
        ),
        "flop_accounting": "C = 6 N D",
    }


def _columns(runs: Runs, roles: tuple[str, ...]) -> dict[str, str]:
    """Role -> the data's column for each role used; a derived role says how, and the columns it came from are added.

    E.g. ``{"N": "Model Size", "D": "derived as C / (6 N)", "loss": "loss", "C": "Training FLOP"}``.
    """
    how = {m.group(1): m.group(2) for note in runs.notes if (m := re.match(r"^(\w+) (derived as .*)$", note))}
    out: dict[str, str] = {}
    sources: list[str] = []
    for role in roles:
        if role in how:
            out[role] = how[role]
            sources += [r for r in ("N", "D", "C", "step") if r != role and re.search(rf"\b{r}\b", how[role])]
        else:
            out[role] = runs.mapping.get(role, role)
    for role in sources:
        out.setdefault(role, runs.mapping.get(role, role))
    return out


def _at_bounds(law: Law, params: Mapping[str, float], inputs: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The parameters sitting on a bound, each with that bound."""
    out: dict[str, float] = {}
    with np.errstate(all="ignore"):
        base = law.function(params, dict(inputs))
    for p in law.parameters:
        value = params[p.name]
        span = max(abs(p.lower), abs(p.upper) if np.isfinite(p.upper) else 0.0, 1.0)
        if p.log_scale and p.lower == 0.0:
            # A positive scale is "at 0" when setting it to 0 changes no prediction by 1e-6.
            with np.errstate(all="ignore"):
                zeroed = law.function({**params, p.name: np.float64(0.0)}, dict(inputs))
                near_lower = bool(np.all(np.abs(zeroed / base - 1) < 1e-6))
        else:
            near_lower = value <= p.lower + 1e-6 * span
        near_upper = np.isfinite(p.upper) and value >= p.upper - 1e-6 * span
        if near_lower or near_upper:
            out[p.name] = p.lower if near_lower else p.upper
    return out


def _failed(law: Law, loss: Loss, runs: Runs, y: np.ndarray, inputs: dict, starts: int, status: str) -> Fit:
    warnings.warn(status, ConvergenceWarning, stacklevel=3)
    return Fit(
        law=law,
        params={p.name: float("nan") for p in law.parameters},
        objective=float("inf"),
        loss=loss,
        n_points=int(y.size),
        status=status,
        warnings=(FitWarning(ConvergenceWarning.code, status),),
        data_range={v: (float(inputs[v].min()), float(inputs[v].max())) for v in law.variables},
        provenance=_provenance(runs, law, "loss", starts, 0),
        notes=runs.notes,
    )
