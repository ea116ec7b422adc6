"""The catalogue of scaling laws."""

from .base import Law, Parameter, Projection, get_law, law_names, register_law
from .data_constrained import DATA_CONSTRAINED, DATA_CONSTRAINED_PUBLISHED
from .core import CHINCHILLA, CHINCHILLA_PUBLISHED, CHINCHILLA_ROUNDED, KAPLAN, KAPLAN_PUBLISHED

__all__ = [
    "CHINCHILLA",
    "DATA_CONSTRAINED",
    "DATA_CONSTRAINED_PUBLISHED",
    "CHINCHILLA_PUBLISHED",
    "CHINCHILLA_ROUNDED",
    "KAPLAN",
    "KAPLAN_PUBLISHED",
    "Law",
    "Parameter",
    "Projection",
    "get_law",
    "law_names",
    "register_law",
]
