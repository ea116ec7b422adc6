"""``fit_curves()``: fit a learning-curve law to one or several runs jointly.

The search does not depend on a guess: the three coefficients that enter
linearly (``L0``, ``A`` and ``C`` or ``B``) are solved exactly, non-negative,
at every point of a grid of the nonlinear parameters (variable projection,
batched NNLS); the best grid points that are local minima are then polished
over all parameters by scipy's trust-region reflective ``least_squares``
with an exact Jacobian. Learning rates are divided by the largest fitted
peak while fitting (conditioning) and the parameters converted back.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..errors import BoundWarning, ConvergenceWarning, IdentifiabilityWarning, InputError, warning_class
from ..fitting.result import FitWarning
from ..fitting.search import batched_nnls, grid_minima
from .areas import warmup_length
from .checks import ZeroLearningRateWarning, schedule_summary, zero_lr_message
from .data import Curve
from .laws import FIT_SEGMENTS, CurveLaw, get_curve_law
from .result import CurveFit

LOSSES = ("squared", "huber")
#: Grid points polished by default.
DEFAULT_CANDIDATES = 4
#: Fitted checkpoints whose LR fell less than this fraction below the peak leave the annealing term unidentified
#: (on the Mamba-3B curve a 5% decay gave C = 10 and an 80% error at the end of the run).
MIN_ANNEAL = 0.1


@dataclass(frozen=True)
class _Core:
    params: dict[str, float]  # normalised-LR units
    objective: float
    status: str
    grid_size: int
    residuals: np.ndarray


def fit_curves(
    curves: Curve | Sequence[Curve],
    law: str | CurveLaw = "lr_annealing",
    *,
    lam: float | str | None = None,
    fixed: Mapping[str, float] | None = None,
    loss: str = "squared",
    delta: float = 0.01,
    min_step: int | None = None,
    candidates: int = DEFAULT_CANDIDATES,
    bootstrap: int = 0,
    level: float = 0.95,
    seed: int | np.random.Generator = 0,
    block: int | None = None,
    segments: int = FIT_SEGMENTS,
) -> CurveFit:
    r"""Fit a learning-curve law to runs with known schedules, jointly.

    .. math:: L(s) = L_0 + A\,S_1^{-\alpha} - C\,S_2 \quad\text{(lr\_annealing)}

    Parameters
    ----------
    curves:
        One :class:`Curve` or several (e.g. a constant and a cosine run); all
        share the law's parameters.
    law:
        ``"lr_annealing"`` (Tissue et al. 2024) or ``"multi_power"`` (Luo et
        al. 2025), or a :class:`CurveLaw`.
    lam:
        Momentum of the annealing area (``lr_annealing``): a number in
        [0, 1) held fixed (default 0.999), or ``"fit"`` to fit it.
    fixed:
        Parameters to hold at given values, e.g. ``{"gamma": 0.5}``, ``{"L0": 1.7}``;
        a parameter in the LR's units only at 0, which switches its term off
        (``{"C": 0}``: no annealing benefit), except the annealing
        coefficient (``C`` of lr_annealing, ``B`` of multi_power), which can
        be held at any value >= 0 in the units of the LR given (e.g. from a
        prior fit of runs whose LR is in the same units).
    loss, delta:
        ``"squared"`` (default) or ``"huber"`` (with ``delta`` in loss units)
        on the residuals of the loss; the objective is their **sum**.
    min_step:
        Fit only checkpoints at or after this step. Default: each run's
        checkpoints from the end of its warm-up (the first step at peak LR).
    candidates:
        Grid minima polished by the local solver.
    bootstrap, level, seed, block:
        Bootstrap replicates stored for prediction intervals: resampling
        runs when there are 3 or more, else a moving-block bootstrap of each
        run's residuals (``block`` checkpoints per block, default
        ``ceil(n ** (1/3))``), refitting each replicate.
    segments:
        ``multi_power`` only: the annealing sum over LR decrements is grouped
        into at most this many segments per run (plus cuts at the logged
        steps) while fitting; exact when a run's LR changes on fewer steps.
        1000 keeps predictions within about 1e-6 of the exact sum on smooth
        schedules; raise it for exact parameter recovery on long schedules.

    Returns
    -------
    CurveFit
        A frozen record with ``params`` (raw LR units), ``objective``,
        ``status`` ("converged" or why not), warnings and settings.

    Raises
    ------
    InputError
        For curves without losses, too few checkpoints, unknown names or options.

    Examples
    --------
    >>> from scalinglaws.curves import LR_ANNEALING, fit_curves, learning_rates, schedule_curve
    >>> truth = {"L0": 2.0, "A": 0.6, "alpha": 0.5, "C": 0.2, "lam": 0.999}
    >>> specs, at = ("constant:peak=1e-3", "cosine:peak=1e-3"), range(100, 2001, 50)
    >>> runs = [schedule_curve(s, 2000, at=at, loss=LR_ANNEALING(truth, learning_rates(s, 2000), at), name=s[:6]) for s in specs]
    >>> round(fit_curves(runs).params["alpha"], 6)
    0.5
    """
    law = get_curve_law(law)
    curves = _as_curves(curves)
    hold = _fixed_parameters(law, lam, fixed)
    unused = _unused_parameters(law, hold)
    if loss not in LOSSES:
        raise InputError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if not (delta > 0):
        raise InputError(f"delta must be > 0 (Huber threshold in loss units), got {delta!r}")
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise InputError(f"candidates must be a positive integer, got {candidates!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise InputError(f"bootstrap must be a whole number of replicates >= 0, got {bootstrap!r}")
    if not (0 < level < 1):
        raise InputError(f"level must be in (0, 1), got {level!r}")
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise InputError(f"segments must be a positive integer, got {segments!r}")
    if block is not None and (isinstance(block, bool) or not isinstance(block, int) or block < 1):
        raise InputError(f"block must be a whole number of checkpoints >= 1, got {block!r}")
    selected, starts = _select(curves, min_step)
    n_points = sum(c.steps.size for c in selected)
    n_free = sum(1 for n in law.parameter_names if n not in hold)
    if n_points <= n_free:
        raise InputError(f"law {law.name!r} has {n_free} free parameters but only {n_points} checkpoint(s) are fitted; "
                         f"log more checkpoints or lower min_step")
    fit_warnings = _data_warnings(selected, annealing_held=law.linear[2] in hold)
    ref = max(float(c.lr.max()) for c in selected)
    raw_hold = dict(hold)
    hold = internal_hold(law, hold, ref)
    y = np.concatenate([c.loss for c in selected])  # type: ignore[misc]
    core = _fit_core(law, selected, y, ref, hold, loss, delta, candidates, segments=segments)
    params = law.to_raw(core.params, ref)
    n_free_residual = max(n_points - n_free, 1)
    residual_std = float(np.sqrt(np.sum(core.residuals ** 2) / n_free_residual))
    if core.status != "converged":
        fit_warnings.append(FitWarning(ConvergenceWarning.code, core.status))
    fit_warnings.extend(_bound_warnings(law, params, core.params, hold, selected))
    replicates: tuple[dict[str, float], ...] = ()
    method = ""
    if bootstrap:
        replicates, method = _bootstrap(law, selected, core, ref, hold, loss, delta, bootstrap, seed, block, segments)
        failed = bootstrap - len(replicates)
        if failed:
            fit_warnings.append(FitWarning(ConvergenceWarning.code, f"{failed} of {bootstrap} bootstrap replicates did not converge and were left out"))
    for w in fit_warnings:
        warnings.warn(w.message, warning_class(w.code), stacklevel=2)
    runs = tuple(_run_summary(c, start, law, params) for c, start in zip(selected, starts, strict=True))
    settings = {
        "fixed": {k: float(v) for k, v in raw_hold.items() if k not in unused},
        "unused": {k: f"held at {v:g} (normalised LR units): {law.linear[2]} = 0 switches its term off" for k, v in unused.items()},
        "min_step": min_step,
        "warmup": "warm-up steps counted at the peak LR (Tissue et al.'s public implementation); fitted from the end of warm-up unless min_step is set",
        "lr_reference": ref,
        "candidates": candidates,
        "starts": core.grid_size,
        "solver": (f"variable projection (exact NNLS for {', '.join(law.linear)}) over a {core.grid_size}-point grid of "
                   f"{', '.join(p.name for p in law.nonlinear if p.name not in hold) or 'no nonlinear parameter'}, then "
                   f"trust-region reflective least squares (scipy) over all parameters from the best {candidates} grid minima"),
        "segments": segments if law.name == "multi_power" else None,
    }
    return CurveFit(
        law=law, params=params, objective=core.objective, loss=loss, delta=delta if loss == "huber" else None,
        n_points=n_points, status=core.status, warnings=tuple(fit_warnings), runs=runs,
        residual_std=residual_std, settings=settings, replicates=replicates, bootstrap_method=method,
        level=level if bootstrap else None, seed=seed if isinstance(seed, int) else None,
    )


def _as_curves(curves: Curve | Sequence[Curve]) -> list[Curve]:
    items = [curves] if isinstance(curves, Curve) else list(curves) if isinstance(curves, (list, tuple)) else None
    if not items or not all(isinstance(c, Curve) for c in items):
        raise InputError("curves must be a Curve or a non-empty list of Curves (see read_curves and schedule_curve)")
    for c in items:
        if c.loss is None:
            raise InputError(f"run {c.name!r} has no logged losses to fit")
    names = [c.name for c in items]
    if len(set(names)) != len(names):
        raise InputError(f"run names must be unique, got {names}")
    return items


def _fixed_parameters(law: CurveLaw, lam: float | str | None, fixed: Mapping[str, float] | None) -> dict[str, float]:
    hold = dict(law.defaults)
    names = {p.name for p in law.nonlinear}
    if lam is not None:
        if "lam" not in names:
            raise InputError(f"lam applies to the lr_annealing law only; law {law.name!r} has no momentum parameter")
        if lam == "fit":
            hold.pop("lam", None)
        elif isinstance(lam, (int, float)) and not isinstance(lam, bool) and 0.0 <= lam < 1.0:
            hold["lam"] = float(lam)
        else:
            raise InputError(f"lam must be a number in [0, 1) or 'fit', got {lam!r}")
    if lam is not None and "lam" in (fixed or {}):
        raise InputError(f"lam is given twice: as lam={lam!r} (--lam) and as a fixed value lam={fixed['lam']!r} (--fix); give it once")  # type: ignore[index]
    for key, value in (fixed or {}).items():
        if key not in law.parameter_names:
            raise InputError(f"fixed parameter {key!r} is not a parameter of {law.name!r}; choose from {', '.join(law.parameter_names)}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
            raise InputError(f"fixed parameter {key} must be a finite number, got {value!r}")
        if key in law.lr_scaled and value != 0 and key != law.linear[2]:
            raise InputError(f"parameter {key} of {law.name!r} depends on the LR's units and can only be fixed at 0 (switching its term off)")
        declared = next(p for p in law.parameters if p.name == key)
        if not (declared.lower <= value <= declared.upper):
            raise InputError(f"fixed parameter {key} = {value!r} is outside its bounds [{declared.lower:g}, {declared.upper:g}]")
        hold[key] = float(value)
    return hold


def internal_hold(law: CurveLaw, hold: Mapping[str, float], ref: float) -> dict[str, float]:
    """Held values in the fitter's units (LR divided by ``ref``) from raw ones.

    Only the annealing coefficient (``C`` of lr_annealing, ``B`` of
    multi_power) can be held at a non-zero value among the LR-scaled
    parameters: its raw value is its internal one divided by ``ref`` in both
    laws, whatever the other parameters, so it converts exactly.
    """
    out = dict(hold)
    scale = law.linear[2]
    if out.get(scale):
        probe = law.to_raw({**{n: 1.0 for n in law.parameter_names}, scale: 1.0}, ref)[scale]  # raw value of internal 1
        out[scale] = out[scale] / probe
    return out


def _unused_parameters(law: CurveLaw, hold: dict[str, float]) -> dict[str, float]:
    """With the annealing coefficient held at 0, its shape parameters do nothing: hold them at a grid value."""
    if hold.get(law.linear[2]) != 0.0:
        return {}
    unused = {}
    for p in law.parameters:
        if p.name in law.decay_parameters and p.name not in hold:
            unused[p.name] = float(p.grid[len(p.grid) // 2]) if p.grid else float(p.lower)
    hold.update(unused)
    return unused


def _select(curves: Sequence[Curve], min_step: int | None) -> tuple[list[Curve], list[int]]:
    if min_step is not None and (isinstance(min_step, bool) or not isinstance(min_step, (int, np.integer)) or min_step < 1):
        raise InputError(f"min_step must be a whole number of steps >= 1, got {min_step!r}")
    out, starts = [], []
    for c in curves:
        start = int(min_step) if min_step is not None else warmup_length(c.lr) + 1
        keep = c.steps >= start
        if not keep.any():
            raise InputError(f"run {c.name!r} has no checkpoint at or after step {start} "
                             f"({'min_step' if min_step is not None else 'the end of its warm-up'}); lower min_step")
        out.append(Curve(lr=c.lr, steps=c.steps[keep], loss=c.loss[keep], name=c.name, schedule=c.schedule))  # type: ignore[index]
        starts.append(start)
    return out, starts


def _data_warnings(curves: Sequence[Curve], *, annealing_held: bool) -> list[FitWarning]:
    out = []
    for c in curves:
        message = zero_lr_message(c.lr[: c.steps[-1]], f"run {c.name!r}")
        if message:
            out.append(FitWarning(ZeroLearningRateWarning.code, message))
    anneal = _fitted_anneal(curves)
    if anneal < MIN_ANNEAL and not annealing_held:
        out.append(FitWarning(IdentifiabilityWarning.code,
                              f"the LR of the fitted checkpoints fell at most {anneal:.0%} below its peak, too little to identify the "
                              "annealing term (C or B); add a run with a decaying schedule (e.g. cosine) or checkpoints from the decay"))
    return out


def _fitted_anneal(curves: Sequence[Curve]) -> float:
    """How far below its peak (fraction) the LR of any fitted run went before its last fitted checkpoint."""
    return max(schedule_summary(c.lr, int(c.steps[-1]))["anneal"] for c in curves)


def _grid(law: CurveLaw, design: object, hold: Mapping[str, float]) -> tuple[list[str], list[np.ndarray]]:
    scale = law.grid_scale(design) if law.grid_scale is not None else {}
    names, axes = [], []
    for p in law.nonlinear:
        if p.name in hold:
            continue
        values = np.asarray(p.grid, dtype=float) * float(scale.get(p.name, 1.0))
        names.append(p.name)
        axes.append(np.clip(values, p.lower, p.upper))
    return names, axes


def _design_matrix(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(f1), f1, -f2], axis=-1)


def _objective(r: np.ndarray, loss: str, delta: float) -> float:
    if loss == "squared":
        return float(r @ r)
    a = np.abs(r)
    m = np.minimum(a, delta)
    return float(np.sum(m * (a - 0.5 * m)))


def solve_grid(law: CurveLaw, design: object, hold: Mapping[str, float], names: Sequence[str], points: Sequence[tuple], y: np.ndarray
               ) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares coefficients (non-negative) and residual sum of squares at every grid point of the nonlinear parameters.

    Returns the indices of the free linear coefficients, the held ones' values,
    the coefficients per point and the RSS per point (inf where the law's
    features are not finite).
    """
    free = [i for i, n in enumerate(law.linear) if n not in hold]
    held = np.array([hold.get(n, 0.0) for n in law.linear])
    stacked = np.empty((len(points), y.size, 3))
    usable = np.ones(len(points), dtype=bool)
    with np.errstate(all="ignore"):
        for g, point in enumerate(points):
            f1, f2, _ = law.features(design, {**hold, **dict(zip(names, point, strict=True))}, False)
            stacked[g] = _design_matrix(f1, f2)
            usable[g] = bool(np.all(np.isfinite(stacked[g])))
    stacked[~usable] = 0.0
    target = y[None, :] - stacked @ np.where(np.isin(np.arange(3), free), 0.0, held)  # held coefficients moved to the left
    coefs = np.broadcast_to(held, (len(points), 3)).copy()
    if free:
        solved, rss = batched_nnls(np.ascontiguousarray(stacked[:, :, free]), target)
        coefs[:, free] = solved
    else:
        rss = np.einsum("gn,gn->g", target, target)
    return free, held, coefs, np.where(usable & np.isfinite(rss), rss, np.inf)


