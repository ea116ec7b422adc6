"""The Chinchilla form's systematic misfit across tokens per parameter, measured on real families.

Fits the Chinchilla form to each whole family (every run and checkpoint),
then regresses the log residuals on x = ln(D/N / 20):

    residual ~ c0 + c1 * x + curvature * x**2

A positive curvature means real runs far from about 20 tokens per parameter,
on either side, have a higher loss than the fitted law says: the form is too
flat across ratios. The tilt c1 changes sign from family to family. A
systematic bowl of the median size, added to the ladder design's simulated
worlds, was tried and not adopted: it changed few of the design's picks and
not its real errors (docs/design-validation.md). Families are those of ``design_families.py``; the ones read from
``../shared`` are skipped when it is absent.

    python benchmarks/misfit_curvature.py
"""

from __future__ import annotations

import warnings

import numpy as np

from design_families import whole_family
from scalinglaws.fitting import fit
from scalinglaws.predict import predict

FAMILIES = ("gemstones", "gemstones_halflr", "opt", "gpt3", "misfitting", "datablations", "marin_comma", "marin_dclm", "marin_nemotron")


def curvature(table) -> tuple[float, float, float, float]:
    """(tilt c1, curvature, RMS log residual, span of x) of a Chinchilla fit to the whole ``table``."""
    table = table[np.isfinite(table["loss"])]
    result = fit(table, "chinchilla", diagnostics=False)
    n, d = table["N"].to_numpy(dtype=float), table["D"].to_numpy(dtype=float)
    residual = np.log(table["loss"].to_numpy(dtype=float)) - np.log(predict(result, N=n, D=d))
    x = np.log(d / n / 20.0)
    _, tilt, bowl = np.linalg.lstsq(np.column_stack([np.ones_like(x), x, x**2]), residual, rcond=None)[0]
    return float(tilt), float(bowl), float(np.sqrt(np.mean(residual**2))), float(np.ptp(x))


def main() -> None:
    warnings.simplefilter("ignore")
    bowls = []
    print("family             tilt per unit   curvature per unit^2   RMS residual   span of ln(D/N)")
    for name in FAMILIES:
        try:
            table = whole_family(name)
        except FileNotFoundError as missing:
            print(f"{name:18s} skipped ({missing} not found)")
            continue
        tilt, bowl, rms, span = curvature(table)
        bowls.append(bowl)
        print(f"{name:18s} {tilt:+12.3%} {bowl:+18.4%} {rms:16.2%} {span:14.1f}")
    print(f"median curvature {np.median(bowls):.4%} over {len(bowls)} families ({int(np.sum(np.array(bowls) > 0))} positive)")


if __name__ == "__main__":
    main()
