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
    next_runs,
    pool_candidates,
    prior_fit,
)

__all__ = ["Design", "Evaluation", "Ladder", "baseline_grid", "baseline_isoflop", "candidate_ladders", "design_ladder", "evaluate_ladders",
           "load_prior", "next_runs", "pool_candidates", "prior_fit"]
