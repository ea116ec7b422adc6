"""Fit time and peak memory against the number of checkpoint rows, 1e2 to 1e6.

Long training logs: 20 runs (70M-10B parameters), each logged at evenly spaced
checkpoints up to 100 tokens per parameter, Chinchilla's law with 0.5%
noise. Each size runs in a fresh process so its peak RSS is its own.

    python benchmarks/scaling.py
    python benchmarks/scaling.py --max 1e5
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def one(rows: int) -> dict[str, float]:
    from common import CHINCHILLA_PUBLISHED, simulate_runs  # noqa: F401 (sets warning filters)

    import scalinglaws as sl

    sizes = np.geomspace(7e7, 1e10, 20)
    per_run = max(2, rows // sizes.size)
    fractions = np.linspace(0.05, 1.0, per_run)
    n = np.repeat(sizes, per_run)
    d = np.concatenate([100 * s * fractions for s in sizes])
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.005, seed=1, N=n, D=d)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = sl.fit(runs, "chinchilla")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": len(runs), "seconds": seconds, "peak_rss_mb": peak / 1024, "rss_before_fit_mb": before / 1024,
            "alpha": result.params["alpha"], "status": result.status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max", type=float, default=1e6)
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        print(json.dumps(one(args.single)))
        return
    here = Path(__file__).resolve().parent
    print(f"{'rows':>9}{'fit s':>9}{'s per 1k rows':>15}{'peak RSS MB':>13}{'alpha':>9}  status")
    previous = None
    for rows in (int(r) for r in (1e2, 1e3, 1e4, 1e5, 1e6) if r <= args.max):
        out = subprocess.run([sys.executable, str(here / "scaling.py"), "--single", str(rows)], capture_output=True, text=True, cwd=here, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        growth = "" if previous is None else f"  (x{r['seconds'] / previous['seconds']:.1f} time for x{r['rows'] / previous['rows']:.0f} rows)"
        print(f"{r['rows']:>9}{r['seconds']:>9.2f}{1000 * r['seconds'] / r['rows']:>15.4f}{r['peak_rss_mb']:>13.0f}{r['alpha']:>9.4f}  {r['status']}{growth}")
        previous = r


if __name__ == "__main__":
    main()
