"""Errors and typed warnings raised by scalinglaws.

Errors say what to fix; the command line turns :class:`InputError` into exit
code 2 and :class:`FitError` into exit code 1, each as one line on stderr.
Warnings are typed so that callers can filter or escalate exactly the ones
they care about; nothing in the library silences them globally.
"""

from __future__ import annotations


class ScalingLawsError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(ScalingLawsError, ValueError):
    """Bad input: a missing column, an impossible value, an unknown name.

    The message names the argument or column, what was expected, what was
    received and what to do.
    """


class FitError(ScalingLawsError, RuntimeError):
    """A fit could not produce a usable result (for example, it diverged)."""


class ScalingLawWarning(UserWarning):
    """Base class of the typed warnings; ``code`` is a stable short name."""

    code = "warning"


class DerivedColumnWarning(ScalingLawWarning):
    """A column was computed from others (for example D = C / (6 N))."""

    code = "derived_column"


class BoundWarning(ScalingLawWarning):
    """A fitted parameter sits on or near its bound."""

    code = "parameter_at_bound"


class ConvergenceWarning(ScalingLawWarning):
    """The local solver stopped without meeting its tolerance."""

    code = "not_converged"


class ExtrapolationWarning(ScalingLawWarning):
    """A prediction or plan lies far outside the data that was fitted."""

    code = "extrapolation"


class IdentifiabilityWarning(ScalingLawWarning):
    """The data cannot pin down the law (too few sizes, flat directions)."""

    code = "identifiability"


class NonMonotoneWarning(ScalingLawWarning):
    """The data is not monotone in a variable that a monotone law assumes."""

    code = "non_monotone"


class ResidualTrendWarning(ScalingLawWarning):
    """The residuals show a trend the law does not capture."""

    code = "residual_trend"


class IsoFlopWarning(ScalingLawWarning):
    """An IsoFLOP profile is thin, off-centre or asymmetric, so its vertex is biased."""

    code = "isoflop"


class DataCleaningWarning(ScalingLawWarning):
    """Rows were dropped or values rewritten while reading (always reported)."""

    code = "data_cleaning"


def warning_class(code: str) -> type[ScalingLawWarning]:
    """The warning class whose ``code`` is ``code`` (for re-emitting recorded warnings)."""
    for cls in _all_subclasses(ScalingLawWarning):
        if cls.code == code:
            return cls
    return ScalingLawWarning


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out
