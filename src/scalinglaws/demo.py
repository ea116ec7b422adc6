"""The demo pipeline: a bundled real dataset -> fit -> forecast -> compute plan."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .datasets import load
from .errors import ScalingLawWarning
from .fitting import Fit, fit
from .planning import Allocation, compute_optimal
from .predict import Prediction, predict_points

DEMO_DATASET = "gemstones"
#: Tokens per parameter used for the demo's forecast of a 10x larger model (Chinchilla's rule of thumb).
DEMO_TOKENS_PER_PARAM = 20.0


@dataclass(frozen=True)
class DemoResult:
    dataset: str
    fit: Fit
    forecast: Prediction
    allocation: Allocation
    largest_compute: float


def run_demo(dataset: str = DEMO_DATASET) -> DemoResult:
    """Fit Chinchilla's law to a bundled dataset, forecast a 10x larger model
    (at 20 tokens per parameter) and plan the compute-optimal run at 100x the
    largest compute in the data."""
    runs = load(dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        result = fit(runs, "chinchilla")
        n_big = 10 * float(runs.table["N"].max())
        forecast = predict_points(result, [{"N": n_big, "D": DEMO_TOKENS_PER_PARAM * n_big}])[0]
        largest = float(runs.table["C"].max())
        allocation = compute_optimal(result, 100 * largest)
    return DemoResult(dataset, result, forecast, allocation, largest)
