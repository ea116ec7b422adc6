"""Checks on schedules: zero-LR padding and schedules unlike those fitted.

REFERENCE.md §2.1 lists the known weaknesses of the LR-annealing law: steps
with learning rate 0 appended to a schedule keep growing the annealing area
(its momentum decays slowly), so the law predicts a lower loss for steps at
which the model does not change; and a law fitted on some schedules is only
trustworthy for schedules like them. Both are reported as typed warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ScalingLawWarning
from .areas import warmup_length


class ZeroLearningRateWarning(ScalingLawWarning):
    """A schedule holds steps with learning rate 0 after training started (zero-LR padding)."""

    code = "zero_lr_padding"


class ScheduleExtrapolationWarning(ScalingLawWarning):
    """A schedule is far from the schedules a learning-curve law was fitted on."""

    code = "schedule_extrapolation"


class ScheduleMismatchWarning(ScalingLawWarning):
    """A schedule spec disagrees with the learning rate logged in the data for the same run."""

    code = "schedule_mismatch"


#: A new schedule whose peak is outside [fitted min / this, fitted max * this] is "far".
PEAK_FACTOR = 1.5
#: A new schedule whose forward area exceeds this multiple of the largest fitted one is "far".
AREA_FACTOR = 4.0
#: A new schedule that anneals this much deeper (fraction of its peak) than any fitted checkpoint is "far".
ANNEAL_MARGIN = 0.25


def zero_lr_message(lr: np.ndarray, name: str = "schedule") -> str | None:
    """A warning message when more than one step after the first positive LR has LR 0, else None.

    One zero step at the very end (a decay that reaches exactly 0) is normal.
    """
    eta = np.asarray(lr, dtype=float)
    positive = np.flatnonzero(eta > 0)
    if positive.size == 0:
        return f"{name}: every learning rate is 0; nothing is trained"
    zeros = np.flatnonzero(eta[positive[0]:] == 0) + positive[0]
    if zeros.size <= 1:
        return None
    return (
        f"{name}: {zeros.size} steps have learning rate 0 (first at step {zeros[0] + 1}); "
        "the LR-annealing law keeps growing the annealing area S2 over zero-LR padding and so predicts "
        "a loss lower than training would reach (Tissue et al. 2024). Trim the padding or treat those predictions as optimistic"
    )


def schedule_summary(lr: np.ndarray, last_step: int | None = None) -> dict[str, float]:
    """Peak LR, forward area and annealing depth of a schedule up to ``last_step``.

    ``anneal`` is the largest drop below the peak reached after the warm-up,
    as a fraction of the peak (0 for constant LR, 1 for a decay to 0).
    """
    eta = np.asarray(lr, dtype=float)
    end = eta.size if last_step is None else int(min(max(last_step, 1), eta.size))
    head = eta[:end]
    peak = float(eta.max())
    w = warmup_length(eta)
    after = head[w:] if head.size > w else head[-1:]
    return {
        "peak_lr": peak,
        "steps": float(end),
        "forward_area": float(np.sum(np.where(np.arange(end) < w, peak, head))),
        "anneal": float(1.0 - after.min() / peak) if peak > 0 else 0.0,
    }


def compare_to_fitted(summary: Mapping[str, float], fitted: Sequence[Mapping[str, float]], name: str = "schedule") -> list[str]:
    """Messages saying how a schedule's summary lies outside the fitted ones (empty when it does not)."""
    if not fitted:
        return []
    peaks = [float(f["peak_lr"]) for f in fitted]
    area = max(float(f["forward_area"]) for f in fitted)
    anneal = max(float(f["anneal"]) for f in fitted)
    out = []
    if summary["peak_lr"] > max(peaks) * PEAK_FACTOR or summary["peak_lr"] < min(peaks) / PEAK_FACTOR:
        out.append(f"{name}: peak LR {summary['peak_lr']:.3g} is outside the fitted peaks [{min(peaks):.3g}, {max(peaks):.3g}]; "
                   "the law's dependence on the peak LR is extrapolated")
    if summary["forward_area"] > AREA_FACTOR * area:
        out.append(f"{name}: forward area S1 = {summary['forward_area']:.3g} is {summary['forward_area'] / area:.1f}x the largest fitted "
                   f"({area:.3g}); the power law in S1 is extrapolated far beyond the fitted checkpoints")
    if summary["anneal"] > anneal + ANNEAL_MARGIN:
        out.append(f"{name}: anneals to {1 - summary['anneal']:.0%} of its peak LR but the LR of the fitted checkpoints never went "
                   f"below {1 - anneal:.0%} of its peak; the annealing term is extrapolated"
                   + (" (and was not identified: no fitted checkpoint followed an LR decrease)" if anneal < 1e-9 else ""))
    return out


__all__ = [
    "ANNEAL_MARGIN",
    "AREA_FACTOR",
    "PEAK_FACTOR",
    "ScheduleExtrapolationWarning",
    "ScheduleMismatchWarning",
    "ZeroLearningRateWarning",
    "compare_to_fitted",
    "schedule_summary",
    "zero_lr_message",
]
