"""Ladder design on real runs: choose runs by the design or by the classic grid, then backtest each choice.

For each family the largest model size(s) are held out; their final loss is
the target. The pool is every other run (or checkpoint: a run then costs its
last checkpoint used and brings the earlier ones). The design picks a subset
without seeing any loss; then the subset's real losses are fitted (Chinchilla
form) and the fit is judged by the absolute relative error (ARE) on the
held-out runs. The prior is Chinchilla's published law for every family.

"Grid if tied" is what a conservative tie rule would give: the same-compute grid whenever the simulations cannot
tell it from the best ladder, the design's proposal otherwise (measured, not adopted; see docs/design-validation.md).

Budgets are the compute of the classic ladder (log-spaced sizes at 20
tokens/param, snapped to the pool) times the factors given, when the pool
can spend it. Families:

- gemstones: 22 Gemstones models (bundled), the three ~2B ones held out;
  constant learning rate, checkpoints every ~10B tokens.
- opt: OPT 125M-30B trajectories (bundled), OPT-175B held out.
- gpt3: GPT-3 125M-13B validation curves (bundled, binned to 20 points per
  run), GPT-3 175B held out.
- gemstones_halflr: the Gemstones runs at half the learning rate (../shared, MIT), 20 models to 100B tokens, the
  three ~2B ones held out; fixed before any result was seen.
- datablations: the single-epoch runs of the Datablations contour (../shared, MIT), the three largest-compute runs
  held out (target the 8.7B at 178B tokens); fixed before any result was seen.
- gemstones_cooldown: the Gemstones cooldown branches (../shared, MIT; each point a run cooled over its last 10%),
  the three ~2B models held out; fixed before any result was seen.
- steplaw: Step Law's dense (N, D) cells, each its best run over the learning-rate and batch-size grid (../shared
  only, no licence), the 1.07B cells held out (target 1.07B at 56.9B tokens); fixed before any result was seen.
  Too small for this comparison: its grid is 4 runs, too few to fit the five-parameter law at any budget.
- misfitting: (Mis)Fitting finished runs (../shared only, no licence), 1.2B held out.
- marin_comma, marin_dclm, marin_nemotron: Marin IsoFLOP finished runs on three corpora (../shared only, no
  licence); held out, the top budget's runs near the bottom of its bowl. First run after the design was fixed:
  an out-of-sample check.

    python benchmarks/design_families.py [--families gemstones opt gpt3 misfitting marin_dclm ...] [--scales 1 3]
                                         [--noise 0.01] [--discrepancy 0.02] [--along ratio|plane] [--seeds 0 1]
                                         [--origin 1]

Rolling origin (--origin K): the top K held-out groups are dropped before the split (Marin: the K top budgets;
Datablations: K times three runs of largest compute; the others: K times the held-out sizes), so the target is the
next group down and the pool what lies below it. Origins 1 and 2 were fixed before any of their results was seen.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from scalinglaws.datasets import load
from scalinglaws.design import backtest_ladders, classic_ladder, design_ladder, hold_out_largest, hold_out_top_budget, hold_out_top_compute, thin_checkpoints
from scalinglaws.design.ladder import ALONG, DISCREPANCY, ranking
from scalinglaws.design.truths import MISFIT_DIRECTIONS
from scalinglaws.errors import ScalingLawWarning
from scalinglaws.laws import CHINCHILLA_PUBLISHED

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared(*parts: str) -> Path:
    """A file under ../shared/data; FileNotFoundError (the family is skipped) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(path)
    return path


def marin(corpus: str) -> pd.DataFrame:
    """A Marin IsoFLOP corpus's runs (N, D, loss, budget), split later by :func:`hold_out_top_budget`."""
    path = shared("marin_isoflops", f"isoflop-{corpus}.csv")
    raw = pd.read_csv(path)
    raw = raw[~raw["Name"].str.contains("validation-optimal")]  # duplicates of each budget's optimum
    return pd.DataFrame({"N": raw["parameter_count"].astype(float), "D": raw["throughput/total_tokens"].astype(float),
                         "loss": raw["eval/paloma/macro_loss"].astype(float),
                         "budget": raw["Name"].str.extract(r"isoflop-([0-9.e+]+)-")[0].astype(float)})


def gemstones_variant(variant: str) -> pd.DataFrame:
    """A Gemstones W&B export in ../shared (``lr_ablation_hot``, ``cool_end``, ...): run, N, D and loss per checkpoint."""
    raw = pd.read_json(shared("gemstones", "wandb_dfs", f"wandb_df_for_fitting_{variant}.jsonl"), lines=True)
    return pd.DataFrame({"run": raw["run_name"], "N": raw["params_active_precise"].astype(float), "D": raw["tokens"].astype(float),
                         "loss": raw["final_loss"].astype(float)})