def _fit_core(law: CurveLaw, curves: Sequence[Curve], y: np.ndarray, ref: float, hold: Mapping[str, float],
              loss: str, delta: float, candidates: int, design: object | None = None, segments: int = FIT_SEGMENTS) -> _Core:
    if design is None:
        design = law.prepare([c.lr / ref for c in curves], [c.steps for c in curves], segments)
    names, axes = _grid(law, design, hold)
    points = list(itertools.product(*axes)) if names else [()]
    shape = tuple(a.size for a in axes)
    _, _, coefs, rss = solve_grid(law, design, hold, names, points, y)
    if not np.isfinite(rss).any():
        return _Core({n: float("nan") for n in law.parameter_names}, float("inf"), "not converged: no grid point gives finite predictions",
                     len(points), np.full(y.size, np.nan))
    order = grid_minima(rss.reshape(shape) if shape else rss, candidates)
    grid_best = np.inf
    best: tuple[float, dict[str, float], bool, str, np.ndarray] | None = None
    for index in order:
        theta = {**hold, **dict(zip(names, points[index], strict=True))}
        start = {**theta, **dict(zip(law.linear, coefs[index], strict=True))}
        f1, f2, _ = law.features(design, theta, False)
        r0 = _design_matrix(f1, f2) @ coefs[index] - y
        grid_best = min(grid_best, _objective(r0, loss, delta))
        objective, params, success, message, residuals = _polish(law, design, y, start, names, hold, loss, delta)
        if best is None or objective < best[0]:
            best = (objective, params, success, message, residuals)
    assert best is not None
    objective, params, success, message, residuals = best
    if not np.isfinite(objective) or objective > grid_best * (1 + 1e-9) + 1e-300:
        status = f"not converged: the local solver ended above the grid's best objective ({message})"
    elif not success:
        status = f"not converged: {message}"
    else:
        status = "converged"
    return _Core(params, objective, status, len(points), residuals)


