"""The catalogue of scaling laws."""

from .base import Law, Parameter, Projection, get_law, law_names, register_law
from .core import CHINCHILLA, CHINCHILLA_PUBLISHED, CHINCHILLA_ROUNDED, KAPLAN, KAPLAN_PUBLISHED

__all__ = [
    "CHINCHILLA",
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
