"""Diagnostics of a fit, as typed warnings: what a careful reviewer would flag.

- a flat or ill-conditioned direction in parameter space (from the Jacobian
  of the residuals at the optimum),
- residuals with a trend or curvature in a variable (the law misses a shape),
- too few distinct values of a variable to identify the law,
- non-monotone data (inverse or U-shaped scaling) fitted with a monotone law.

Parameters on their bounds are checked in :mod:`scalinglaws.fitting.fit`;
extrapolation far outside the data in :mod:`scalinglaws.predict`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from ..errors import IdentifiabilityWarning, NonMonotoneWarning, ResidualTrendWarning
from ..fitting.objectives import Loss
from ..fitting.result import FitWarning
from ..laws.base import Law

#: Condition number of the column-scaled Jacobian above which a direction is called flat.
CONDITION_LIMIT = 1e4
#: Residual serial correlation flagged beyond this many null standard deviations (Durbin-Watson).
TREND_Z = 3.0
#: ...and the statistic itself must be well below 2 (an effect, not only significance:
#: with tens of thousands of values a Durbin-Watson of 1.9 is 'significant').
TREND_MAX_DW = 1.5
MIN_TREND_VALUES = 8
#: Residual standard deviation below which a fit counts as exact (noise-free data).
EXACT_FIT_NOISE = 1e-8


def conditioning(law: Law, params: Mapping[str, float], inputs: Mapping[str, np.ndarray], loss: Loss, pinned: Collection[str] = ()) -> tuple[float, np.ndarray]:
    """Condition number of the scaled Jacobian and the flattest direction (unit vector over parameters).

    Parameters named in ``pinned`` (already reported on their bounds) are left out.
    """
    names = law.parameter_names
    u = np.array([np.log(params[p.name]) if p.log_scale and params[p.name] > 0 else params[p.name] for p in law.parameters])
    log_scale = np.array([p.log_scale and params[p.name] > 0 for p in law.parameters])

    def residual(vec: np.ndarray) -> np.ndarray:
        values = np.where(log_scale, np.exp(vec), vec)
        predicted = law.function(dict(zip(names, values, strict=True)), dict(inputs))
        return np.log(predicted) if loss.space == "log" else predicted

    step = 1e-6 * np.maximum(1.0, np.abs(u))
    with np.errstate(all="ignore"):
        columns = [(residual(u + e) - residual(u - e)) / (2 * h) for e, h in zip(np.diag(step), step, strict=True)]
    jac = np.column_stack(columns)
    if not np.all(np.isfinite(jac)):
        return np.inf, np.zeros(len(names))
    norms = np.linalg.norm(jac, axis=0)
    # A parameter with no effect (a scale pinned at 0) is reported by the bound check instead.
    active = (norms > 1e-12 * max(float(norms.max()), 1e-300)) & np.array([n not in pinned for n in names])
    direction = np.zeros(len(names))
    if active.sum() < 2:
        return 1.0, direction
    _, s, vt = np.linalg.svd(jac[:, active] / norms[active], full_matrices=False)
    direction[active] = vt[-1]
    return (float(s[0] / s[-1]) if s[-1] > 0 else np.inf), direction


def residual_trend(x: np.ndarray, r: np.ndarray) -> tuple[float, float, int]:
    """Serial correlation of residuals ordered by ``x`` (averaged per distinct value).

    Returns ``(z, dw, m)``: the Durbin-Watson statistic ``dw`` of the ordered
    mean residuals, its distance below 2 in units of its null standard
    deviation (about ``2 / sqrt(m)``), and the number ``m`` of distinct values.
    A law that misses a shape leaves smooth, same-signed runs of residuals
    (``dw`` near 0); noise alone gives ``dw`` near 2.
    """
    series = pd.Series(r).groupby(np.asarray(x)).mean().sort_index().to_numpy()
    m = series.size
    spread = float(np.sum((series - series.mean()) ** 2))
    if m < MIN_TREND_VALUES or spread == 0:
        return 0.0, 2.0, m
    dw = float(np.sum(np.diff(series) ** 2) / spread)
    return (2.0 - dw) / (2.0 / np.sqrt(m)), dw, m


#: Tokens per parameter D/N are taken as equal when they agree to this many decimals of log10 (about 2%).
RATIO_DECIMALS = 2


def non_monotone_share(variable: str, inputs: Mapping[str, np.ndarray], y: np.ndarray, noise: float) -> tuple[float, int]:
    """Share of slices (other variables fixed) where loss rises with ``variable`` beyond noise."""
    others = [v for v in inputs if v != variable]
    frame = pd.DataFrame({k: np.asarray(v) for k, v in inputs.items()})
    return _rising_share(frame, others, variable, y, noise)


def ratio_non_monotone_share(inputs: Mapping[str, np.ndarray], y: np.ndarray, noise: float) -> tuple[float, int]:
    """Share of lines of fixed tokens per parameter D/N along which loss rises with N (and D) beyond noise.

    A ladder of several sizes at a few tokens-per-parameter ratios shares no
    D between three sizes, so the slices of fixed D see nothing; along a line
    of fixed D/N both N and D grow, and the loss of a monotone law falls.
    (Lines of fixed compute are not used: there loss is U-shaped in N by
    nature, the IsoFLOP valley.)
    """
    n, d = np.asarray(inputs["N"], dtype=float), np.asarray(inputs["D"], dtype=float)
    with np.errstate(all="ignore"):
        ratio = np.round(np.log10(d / n), RATIO_DECIMALS)
    frame = pd.DataFrame({"ratio": ratio, "N": n})
    return _rising_share(frame, ["ratio"], "N", y, noise)


def _rising_share(frame: pd.DataFrame, others: list[str], variable: str, y: np.ndarray, noise: float) -> tuple[float, int]:
    """Share of the slices of ``frame`` (``others`` fixed, at least 3 ``variable`` values) whose loss rises at the largest value."""
    frame = frame.assign(y=np.log(y))
    # Mean log loss per (slice, value), sorted so each slice's curve ascends in ``variable``.
    means = frame.groupby([*others, variable], sort=True)["y"].mean()
    if others:
        by_slice = means.groupby(level=list(range(len(others))), sort=False)
        stats = pd.DataFrame({"size": by_slice.size(), "last": by_slice.last(), "min": by_slice.min()})
    else:
        stats = pd.DataFrame({"size": [means.size], "last": [means.iloc[-1]], "min": [means.min()]})
    stats = stats[stats["size"] >= 3]
    checked = len(stats)
    # The loss at the largest value sits above the slice's minimum by more than the noise allows.
    rising = int(((stats["last"] - stats["min"]) > max(3 * noise, 1e-3)).sum())
    return (rising / checked if checked else 0.0), checked


def diagnose(law: Law, params: Mapping[str, float], inputs: Mapping[str, np.ndarray], y: np.ndarray, loss: Loss, residuals: np.ndarray, noise: float, pinned: Collection[str] = ()) -> list[FitWarning]:
    """All diagnostics of a converged fit, as :class:`FitWarning` records.

    ``pinned`` names parameters already reported on their bounds; the conditioning check skips them.
    """
    out: list[FitWarning] = []
    for variable, values in inputs.items():
        distinct = np.unique(values).size
        if distinct < 3 and len(law.parameters) > 2:
            out.append(FitWarning(IdentifiabilityWarning.code, f"only {distinct} distinct {variable} value(s): the law's {variable}-dependence is not identified; add runs at more {variable} values"))
    if all(np.isfinite(v) for v in params.values()) and y.size > len(law.parameters):
        condition, direction = conditioning(law, params, inputs, loss, pinned)
        if condition > CONDITION_LIMIT:
            order = np.argsort(-np.abs(direction))[:2]
            names = " and ".join(law.parameter_names[i] for i in order)
            out.append(FitWarning(IdentifiabilityWarning.code, f"ill-conditioned fit (condition number {condition:.2g}): {names} trade off along a flat direction; intervals on them will be wide"))
    # A law that fits to rounding leaves the solver's pattern in the residuals, not the data's: no trend check then.
    for variable, values in (inputs.items() if noise >= EXACT_FIT_NOISE else ()):
        z, dw, m = residual_trend(values, residuals)
        if z > TREND_Z and dw < TREND_MAX_DW:
            out.append(FitWarning(ResidualTrendWarning.code, f"residuals ordered by {variable} run in long same-signed stretches (Durbin-Watson {dw:.2f} over {m} values, {z:.1f} sd below noise): the law misses a shape in the data"))
    if law.monotone:
        out.extend(_non_monotone_warnings(inputs, y, robust_noise(residuals)))
    return out


def robust_noise(residuals: np.ndarray) -> float:
    """Scale of the residuals from their median absolute deviation (x 1.4826, the normal's sd).

    A shape the law misses at a few points (a U at the largest sizes)
    inflates the residual standard deviation, and so would hide itself from a
    threshold set by it; the median absolute deviation is not moved by those points.
    """
    r = np.asarray(residuals, dtype=float)
    r = r[np.isfinite(r)]
    return float(1.4826 * np.median(np.abs(r - np.median(r)))) if r.size else 0.0


def _non_monotone_warnings(inputs: Mapping[str, np.ndarray], y: np.ndarray, noise: float) -> list[FitWarning]:
    """Loss rising at the largest values of a variable, the others fixed, or with N along lines of fixed D/N."""
    out = []
    advice = "(inverse or U-shaped scaling); a monotone law cannot express it — consider a broken power law"
    for variable in inputs:
        share, checked = non_monotone_share(variable, inputs, y, noise)
        if checked and share > 0.5:
            out.append(FitWarning(NonMonotoneWarning.code, f"loss rises with {variable} at the largest values in {share:.0%} of {checked} slice(s) {advice}"))
    if {"N", "D"} <= set(inputs) and not any("rises with N" in w.message for w in out):
        share, checked = ratio_non_monotone_share(inputs, y, noise)
        if checked and share > 0.5:
            out.append(FitWarning(NonMonotoneWarning.code, f"loss rises with N at the largest sizes along {share:.0%} of {checked} line(s) of fixed "
                                                           f"tokens per parameter D/N {advice}"))
    return out
