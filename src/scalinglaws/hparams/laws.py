r"""Published hyperparameter laws: the optimal peak learning rate and batch size at a scale (REFERENCE.md §3).

- Step Law (Li et al. 2025): :math:`\eta^* = 1.79\,N^{-0.713} D^{0.307}`,
  :math:`B^* = 0.58\,D^{0.571}` (B in tokens; N non-embedding parameters).
- DeepSeek LLM (2024): :math:`\eta^* = 0.3118\,C^{-0.125}`,
  :math:`B^* = 0.2920\,C^{0.3271}` (B in tokens; C in FLOPs, which DeepSeek
  counts as non-embedding FLOPs per token times tokens).
- Porian et al. (2024): batch :math:`= 0.00037\,N^{0.703}` sequences of 2048
  tokens, :math:`\eta = 3.7\,N^{-0.36}`.

:func:`recommend` evaluates every law the given inputs allow, side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import InputError

#: FLOPs per parameter per token of a training step (used to relate C, N and D).
FLOPS_PER_PARAM_TOKEN = 6.0
#: Sequence length of Porian et al.'s batch-size law (tokens).
PORIAN_SEQUENCE = 2048


@dataclass(frozen=True)
class HyperparameterLaw:
    """A law for the optimal learning rate and batch size.

    ``lr(inputs)`` and ``batch_tokens(inputs)`` map a dict with the
    variables in ``variables`` (``N``, ``D``, ``C``) to the recommendation.
    """

    name: str
    variables: tuple[str, ...]
    lr: Callable[[Mapping[str, float]], float]
    batch_tokens: Callable[[Mapping[str, float]], float]
    lr_formula: str
    batch_formula: str
    citation: str
    notes: str = ""
    coefficients: Mapping[str, float] = field(default_factory=dict)


def step_law(coefficients: Mapping[str, float] | None = None) -> HyperparameterLaw:
    """The Step Law with the paper's coefficients, or others (e.g. :data:`STEP_LAW_BOOTSTRAP_MEDIANS`)."""
    c = dict(STEP_LAW_PUBLISHED if coefficients is None else coefficients)
    missing = set(STEP_LAW_PUBLISHED) - set(c)
    if missing:
        raise InputError(f"Step Law coefficients need {', '.join(sorted(STEP_LAW_PUBLISHED))}; missing {', '.join(sorted(missing))}")
    return HyperparameterLaw(
        name="step_law",
        variables=("N", "D"),
        lr=lambda x: c["lr_scale"] * x["N"] ** c["lr_N"] * x["D"] ** c["lr_D"],
        batch_tokens=lambda x: c["bs_scale"] * x["D"] ** c["bs_D"],
        lr_formula=f"eta* = {c['lr_scale']:.4g} N^{c['lr_N']:.4g} D^{c['lr_D']:.4g}",
        batch_formula=f"B* = {c['bs_scale']:.4g} D^{c['bs_D']:.4g} tokens",
        citation="Li et al. 2025, Predictable Scale: Part I (Step Law), arXiv:2503.04715",
        notes="N: non-embedding parameters; D: training tokens; B in tokens",
        coefficients=c,
    )


#: Li et al. (2025), as stated in the paper.
STEP_LAW_PUBLISHED = {"lr_scale": 1.79, "lr_N": -0.713, "lr_D": 0.307, "bs_scale": 0.58, "bs_D": 0.571}
#: Medians of the 1,000 released bootstrap fits (REFERENCE.md §3, recomputed from the steplaw CSV).
STEP_LAW_BOOTSTRAP_MEDIANS = {"lr_scale": 1.782, "lr_N": -0.7122, "lr_D": 0.3070, "bs_scale": 0.573, "bs_D": 0.5713}

STEP_LAW = step_law()
DEEPSEEK = HyperparameterLaw(
    name="deepseek",
    variables=("C",),
    lr=lambda x: 0.3118 * x["C"] ** -0.125,
    batch_tokens=lambda x: 0.2920 * x["C"] ** 0.3271,
    lr_formula="eta* = 0.3118 C^-0.125",
    batch_formula="B* = 0.2920 C^0.3271 tokens",
    citation="DeepSeek-AI 2024, DeepSeek LLM: Scaling Open-Source Language Models with Longtermism, arXiv:2401.02954",
    notes="C in FLOPs (DeepSeek counts non-embedding FLOPs per token x tokens; here 6 N D unless C is given)",
)
PORIAN = HyperparameterLaw(
    name="porian",
    variables=("N",),
    lr=lambda x: 3.7 * x["N"] ** -0.36,
    batch_tokens=lambda x: 0.00037 * x["N"] ** 0.703 * PORIAN_SEQUENCE,
    lr_formula="eta* = 3.7 N^-0.36",
    batch_formula=f"B* = 0.00037 N^0.703 sequences of {PORIAN_SEQUENCE} tokens",
    citation="Porian et al. 2024, Resolving Discrepancies in Compute-Optimal Scaling of Language Models, arXiv:2406.19146",
    notes="N: parameters; batch converted from sequences of 2048 tokens",
)

