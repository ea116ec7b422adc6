"""Checks of arguments that several parts of the package take alike."""

from __future__ import annotations

import numpy as np

from .errors import InputError


def check_replicates(value: object, name: str = "--bootstrap") -> int:
    """A bootstrap count: 0 (no intervals) or at least 2 replicates; one replicate gives a degenerate interval.

    Raises
    ------
    InputError
        Naming ``name`` (the option or key) and the value given.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0 or value == 1:
        raise InputError(f"{name} must be 0 (no intervals) or an integer >= 2 (replicates), got {value!r}")
    return int(value)
