"""Plausible truths for judging a ladder: the prior law, seed noise, and a smooth misfit.

A ladder judged only by data drawn from the prior law rewards designs that
lean on the law being exactly right (a single token count per size, say):
their fits look tight in simulation and miss on real runs. Real losses depart
from any law by a few tenths of a percent to a few percent, smoothly in
(log N, log D). This module draws such departures, so designs that are robust
to a wrong law win.

Each simulated world is

    loss(N, D) = law(N, D) * exp(delta(ln N, ln D) + u_run + e)

- ``delta``: a smooth random function (a stationary Gaussian process with a
  squared-exponential kernel, drawn through random Fourier features) with
  standard deviation ``discrepancy`` and length scale ``length`` in natural-log
  units (``length=2`` means points a factor e^2 = 7.4 apart are nearly
  independent). It is the model discrepancy of Kennedy & O'Hagan (2001).
  With ``along="ratio"`` (the default) it is a function of the tokens per
  parameter ln(D/N) only: the law holds along each ray of constant ratio, up
  to a factor that changes smoothly from ray to ray. That is what Gadre et
  al. (2024) found on real ladders (loss at a fixed tokens-per-parameter
  ratio follows a clean power law in compute; the law across ratios is what
  drifts); of the misfits tried on real ladders it led the design to the
  smallest errors (``benchmarks/design_families.py``). With ``along="plane"`` it varies
  over (ln N, ln D) in every direction.
- ``u_run``: the seed noise of a run, shared by all checkpoints of that run.
- ``e``: a small independent jitter per logged point (an eval's own noise).

The target's true value in that world includes ``delta`` at the target, so a
forecast is judged against what the target's loss would really be there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..laws import get_law

#: Random Fourier features per drawn misfit function (enough for a smooth 2-D field).
FEATURES = 64
#: Per-point jitter of a checkpoint's loss, as a fraction of the run-level seed noise.
CHECKPOINT_JITTER = 0.25


@dataclass(frozen=True)
class World:
    """One simulated world: losses at the ladder's runs and the true value at the target."""

    loss: np.ndarray
    target: float


#: Directions a misfit can vary in: over the whole (ln N, ln D) plane, or with ln(D/N) only.
MISFIT_DIRECTIONS = ("ratio", "plane")


def smooth_misfit(rng: np.random.Generator, scale: float, length: float, along: str = "ratio") -> callable:
    """A random smooth function of (ln N, ln D) with standard deviation ``scale`` at every point.

    ``along="ratio"``: it depends on ln(D/N) only (constant along each ray of
    fixed tokens per parameter); ``along="plane"``: on ln N and ln D freely.
    """
    omega = rng.standard_normal((FEATURES, 2)) / length
    if along == "ratio":
        # Project each frequency onto the ratio direction (-1, 1) / sqrt(2), so the field changes with ln D - ln N only,
        # with the same length scale along that direction.
        along_ratio = (omega[:, 1] - omega[:, 0]) / 2.0
        omega = np.column_stack([-along_ratio, along_ratio]) * np.sqrt(2.0)
    elif along != "plane":
        raise ValueError(f"along must be one of {MISFIT_DIRECTIONS}, got {along!r}")
    phase = rng.uniform(0.0, 2.0 * np.pi, FEATURES)
    weight = scale * np.sqrt(2.0 / FEATURES)

    def delta(n: np.ndarray, d: np.ndarray) -> np.ndarray:
        x = np.stack([np.log(np.asarray(n, dtype=float)), np.log(np.asarray(d, dtype=float))], axis=-1)
        return weight * np.cos(x @ omega.T + phase).sum(axis=-1)

    return delta


def draw_world(
    law: str,
    params: Mapping[str, float],
    n: np.ndarray,
    d: np.ndarray,
    target: Mapping[str, float],
    rng: np.random.Generator,
    *,
    noise: float,
    discrepancy: float = 0.0,
    length: float = 2.0,
    along: str = "ratio",
    run: np.ndarray | None = None,
) -> World:
    """Losses at ``(n, d)`` and the target's value in one random world (see the module docstring).

    ``run`` labels the runs (checkpoints of one run share its seed noise);
    without it every point is its own run. With ``discrepancy=0`` the world
    is the prior law with independent seed noise.
    """
    law_obj = get_law(law)
    n, d = np.asarray(n, dtype=float), np.asarray(d, dtype=float)
    # Draw in a fixed order so that the same seed gives the same misfit to every ladder.
    delta = smooth_misfit(rng, discrepancy, length, along) if discrepancy > 0 else None
    labels = np.arange(n.size) if run is None else np.unique(np.asarray(run), return_inverse=True)[1]
    offsets = noise * rng.standard_normal(int(labels.max()) + 1 if labels.size else 0)
    log_noise = offsets[labels]
    if run is not None:
        log_noise = log_noise + CHECKPOINT_JITTER * noise * rng.standard_normal(n.size)
    mean = np.asarray(law_obj.function(dict(params), {"N": n, "D": d}), dtype=float)
    truth = float(law_obj.function(dict(params), {"N": np.asarray(float(target["N"])), "D": np.asarray(float(target["D"]))})) if "D" in target else float("nan")
    if delta is not None:
        log_noise = log_noise + delta(n, d)
        if "D" in target:
            truth *= float(np.exp(delta(np.asarray(float(target["N"])), np.asarray(float(target["D"])))))
    return World(mean * np.exp(log_noise), truth)


__all__ = ["MISFIT_DIRECTIONS", "World", "draw_world", "smooth_misfit"]