def _polish(law: CurveLaw, design: object, y: np.ndarray, start: Mapping[str, float], names: Sequence[str],
            hold: Mapping[str, float], loss: str, delta: float) -> tuple[float, dict[str, float], bool, str, np.ndarray]:
    """Trust-region least squares over the free linear coefficients and the free nonlinear parameters."""
    declared = {p.name: p for p in law.parameters}
    free_linear = [n for n in law.linear if n not in hold]
    log = np.array([declared[n].log_scale for n in names], dtype=bool)
    k = len(free_linear)
    lower = [0.0] * k + [np.log(declared[n].lower) if lg else declared[n].lower for n, lg in zip(names, log, strict=True)]
    upper = [np.inf] * k + [np.log(declared[n].upper) if lg else declared[n].upper for n, lg in zip(names, log, strict=True)]
    u0 = np.array([start[n] for n in free_linear] + [np.log(start[n]) if lg else start[n] for n, lg in zip(names, log, strict=True)])
    u0 = np.clip(u0, lower, upper)
    fixed = {n: float(start[n]) for n in law.parameter_names if n not in names and n not in free_linear}

    def unpack(u: np.ndarray) -> dict[str, float]:
        values = dict(fixed)
        values.update(zip(free_linear, (float(v) for v in u[:k])))
        values.update({n: float(np.exp(v) if lg else v) for n, v, lg in zip(names, u[k:], log, strict=True)})
        return values

    def residuals(u: np.ndarray) -> np.ndarray:
        values = unpack(u)
        c0, c1, c2 = (values[n] for n in law.linear)
        with np.errstate(all="ignore"):
            f1, f2, _ = law.features(design, values, False)
            r = c0 + c1 * f1 - c2 * f2 - y
        return np.where(np.isfinite(r), r, 1e10)

    def jacobian(u: np.ndarray) -> np.ndarray:
        values = unpack(u)
        c0, c1, c2 = (values[n] for n in law.linear)
        with np.errstate(all="ignore"):
            f1, f2, derivs = law.features(design, values, True)
            basis = dict(zip(law.linear, (np.ones_like(f1), f1, -f2), strict=True))
            columns = [basis[n] for n in free_linear]
            for n, lg in zip(names, log, strict=True):
                d1, d2 = derivs[n]
                column = c1 * d1 - c2 * d2
                columns.append(column * values[n] if lg else column)
        jac = np.stack(columns, axis=1)
        return np.where(np.isfinite(jac), jac, 0.0)

    options = {"loss": "huber", "f_scale": delta} if loss == "huber" else {}
    try:
        result = least_squares(residuals, u0, jac=jacobian, bounds=(lower, upper), method="trf", x_scale="jac",
                               ftol=1e-14, xtol=1e-14, gtol=1e-14, max_nfev=1000, **options)
    except (ValueError, np.linalg.LinAlgError) as exc:  # a degenerate start (e.g. all-zero Jacobian)
        return float("inf"), dict(start), False, str(exc), np.full(y.size, np.nan)
    r = residuals(result.x)
    return _objective(r, loss, delta), unpack(result.x), bool(result.status > 0), str(result.message), r


