"""Objectives, global search, local polish and ``fit()``."""

from .fit import fit
from .objectives import Loss, make_loss
from .result import Bootstrap, Fit, FitWarning, fit_from_dict, load_fit
from .search import batched_nnls

__all__ = ["Bootstrap", "Fit", "FitWarning", "Loss", "batched_nnls", "fit", "fit_from_dict", "load_fit", "make_loss"]
