"""1,000 bootstrap refits (runs resampled, full multi-start fit each) against ONE reference fit.

    python benchmarks/bootstrap_speed.py                 # gemstones, 1,000 replicates, full reference
    python benchmarks/bootstrap_speed.py --replicates 200
"""

from __future__ import annotations

import argparse
import os
import time

from common import datasets, machine

from scalinglaws.fitting.reference import reference_fit
from scalinglaws.uncertainty import bootstrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--dataset", default="gemstones", choices=["gemstones", "synthetic-240"])
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args()
    runs = datasets()[args.dataset]
    print(f"machine: {machine()}; dataset {args.dataset} ({len(runs)} points)")
    start = time.perf_counter()
    ref = reference_fit(runs.values("N"), runs.values("D"), runs.values("loss"))
    ref_seconds = time.perf_counter() - start
    print(f"one reference fit (4,500 L-BFGS-B starts): {ref_seconds:.1f} s, objective {ref.objective:.12g}")
    start = time.perf_counter()
    result = bootstrap(runs, "chinchilla", replicates=args.replicates, seed=0, workers=args.workers)
    boot_seconds = time.perf_counter() - start
    workers = args.workers or min(os.cpu_count() or 1, 8)
    print(f"{args.replicates} bootstrap refits ({result.bootstrap.converged} converged, {workers} processes): {boot_seconds:.1f} s "
          f"= {boot_seconds / args.replicates * 1000:.0f} ms per replicate")
    print(f"ratio (one reference fit / whole bootstrap): {ref_seconds / boot_seconds:.2f}x "
          f"({'met' if boot_seconds < ref_seconds else 'NOT met'}: the bootstrap must take less time than one reference fit)")


if __name__ == "__main__":
    main()