def family(name: str) -> tuple[pd.DataFrame, int, bool]:
    """(table with N, D, loss[, run], sizes held out, whether points are checkpoints of runs)."""
    if name == "gemstones":
        return load("gemstones_350b").table[["run", "N", "D", "loss"]], 3, True
    if name == "opt":
        return load("opt").table[["run", "N", "D", "loss"]], 1, True
    if name == "gpt3":
        return thin_checkpoints(load("gpt3").table, 20), 1, True
    if name == "misfitting":
        path = shared("misfitting", "scaling_results_last_ckpt_only.csv")
        table = pd.read_csv(path)
        runs = table.groupby(["model", "train_tokens"]).agg(N=("N", "first"), D=("D", "first"), loss=("loss", "min")).reset_index()
        # Held out as in the test suite: the 1.2B model's two runs.
        return runs[["N", "D", "loss"]].astype(float), 1, False
    if name == "gemstones_halflr":
        return gemstones_variant("lr_ablation_hot"), 3, True
    if name == "datablations":
        path = shared("hitchhiker_colpret", "aggregated_eval", "datablations_contour_losses.csv")
        raw = pd.read_csv(path)
        once = raw[raw["epochs"] == 1]  # single-epoch runs only: repeated data is outside the Chinchilla form
        return pd.DataFrame({"N": once["num_params"], "D": once["token_num"], "loss": once["openLM_loss"]}).astype(float), 3, False
    if name == "gemstones_cooldown":
        # Each point is a branch of a constant-LR run cooled down over its last 10% of tokens: a finished run at every
        # D. Counted as checkpoints of one run (the branches' cooldowns, 10% each, are not charged).
        return gemstones_variant("cool_end"), 3, True
    if name == "steplaw":
        # Each (N, D) cell's best run over its learning-rate and batch-size grid (the smoothed final loss, as the
        # authors fitted); the 1.07B cells held out.
        raw = pd.read_csv(shared("steplaw", "dense_lr_bs_loss.csv"))
        cells = raw.groupby(["N", "D"])["smooth loss"].min().reset_index()
        return pd.DataFrame({"N": cells["N"], "D": cells["D"], "loss": cells["smooth loss"]}).astype(float), 1, False
    raise ValueError(name)


def whole_family(name: str) -> pd.DataFrame:
    """A family's every run (or checkpoint) with a finite loss, held-out ones included."""
    table = marin(name.partition("_")[2]) if name.startswith("marin_") else family(name)[0]
    return table[np.isfinite(table["loss"])]