def _bound_warnings(law: CurveLaw, params: Mapping[str, float], internal: Mapping[str, float], hold: Mapping[str, float],
                    curves: Sequence[Curve]) -> list[FitWarning]:
    """Parameters on their bounds; ``params`` in raw LR units, ``internal`` as fitted (bounds apply there)."""
    out = []
    scale = law.linear[2]
    with np.errstate(all="ignore"):
        # The annealing term is "off" when setting its coefficient to 0 changes no fitted prediction by a relative 1e-6.
        effect = max(float(np.max(np.abs(law(params, c.lr, c.steps) / law({**params, scale: 0.0}, c.lr, c.steps) - 1))) for c in curves)
    off = not effect > 1e-6
    if scale not in hold and off and _fitted_anneal(curves) >= MIN_ANNEAL:
        shape = [n for n in law.decay_parameters if n not in hold]
        out.append(FitWarning(BoundWarning.code, f"parameter {scale} = {params[scale]:.3g} is at its bound 0: the fitted curves show no loss "
                                                 "drop from the LR decrease" + (f", so {', '.join(shape)} are not identified" if shape else "")))
    for p in law.nonlinear:
        if p.name in hold or off and p.name in law.decay_parameters:
            continue
        value = internal[p.name]
        if p.log_scale:
            at = value <= p.lower * (1 + 1e-6) or value >= p.upper * (1 - 1e-6)
        else:
            span = max(p.upper - p.lower, 1.0)
            at = value <= p.lower + 1e-6 * span or value >= p.upper - 1e-6 * span
        if at:
            out.append(FitWarning(BoundWarning.code, f"parameter {p.name} = {value:.6g} is at its bound; the curves may not identify it"))
    return out


