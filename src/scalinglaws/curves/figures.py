"""A matplotlib figure of a predicted learning curve (display only: nothing is computed here)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..report.figures import _pyplot
from .data import Curve
from .predict import CurvePrediction


def curve_figure(prediction: CurvePrediction, *, lr: np.ndarray | None = None, observed: Sequence[Curve] = (), title: str | None = None):
    """Predicted loss over steps with its interval band, logged checkpoints, and the LR schedule on a second axis."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.2))
    axis.plot(prediction.steps, prediction.loss, color="C0", label=f"{prediction.law} prediction")
    if prediction.lower is not None and prediction.upper is not None:
        axis.fill_between(prediction.steps, prediction.lower, prediction.upper, color="C0", alpha=0.2,
                          label=f"{prediction.level:.0%} interval" if prediction.level else "interval")
    for i, curve in enumerate(observed):
        if curve.loss is not None:
            axis.plot(curve.steps, curve.loss, ".", ms=3, color=f"C{i + 1}", label=f"logged: {curve.name}")
    axis.set_xlabel("step")
    axis.set_ylabel("loss")
    axis.set_title(title or f"{prediction.law} under {prediction.schedule}", fontsize=9)
    # Zoom on the law's range: the loss of the first steps (warm-up) would flatten everything else.
    shown = [prediction.loss] + [c.loss[c.steps >= prediction.steps[0]] for c in observed if c.loss is not None]
    values = np.concatenate([v[np.isfinite(v)] for v in shown])
    if values.size:
        low, high = float(values.min()), float(values.max())
        pad = 0.05 * (high - low or abs(high) or 1.0)
        axis.set_ylim(low - pad, high + pad)
    if lr is not None:
        twin = axis.twinx()
        twin.plot(np.arange(1, len(lr) + 1), lr, color="grey", lw=0.8, alpha=0.6)
        twin.set_ylabel("learning rate", color="grey")
    axis.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    return figure


__all__ = ["curve_figure"]
