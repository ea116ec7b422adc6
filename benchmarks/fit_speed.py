"""One fit: our default ``scalinglaws.fit`` against the reference procedure, same data, same objective.

The reference is Hoffmann et al.'s recipe (REFERENCE.md §1.3): L-BFGS-B from
each of the 4,500 grid points, analytic gradients, keep the best
(:mod:`scalinglaws.fitting.reference`). Both minimise the sum of Huber(1e-3)
on log residuals. Prints both objectives, both times and the ratio.

    python benchmarks/fit_speed.py            # full reference grid (minutes)
    python benchmarks/fit_speed.py --every 10 # every 10th start, reference time scaled up x10 (quick look)
"""

from __future__ import annotations

import argparse
import time

from common import best_time, datasets, machine

import scalinglaws as sl
from scalinglaws.fitting.reference import reference_fit, reference_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=1, help="use every k-th reference start and scale its time by k")
    parser.add_argument("--repeats", type=int, default=5, help="our fit: best of this many runs")
    args = parser.parse_args()
    starts = reference_grid()[:: args.every]
    print(f"machine: {machine()}")
    print(f"reference: {len(starts)} L-BFGS-B starts" + (f" (every {args.every}th; time scaled x{args.every})" if args.every > 1 else ""))
    print(f"{'dataset':<15}{'points':>7}{'ref objective':>18}{'our objective':>18}{'rel. diff':>11}{'ref s':>9}{'ours s':>9}{'speed-up':>10}")
    for name, runs in datasets().items():
        start = time.perf_counter()
        ref = reference_fit(runs.values("N"), runs.values("D"), runs.values("loss"), starts=starts)
        ref_seconds = (time.perf_counter() - start) * args.every
        ours_seconds, ours = best_time(lambda runs=runs: sl.fit(runs, "chinchilla"), args.repeats)
        diff = (ours.objective - ref.objective) / ref.objective
        print(f"{name:<15}{len(runs):>7}{ref.objective:>18.12g}{ours.objective:>18.12g}{diff:>11.2e}{ref_seconds:>9.1f}{ours_seconds:>9.3f}{ref_seconds / ours_seconds:>9.0f}x")
    print("rel. diff < 0 means our objective is lower (better) than the reference's.")


if __name__ == "__main__":
    main()
