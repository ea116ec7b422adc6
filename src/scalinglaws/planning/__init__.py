"""Compute planning: compute-optimal allocation and friends."""

from .optimal import Allocation, chinchilla_allocation, compute_optimal, numeric_allocation

__all__ = ["Allocation", "chinchilla_allocation", "compute_optimal", "numeric_allocation"]