def _run_summary(curve: Curve, start: int, law: CurveLaw, params: Mapping[str, float]) -> dict[str, object]:
    summary = schedule_summary(curve.lr, int(curve.steps[-1]))
    with np.errstate(all="ignore"):
        predicted = law(params, curve.lr, curve.steps)
    residual = curve.loss - predicted  # type: ignore[operator]
    return {
        "name": curve.name,
        "schedule": curve.schedule,
        "first_step": int(curve.steps[0]),
        "last_step": int(curve.steps[-1]),
        "total_steps": curve.total_steps,
        "points": int(curve.steps.size),
        "min_step": start,
        **summary,
        "rms_residual": float(np.sqrt(np.mean(residual ** 2))),
    }


def _bootstrap(law: CurveLaw, curves: Sequence[Curve], core: _Core, ref: float, hold: Mapping[str, float], loss: str,
               delta: float, replicates: int, seed: int | np.random.Generator, block: int | None,
               segments: int) -> tuple[tuple[dict[str, float], ...], str]:
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = []
    if len(curves) >= 3:
        method = f"bootstrap over runs ({replicates} replicates of {len(curves)} runs, each refitted from the full grid)"
        for _ in range(replicates):
            pick = rng.integers(0, len(curves), len(curves))
            chosen = [curves[i] for i in pick]
            chosen = [Curve(lr=c.lr, steps=c.steps, loss=c.loss, name=f"{c.name}#{j}", schedule=c.schedule) for j, c in enumerate(chosen)]
            y = np.concatenate([c.loss for c in chosen])  # type: ignore[misc]
            result = _fit_core(law, chosen, y, ref, hold, loss, delta, 2, segments=segments)
            if result.status == "converged":
                out.append(law.to_raw(result.params, ref))
        return tuple(out), method
    sizes = [c.steps.size for c in curves]
    lengths = [block or max(1, int(np.ceil(n ** (1 / 3)))) for n in sizes]
    design = law.prepare([c.lr / ref for c in curves], [c.steps for c in curves], segments)
    fitted = np.concatenate([c.loss for c in curves]) + core.residuals  # type: ignore[misc]  # y + (prediction - y)
    residuals = -core.residuals  # observed minus fitted
    offsets = np.cumsum([0] + sizes)
    method = (f"moving-block bootstrap of the residuals within each run ({replicates} replicates, blocks of "
              f"{', '.join(map(str, sorted(set(lengths))))} checkpoints), each refitted from the full grid")
    for _ in range(replicates):
        y = fitted.copy()
        for lo, hi, b in zip(offsets[:-1], offsets[1:], lengths, strict=True):
            n = hi - lo
            starts = rng.integers(0, n, int(np.ceil(n / b)))
            take = (starts[:, None] + np.arange(b)[None, :]).ravel()[:n] % n  # circular blocks
            y[lo:hi] += residuals[lo:hi][take]
        result = _fit_core(law, curves, y, ref, hold, loss, delta, 2, design)
        if result.status == "converged":
            out.append(law.to_raw(result.params, ref))
    return tuple(out), method


__all__ = ["DEFAULT_CANDIDATES", "LOSSES", "fit_curves", "internal_hold"]
