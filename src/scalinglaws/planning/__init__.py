"""Compute planning: compute-optimal allocation, IsoFLOP profiles, FLOP accounting, inference-aware plans."""

from .flops import FlopCount, transformer_flops
from .inference import InferencePlan, best_loss_for_budget, inference_optimal, tokens_for_loss
from .isoflop import Budget, Envelope, IsoFlop, PowerFit, assign_budgets, compare_approaches, envelope, isoflop
from .optimal import Allocation, chinchilla_allocation, compute_optimal, frontier, numeric_allocation

__all__ = [
    "Allocation",
    "Budget",
    "Envelope",
    "FlopCount",
    "InferencePlan",
    "IsoFlop",
    "PowerFit",
    "assign_budgets",
    "best_loss_for_budget",
    "chinchilla_allocation",
    "compare_approaches",
    "compute_optimal",
    "envelope",
    "frontier",
    "inference_optimal",
    "isoflop",
    "numeric_allocation",
    "tokens_for_loss",
    "transformer_flops",
]