HPARAM_LAWS: dict[str, HyperparameterLaw] = {law.name: law for law in (STEP_LAW, DEEPSEEK, PORIAN)}


@dataclass(frozen=True)
class Recommendation:
    """One law's recommended peak learning rate and batch size (``None`` when its inputs are missing)."""

    law: str
    lr: float | None
    batch_tokens: float | None
    inputs: Mapping[str, float]
    lr_formula: str
    batch_formula: str
    citation: str
    notes: str

    def to_dict(self) -> dict[str, object]:
        return {
            "law": self.law,
            "lr": self.lr,
            "batch_tokens": self.batch_tokens,
            "batch_sequences_2048": None if self.batch_tokens is None else self.batch_tokens / PORIAN_SEQUENCE,
            "inputs": dict(self.inputs),
            "lr_formula": self.lr_formula,
            "batch_formula": self.batch_formula,
            "citation": self.citation,
            "notes": self.notes,
        }


def _positive(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


#: N, D and C given together must satisfy C = 6 N D within this relative tolerance.
CONSISTENT = 0.1


def complete_inputs(N: float | None = None, D: float | None = None, C: float | None = None) -> tuple[dict[str, float], list[str]]:
    """Fill in the third of N, D, C from the other two with C = 6 N D; return the inputs and notes saying so.

    All three may be given when they agree with C = 6 N D within 10%.
    """
    n, d, c = _positive(N, "N"), _positive(D, "D"), _positive(C, "C")
    if n is None and d is None and c is None:
        raise InputError("give the scale: N (parameters) and D (tokens), or C (FLOPs), e.g. --N 7e9 --D 1.4e12")
    notes = []
    if n is not None and d is not None and c is not None and abs(c / (FLOPS_PER_PARAM_TOKEN * n * d) - 1.0) > CONSISTENT:
        raise InputError(f"N, D and C disagree: C = {c:.3g} FLOPs but 6 N D = {FLOPS_PER_PARAM_TOKEN * n * d:.3g} (N = {n:.3g}, D = {d:.3g}), "
                         f"off by more than {CONSISTENT:.0%}; give two of them (--N and --D, or --C with one) or consistent values")
    if c is None and n is not None and d is not None:
        c = FLOPS_PER_PARAM_TOKEN * n * d
        notes.append("C derived as 6 N D")
    elif d is None and n is not None and c is not None:
        d = c / (FLOPS_PER_PARAM_TOKEN * n)
        notes.append("D derived as C / (6 N)")
    elif n is None and d is not None and c is not None:
        n = c / (FLOPS_PER_PARAM_TOKEN * d)
        notes.append("N derived as C / (6 D)")
    return {k: v for k, v in (("N", n), ("D", d), ("C", c)) if v is not None}, notes


def recommend(
    *, N: float | None = None, D: float | None = None, C: float | None = None,
    laws: Sequence[str | HyperparameterLaw] = ("step_law", "deepseek", "porian"),
) -> tuple[Recommendation, ...]:
    """Recommended peak learning rate and batch size (tokens) from each hyperparameter law.

    Parameters
    ----------
    N, D, C:
        Parameters (non-embedding for the Step Law), training tokens, FLOPs.
        Any two determine the third by C = 6 N D.
    laws:
        Names in :data:`HPARAM_LAWS` or :class:`HyperparameterLaw` objects.

    Returns
    -------
    tuple of Recommendation
        One per law; ``lr`` and ``batch_tokens`` are ``None`` (with a note)
        when the inputs the law needs are missing.

    Examples
    --------
    >>> r = recommend(N=7e9, D=1.4e12)[0]
    >>> f"{r.lr:.3g} {r.batch_tokens:.2g}"
    '0.000917 5e+06'
    """
    inputs, notes = complete_inputs(N, D, C)
    out = []
    for entry in laws:
        law = entry if isinstance(entry, HyperparameterLaw) else HPARAM_LAWS.get(entry)  # type: ignore[arg-type]
        if law is None:
            raise InputError(f"unknown hyperparameter law {entry!r}; choose from {', '.join(HPARAM_LAWS)}")
        missing = [v for v in law.variables if v not in inputs]
        used = {v: inputs[v] for v in law.variables if v in inputs}
        text = "; ".join([law.notes, *notes] if not missing else [f"needs {' and '.join(law.variables)}; missing {', '.join(missing)}"])
        lr = None if missing else float(law.lr(used))
        batch = None if missing else float(law.batch_tokens(used))
        out.append(Recommendation(law.name, lr, batch, used, law.lr_formula, law.batch_formula, law.citation, text))
    return tuple(out)


__all__ = [
    "DEEPSEEK",
    "FLOPS_PER_PARAM_TOKEN",
    "HPARAM_LAWS",
    "PORIAN",
    "PORIAN_SEQUENCE",
    "STEP_LAW",
    "STEP_LAW_BOOTSTRAP_MEDIANS",
    "STEP_LAW_PUBLISHED",
    "HyperparameterLaw",
    "Recommendation",
    "complete_inputs",
    "recommend",
    "step_law",
]