def split(name: str, origin: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, bool, dict[str, float]]:
    """(pool, held-out runs, whether points are checkpoints of runs, target {N, D}) of a family.

    ``origin`` k > 0 moves the forecast origin down: the top k held-out groups (the k largest budgets, k times the
    held-out sizes or runs) are dropped first, then the family is split as usual; a smaller target, a smaller pool.
    """
    if name.startswith("marin_"):
        table = marin(name.partition("_")[2])
        table = table[table["budget"] <= np.sort(table["budget"].unique())[-1 - origin]]
        # Held out, the top budget's runs near the bottom of its bowl (lowest loss first: the target).
        pool, final = hold_out_top_budget(table)
        return pool, final, False, {"N": float(final["N"].iloc[0]), "D": float(final["D"].iloc[0])}
    table, held, checkpoints = family(name)
    if origin and name == "datablations":
        table = hold_out_top_compute(table, held * origin)[0]
    elif origin:
        table = hold_out_largest(table, held * origin)[0]
    if name == "datablations":
        # Split fixed before any result was seen: held out, the three largest-compute runs (2.8B, 4.2B and
        # 8.7B at about 20 tokens/param); the target is the largest. The pool is every other single-epoch run.
        pool, final = hold_out_top_compute(table, held)
        return pool, final, checkpoints, {"N": float(final["N"].iloc[0]), "D": float(final["D"].iloc[0])}
    pool, final = hold_out_largest(table, held)
    return pool, final, checkpoints, {"N": float(final["N"].mean()), "D": float(final["D"].max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["gemstones", "opt", "gpt3", "misfitting"])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--discrepancy", type=float, default=DISCREPANCY, help="misfit of the law in simulated worlds (0: trust the law)")
    parser.add_argument("--along", choices=MISFIT_DIRECTIONS, default=ALONG, help="direction the misfit varies in")
    parser.add_argument("--noise", type=float, default=0.01, help="seed noise of a run in simulated worlds (std of log loss)")
    parser.add_argument("--simulations", type=int, default=32)
    parser.add_argument("--origin", type=int, default=0, help="drop the top ORIGIN held-out groups first: a smaller target (rolling origin)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the design's simulations (its pick is averaged)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ScalingLawWarning)
    tally = []
    for name in args.families:
        try:
            pool, final, checkpoints, target = split(name, args.origin)
        except FileNotFoundError as missing:
            print(f"\n== {name}: skipped ({missing} not found)")
            continue
        arrays = (pool["N"].to_numpy(), pool["D"].to_numpy(), *((pool["run"].to_numpy(),) if checkpoints else ()))
        grid = classic_ladder(pool)
        target_compute = 6 * target["N"] * target["D"]
        cost = 6.0 * pool["N"].astype(float) * pool["D"].astype(float)
        whole = float(cost.groupby(pool["run"]).max().sum() if checkpoints else cost.sum())
        print(f"\n== {name}: target N={target['N']:.3g}, D={target['D']:.3g}; pool {len(pool)} points; "
              f"classic grid {grid.compute:.3g} FLOPs = {grid.compute / target_compute:.1%} of the target's compute")
        for scale in args.scales:
            budget = grid.compute * scale
            if budget > whole:
                print(f"  {scale:g}x: skipped, more than the whole pool costs")
                continue
            start = time.perf_counter()
            designed, scored, spearman, conservative = [], [], [], []
            for seed in args.seeds:
                design = design_ladder("chinchilla", CHINCHILLA_PUBLISHED, target, budget, pool=arrays, seed=seed,
                                       simulations=args.simulations, discrepancy=args.discrepancy, along=args.along, noise=args.noise)
                ladders = [design.best.ladder, *(b.ladder for b in design.baselines)]
                real = backtest_ladders(ladders, pool, final)
                designed.append(real[0])
                # What the design proposed before ties were counted: the best simulated score alone (the proposal or a tie).
                top = min((design.best, *design.ties), key=ranking("rmse" if args.discrepancy > 0 else "width"))
                scored.append(real[0] if top.ladder is design.best.ladder else backtest_ladders([top.ladder], pool, final)[0])
                # The conservative rule: the grid at the same compute whenever the simulations cannot tell it from the best.
                tied_points = {e.ladder.points for e in (design.best, *design.ties)}
                conservative.append(real[-1] if design.baselines[-1].ladder.points in tied_points else real[0])
                print(f"  {scale:g}x the classic budget ({budget / target_compute:.1%} of the target), seed {seed}, "
                      f"{len(design.candidates)} candidates, {time.perf_counter() - start:.0f} s")
                for i, (ladder, evaluation, error) in enumerate(zip(ladders, (design.best, *design.baselines), real, strict=True)):
                    label = "design: " + ladder.name if i == 0 else ladder.name
                    print(f"    {label[:78]:78s} compute/budget {ladder.compute / budget:4.2f}  simulated RMSE {evaluation.rmse:6.1%}  real ARE {error:6.2%}")
                simulated = np.array([e.rmse for e in design.candidates])
                candidates = backtest_ladders([e.ladder for e in design.candidates], pool, final)
                ok = np.isfinite(simulated) & np.isfinite(candidates)
                if ok.sum() < 3:
                    spearman.append(float("nan"))
                    print(f"    only {int(ok.sum())} candidate(s) have enough points to fit the law")
                    continue
                spearman.append(spearmanr(simulated[ok], candidates[ok])[0])
                print(f"    candidates: Spearman(simulated RMSE, real ARE) = {spearman[-1]:.2f}; "
                      f"real ARE median {np.median(candidates[ok]):.2%}, best {np.min(candidates[ok]):.2%}")
                if design.ties:
                    tied = backtest_ladders([e.ladder for e in design.ties], pool, final)
                    print(f"    {len(design.ties)} ties (within simulation noise of the design): real ARE {np.nanmin(tied):.2%} to {np.nanmax(tied):.2%}")
            # The baselines do not depend on the seed. The grid at equal compute: the one that spends the budget
            # with all checkpoints (run pools) or the 20-tokens/param grid snapped to the pool (finished runs).
            fair = [(e, b) for e, b in zip(real[1:], design.baselines, strict=True) if b.ladder.compute <= budget * (1 + 1e-6)]
            grid_error = fair[-1][0] if fair else float("nan")
            best_baseline = min((e for e, _ in fair if np.isfinite(e)), default=float("nan"))
            tally.append((name, scale, float(np.mean(designed)), grid_error, best_baseline, float(np.mean(spearman)), float(np.mean(scored)),
                          float(np.mean(conservative))))
    print(f"\norigin {args.origin}; mean over seeds {args.seeds}; noise {args.noise:g}, misfit {args.discrepancy:g} along {args.along}, {args.simulations} simulations")
    print("family      budget  design ARE  best score only  grid if tied  grid ARE (equal compute)  best baseline within budget  Spearman")
    for name, scale, designed, grid_error, best_baseline, rho, top, safe in tally:
        print(f"{name:11s} {scale:5g}x  {designed:9.2%}  {top:14.2%}  {safe:11.2%}  {grid_error:10.2%}                {best_baseline:10.2%}                 {rho:6.2f}")
    column = lambda i: np.array([row[i] for row in tally])  # noqa: E731
    print(f"design better than the grid in {int(np.sum(column(2) < column(3)))} of {len(tally)}; "
          f"mean ARE design {np.nanmean(column(2)):.2%} (best score only {np.nanmean(column(6)):.2%}), grid {np.nanmean(column(3)):.2%}, "
          f"best baseline {np.nanmean(column(4)):.2%}; grid if tied {np.nanmean(column(7)):.2%}, better than the grid in "
          f"{int(np.sum(column(7) < column(3) - 1e-6))}, worse in {int(np.sum(column(7) > column(3) + 1e-6))}")

if __name__ == "__main__":
    main()
