"""Design the ladder of small runs: which (N, D) to train for the tightest forecast per FLOP."""

from .ladder import (
    Design,
    Evaluation,
    Ladder,
    baseline_grid,
    baseline_isoflop,
    candidate_ladders,
    design_ladder,
    evaluate_ladders,
    load_prior,
    near_ties,
    next_runs,
    pool_candidates,
    pool_grid,
    pool_run_candidates,
    prior_fit,
)
from .backtest import backtest_ladder, backtest_ladders, chosen_rows, classic_ladder, hold_out_largest, hold_out_top_budget, hold_out_top_compute, sparse_checkpoints, thin_checkpoints
from .truths import World, draw_world, smooth_misfit

__all__ = ["Design", "Evaluation", "Ladder", "baseline_grid", "baseline_isoflop", "candidate_ladders", "design_ladder", "evaluate_ladders",
           "load_prior", "near_ties", "next_runs", "pool_candidates", "pool_grid", "pool_run_candidates", "prior_fit",
           "World", "draw_world", "smooth_misfit", "backtest_ladder", "backtest_ladders", "chosen_rows", "classic_ladder", "hold_out_largest", "hold_out_top_budget",
           "hold_out_top_compute", "sparse_checkpoints", "thin_checkpoints"]
