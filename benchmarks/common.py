"""Shared pieces of the benchmarks: the datasets, timing and the machine.

Run any benchmark from the repository root, e.g. ``python benchmarks/fit_speed.py``.
"""

from __future__ import annotations

import os
import platform
import time
import warnings
from collections.abc import Callable

import numpy as np

import scalinglaws as sl
from scalinglaws.datasets import load
from scalinglaws.laws import CHINCHILLA_PUBLISHED
from scalinglaws.simulate import chinchilla_ladder, simulate_runs

warnings.simplefilter("ignore", sl.errors.ScalingLawWarning)


def synthetic_240(seed: int = 0) -> sl.Runs:
    """240 runs shaped like a Chinchilla ladder: 20 sizes (70M-10B) x 12 token ratios (5-200 tokens/param),
    Chinchilla's published law, 0.8% log-normal seed noise (about what seed-to-seed variation gives)."""
    grid = chinchilla_ladder(sizes=20, tokens_per_size=12, n_range=(7e7, 1e10), ratio_range=(5.0, 200.0))
    return simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.008, seed=seed, **grid)


def datasets() -> dict[str, sl.Runs]:
    return {"synthetic-240": synthetic_240(), "gemstones": load("gemstones")}


def best_time(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Fastest wall time of ``repeats`` calls (the usual way to time short work), and the last result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}"
