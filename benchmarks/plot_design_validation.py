"""Figure of the ladder design's real-data validation: design error against grid error, cell by cell.

Reads ``docs/design-validation.csv`` (one row per family, budget and origin,
as measured by ``design_families.py`` and tabled in
``docs/design-validation.md``) and draws each cell's real ARE for the
designed ladder against that of the 20-tokens/param grid at the same compute.
Points below the diagonal are cells the design wins. Cells where the grid
cannot be fitted are listed in the title, not drawn.

    python benchmarks/plot_design_validation.py [--out docs/images/design-validation.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglaws.report.figures import _pyplot, save_figure

ROOT = Path(__file__).resolve().parents[1]
ORIGINS = {0: ("largest runs held out (seeds 0-3)", "o"), 1: ("one group down (seed 0)", "s"), 2: ("two groups down (seed 0)", "^")}


def summary(cells: pd.DataFrame) -> str:
    """'better in B, equal in E, worse in W; mean difference +X points' over cells with both errors."""
    both = cells.dropna(subset=["grid_are"])
    diff = both["design_are"] - both["grid_are"]
    better, worse = int((diff < -0.005).sum()), int((diff > 0.005).sum())
    return f"design better in {better}, equal in {len(both) - better - worse}, worse in {worse}; mean difference {diff.mean():+.2f} points"


def figure(cells: pd.DataFrame):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    top = float(np.nanmax(cells[["design_are", "grid_are"]].to_numpy())) * 1.08
    ax.plot([0, top], [0, top], color="0.5", lw=1, zorder=0)
    ax.fill_between([0, top], [0, 0], [0, top], color="#2ca02c", alpha=0.06, zorder=0)
    ax.text(0.97 * top, 0.03 * top, "design better", ha="right", va="bottom", color="#2ca02c")
    ax.text(0.03 * top, 0.97 * top, "grid better", ha="left", va="top", color="#d62728")
    for origin, (label, marker) in ORIGINS.items():
        part = cells[(cells["origin"] == origin)].dropna(subset=["grid_are"])
        for budget, filled in (("1x", True), ("3x", False)):
            rows = part[part["budget"] == budget]
            ax.scatter(rows["grid_are"], rows["design_are"], marker=marker, s=42, edgecolors="C%d" % origin,
                       facecolors="C%d" % origin if filled else "none", label=f"{label}, {budget} budget")
    unfit = cells[cells["grid_are"].isna()]
    ax.set(xlim=(0, top), ylim=(0, top), aspect="equal", xlabel="20 tokens/param grid, real ARE (%)",
           ylabel="designed ladder, real ARE (%)")
    ax.set_title(f"Ladder design vs grid at equal compute, {len(cells) - len(unfit)} real backtest cells\n"
                 f"{summary(cells)}\n({len(unfit)} cells where the grid cannot be fitted not drawn)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, 0.92), frameon=False)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=Path, default=ROOT / "docs" / "design-validation.csv")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "design-validation.png")
    args = parser.parse_args()
    cells = pd.read_csv(args.cells)
    for origin in sorted(cells["origin"].unique()):
        print(f"origin {origin}: {summary(cells[cells['origin'] == origin])}")
    print(f"all: {summary(cells)}")
    save_figure(figure(cells), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
