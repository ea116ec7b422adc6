"""The two-step task ladder (Bhagia et al. 2024), REFERENCE.md §4.

Downstream accuracy is predicted in two steps from a ladder of small runs:

1. the *task loss* (e.g. bits per byte, or the log-perplexity, of the correct
   answer) follows Chinchilla's form in parameters and tokens,
   ``L(N, D) = E + A / N^alpha + B / D^beta``;
2. accuracy is a sigmoid of that task loss,
   ``Acc(L) = a / (1 + exp(-k (L - L0))) + b``.

Chaining them predicts a big run's accuracy from its ``N`` and ``D``. The
loss is a smooth, predictable intermediate; accuracy itself is noisy and
saturating, which is why Schaeffer et al. (2024) advise chaining to accuracy
last. For comparison, :func:`task_ladder` also fits the *single-step*
alternative, a sigmoid of ``log10 C`` with ``C = 6 N D``, straight to the
accuracy.

Uncertainty is propagated by a joint bootstrap over runs: each replicate
resamples runs once and refits **both** steps (and the single-step law) on
that same resample, then chains them, so the interval on the accuracy carries
the error of step 1 into step 2.

Importing this module adds the laws ``sigmoid`` (step 2) and
``sigmoid_compute`` (the single-step alternative) to the catalogue.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit

from .data.readers import read_runs
from .data.runs import Runs, validate_positive
from .data.units import looks_like_percent
from .errors import ConvergenceWarning, InputError, ScalingLawsError, ScalingLawWarning
from .arguments import check_replicates
from .fitting.fit import fit
from .fitting.result import Fit, FitWarning
from .laws.base import ArrayMap, Law, Parameter, Projection, get_law, register_law
from .predict import predict
from .uncertainty.bootstrap import resampling_groups

#: Flops per parameter per token of the compute C = 6 N D.
FLOPS_PER_PARAM_TOKEN = 6.0

# Signed slopes: accuracy falls as the loss grows (k < 0 in Bhagia et al.'s
# form) but rises with compute (k > 0); ``a >= 0`` removes the mirror
# solution (a, k, b) -> (-a, -k, b + a), so the sign of k carries the direction.
_SLOPE_MAGNITUDES = np.round(np.geomspace(0.05, 200.0, 48), 6)
SLOPE_GRID = tuple(float(x) for x in np.concatenate([-_SLOPE_MAGNITUDES[::-1], _SLOPE_MAGNITUDES]))
MIDPOINT_GRID = tuple(float(x) for x in np.round(np.geomspace(0.02, 50.0, 60), 6))
_DECADE_SLOPES = np.round(np.geomspace(0.02, 50.0, 40), 6)
DECADE_SLOPE_GRID = tuple(float(x) for x in np.concatenate([-_DECADE_SLOPES[::-1], _DECADE_SLOPES]))
LOG10_COMPUTE_GRID = tuple(float(x) for x in np.round(np.linspace(12.0, 32.0, 81), 6))

_CITATION = "Bhagia et al. 2024, Establishing task scaling laws via compute-efficient model ladders, arXiv:2412.04403"


def _sigmoid_law(name: str, variables: tuple[str, ...], position, slope: Parameter, midpoint: Parameter,
                 formula: str, latex: str, description: str) -> Law:
    """A law ``a * expit(k (x - x0)) + b`` where ``x = position(inputs)``; a and b enter linearly."""
    k_name, x0_name = slope.name, midpoint.name

    def function(params: ArrayMap, x: ArrayMap) -> np.ndarray:
        # expit is the logistic 1 / (1 + exp(-z)) without overflow for large |z|.
        return params["a"] * expit(params[k_name] * (position(x) - params[x0_name])) + params["b"]

    def design(nl: ArrayMap, x: ArrayMap) -> np.ndarray:
        rise = expit(nl[k_name] * (position(x) - nl[x0_name]))
        return np.stack([rise, np.ones_like(rise)], axis=-1)

    def assemble(nl: ArrayMap, coefs: np.ndarray) -> dict[str, np.ndarray]:
        return {"a": coefs[:, 0], "b": coefs[:, 1], k_name: nl[k_name].ravel(), x0_name: nl[x0_name].ravel()}

    return Law(
        name=name,
        variables=variables,
        parameters=(
            Parameter("a", 0.0, np.inf, log_scale=True, linear=True, description="range of the accuracy (upper minus lower asymptote)"),
            Parameter("b", 0.0, np.inf, log_scale=True, linear=True, description="lower asymptote of the accuracy (about chance)"),
            slope,
            midpoint,
        ),
        function=function,
        formula=formula,
        latex=latex,
        citation=_CITATION,
        projection=Projection(design=design, assemble=assemble),
        complex_safe=False,  # expit has no complex form
        monotone=False,  # accuracy rises as the loss falls; the library's check expects the reverse
        description=description,
    )


SIGMOID = _sigmoid_law(
    "sigmoid",
    ("loss",),
    lambda x: x["loss"],
    Parameter("k", -1000.0, 1000.0, grid=SLOPE_GRID, description="slope in the task loss (negative: accuracy falls as loss grows)"),
    Parameter("L0", -math.inf, math.inf, grid=MIDPOINT_GRID, description="task loss at the sigmoid's midpoint"),
    formula="Acc = a / (1 + exp(-k (L - L0))) + b",
    latex=r"\mathrm{Acc}(L) = \frac{a}{1 + e^{-k (L - L_0)}} + b",
    description="Step 2 of the task ladder: accuracy as a sigmoid of the task loss (fit with target= the accuracy column).",
)


def log10_compute(x: ArrayMap) -> np.ndarray:
    """``log10 C`` with ``C = 6 N D``."""
    return np.log10(FLOPS_PER_PARAM_TOKEN * x["N"] * x["D"])


SIGMOID_COMPUTE = _sigmoid_law(
    "sigmoid_compute",
    ("N", "D"),
    log10_compute,
    Parameter("k", -1000.0, 1000.0, grid=DECADE_SLOPE_GRID, description="slope per decade of compute"),
    Parameter("c0", -math.inf, math.inf, grid=LOG10_COMPUTE_GRID, description="log10 of the compute at the sigmoid's midpoint"),
    formula="Acc = a / (1 + exp(-k (log10 C - c0))) + b, C = 6 N D",
    latex=r"\mathrm{Acc}(C) = \frac{a}{1 + e^{-k (\log_{10} C - c_0)}} + b,\quad C = 6ND",
    description="Single-step task prediction: accuracy as a sigmoid of log10 compute (fit with target= the accuracy column).",
)

register_law(SIGMOID)
register_law(SIGMOID_COMPUTE)

#: Objective of each step: Chinchilla's Huber on log residuals for the task loss
#: (the library default); least squares on accuracy, whose noise is additive
#: (binomial), for the sigmoids, as Bhagia et al. fit them.
STEP1_OPTIONS: Mapping[str, object] = {"loss": "huber", "delta": 1e-3, "space": "log"}
STEP2_OPTIONS: Mapping[str, object] = {"loss": "squared", "space": "linear"}


@dataclass(frozen=True)
class TaskPrediction:
    """One approach's prediction at the target: task loss (two-step only) and accuracy."""

    approach: str
    accuracy: float
    accuracy_interval: tuple[float, float] | None = None
    task_loss: float | None = None
    task_loss_interval: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "approach": self.approach,
            "task_loss": self.task_loss,
            "task_loss_interval": None if self.task_loss_interval is None else list(self.task_loss_interval),
            "accuracy": self.accuracy,
            "accuracy_interval": None if self.accuracy_interval is None else list(self.accuracy_interval),
        }


@dataclass(frozen=True)
class TaskLadder:
    """The two-step task ladder's prediction beside the single-step one.

    Attributes
    ----------
    target: ``N``, ``D`` and ``C = 6 N D`` of the run predicted.
    two_step: task loss and accuracy chained through step 1 and step 2.
    single_step: accuracy from the sigmoid of ``log10 C``.
    step1, step2, single: the three point fits.
    columns: the task-loss and accuracy columns used.
    level: coverage of the intervals (with a bootstrap).
    replicates: bootstrap draws, one row each, columns
        ``task_loss, accuracy, single_step_accuracy`` (NaN where a refit failed).
    resampled_by, seed: how the bootstrap resampled.
    status: ``"converged"`` or which fit did not converge.
    warnings: the three fits' warnings and those of the bootstrap.
    notes: how the data were read (step 1's notes), then how the bootstrap resampled when that is not by run.
    """

    target: Mapping[str, float]
    two_step: TaskPrediction
    single_step: TaskPrediction
    step1: Fit
    step2: Fit
    single: Fit
    columns: Mapping[str, str]
    level: float | None = None
    replicates: np.ndarray | None = None
    resampled_by: str | None = None
    seed: int | None = None
    status: str = "converged"
    warnings: tuple[FitWarning, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    def summary(self) -> pd.DataFrame:
        """One row per approach: task loss, accuracy and their intervals."""
        rows = []
        for p in (self.two_step, self.single_step):
            row = {"approach": p.approach, "task_loss": p.task_loss, "accuracy": p.accuracy}
            if self.level is not None:
                row["lower"], row["upper"] = p.accuracy_interval or (math.nan, math.nan)
            rows.append(row)
        return pd.DataFrame(rows).set_index("approach")

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "schema": "scalinglaws.task_ladder/1",
            "target": dict(self.target),
            "columns": dict(self.columns),
            "two_step": self.two_step.to_dict(),
            "single_step": self.single_step.to_dict(),
            "status": self.status,
            "fits": {
                "step1": _fit_summary(self.step1),
                "step2": _fit_summary(self.step2),
                "single_step": _fit_summary(self.single),
            },
            "notes": list(self.notes),
            "warnings": [w.to_dict() for w in self.warnings],
        }
        if self.replicates is not None:
            ok = np.all(np.isfinite(self.replicates), axis=1)
            out["level"] = self.level
            out["bootstrap"] = {
                "replicates": int(self.replicates.shape[0]),
                "converged": int(ok.sum()),
                "resampled_by": self.resampled_by,
                "seed": self.seed,
            }
        return out


def _fit_summary(result: Fit) -> dict[str, object]:
    return {
        "law": result.law.name,
        "formula": result.law.formula,
        "params": {k: float(v) for k, v in result.params.items()},
        "status": result.status,
        "n_points": result.n_points,
        "loss": result.loss.to_dict(),
    }


def task_ladder(
    runs: Runs | pd.DataFrame | str,
    *,
    task_loss: str,
    accuracy: str,
    target: Mapping[str, float],
    bootstrap: int = 0,
    level: float = 0.95,
    seed: int = 0,
    by: str = "auto",
    columns: Mapping[str, str] | None = None,
) -> TaskLadder:
    r"""Predict a run's task accuracy from a ladder of small runs, in two steps and in one.

    .. math::

        L(N, D) = E + \frac{A}{N^\alpha} + \frac{B}{D^\beta},\qquad
        \mathrm{Acc}(L) = \frac{a}{1 + e^{-k (L - L_0)}} + b

    Step 1 fits Chinchilla's law to the task-loss column, step 2 fits the
    sigmoid law of the accuracy column against the task loss of the same
    rows, and the prediction chains them at ``target``. The single-step
    alternative fits ``Acc = a / (1 + exp(-k (log10 C - c0))) + b`` with
    ``C = 6 N D`` directly.

    Parameters
    ----------
    runs:
        A :class:`Runs` table, a DataFrame, a path or ``"dataset:NAME"``;
        needs ``N`` and ``D`` (or ``C``), the task-loss and accuracy columns.
    task_loss, accuracy:
        Names of the columns holding the task loss (positive, e.g. bits per
        byte or log-perplexity of the answer) and the accuracy (in (0, 1]).
    target:
        ``{"N": ..., "D": ...}`` of the run to predict.
    bootstrap:
        Replicates of a joint bootstrap by run (0: no intervals). Every
        replicate refits both steps and the single-step law on one resample.
    level:
        Coverage of the percentile intervals.
    seed:
        Seed of the resampling.
    by:
        Resampling unit, as in :func:`scalinglaws.uncertainty.bootstrap`.
    columns:
        Role -> column mapping used when ``runs`` is read here.

    Returns
    -------
    TaskLadder
        A frozen record with both approaches' predictions and the three fits.

    Raises
    ------
    InputError
        For a missing column, a bad target or bootstrap option.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np, pandas as pd
    >>> import scalinglaws as sl
    >>> from scalinglaws.errors import ScalingLawWarning
    >>> n = np.repeat([2e7, 5e7, 1e8, 2e8, 5e8], 4); d = np.tile([2e9, 5e9, 1e10, 2e10], 5)
    >>> tl = 0.6 + 60 / n**0.3 + 400 / d**0.3
    >>> acc = 0.7 / (1 + np.exp(4.0 * (tl - 1.3))) + 0.25
    >>> frame = pd.DataFrame({"N": n, "D": d, "bpb": tl, "acc": acc})
    >>> with warnings.catch_warnings():  # on this tiny ladder the single-step floor b lands on its bound
    ...     warnings.simplefilter("ignore", ScalingLawWarning)
    ...     result = sl.task_ladder(frame, task_loss="bpb", accuracy="acc", target={"N": 1e9, "D": 2e10})
    >>> round(result.two_step.accuracy, 2)
    0.76
    """
    check_replicates(bootstrap, "bootstrap")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    point = _target(target)
    data = read_runs(runs, columns=columns)
    work, labels = _working_runs(data, task_loss, accuracy)

    step1 = fit(work, "chinchilla", target="loss", **STEP1_OPTIONS)  # type: ignore[arg-type]
    step2 = fit(work, SIGMOID, target="accuracy", **STEP2_OPTIONS)  # type: ignore[arg-type]
    single = fit(work, SIGMOID_COMPUTE, target="accuracy", **STEP2_OPTIONS)  # type: ignore[arg-type]
    predicted_loss = float(predict(step1, N=point["N"], D=point["D"]))
    predicted_acc = float(predict(step2, loss=predicted_loss)) if predicted_loss > 0 else math.nan
    single_acc = float(predict(single, N=point["N"], D=point["D"]))

    failed = [f"{name} ({f.status})" for name, f in (("step 1", step1), ("step 2", step2), ("single step", single)) if not f.converged]
    status = "converged" if not failed else "not converged: " + "; ".join(failed)
    fit_warnings = tuple(w for f in (step1, step2, single) for w in f.warnings)

    reps = None
    loss_iv = acc_iv = single_iv = None
    unit = None
    if bootstrap:
        reps, unit = _joint_bootstrap(work, point, bootstrap, seed, by)
        usable = np.isfinite(reps).sum(axis=0)
        if usable.min() < 2:
            raise InputError("fewer than 2 bootstrap replicates converged; the data cannot support intervals for the task ladder")
        complete = int(np.all(np.isfinite(reps), axis=1).sum())
        if complete < bootstrap:
            message = f"{bootstrap - complete} of {bootstrap} task-ladder bootstrap replicates did not converge; intervals use those that did"
            fit_warnings += (FitWarning(ConvergenceWarning.code, message),)
            warnings.warn(message, ConvergenceWarning, stacklevel=2)
        tail = (1 - level) / 2
        # Each column from its own converged replicates: a failed single-step refit need not drop a two-step draw.
        lo, hi = np.nanquantile(reps, [tail, 1 - tail], axis=0)
        loss_iv, acc_iv, single_iv = ((float(lo[i]), float(hi[i])) for i in range(3))
    notes = tuple(step1.notes)
    if unit == "row" and by == "auto":
        notes += ("the bootstrap resampled rows, not runs: the data has no run column, so each checkpoint was drawn on its own "
                  "and the intervals ignore that checkpoints of one run move together; map the column naming each run with "
                  "--col run=COLUMN (Python: columns={'run': 'COLUMN'}) to resample whole runs",)

    return TaskLadder(
        target={**point, "C": FLOPS_PER_PARAM_TOKEN * point["N"] * point["D"]},
        two_step=TaskPrediction("two-step", predicted_acc, acc_iv, predicted_loss, loss_iv),
        single_step=TaskPrediction("single-step", single_acc, single_iv),
        step1=step1,
        step2=step2,
        single=single,
        columns=labels,
        level=float(level) if bootstrap else None,
        replicates=reps,
        resampled_by=unit,
        seed=int(seed) if bootstrap else None,
        status=status,
        warnings=fit_warnings,
        notes=notes,
    )


def _target(target: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(target, Mapping):
        raise InputError(f"target must be a mapping like {{'N': 7e9, 'D': 2e12}}, got {type(target).__name__}")
    unknown = sorted(set(target) - {"N", "D"})
    missing = [k for k in ("N", "D") if k not in target]
    if unknown or missing:
        raise InputError(f"target needs exactly N and D (e.g. --target N=7e9,D=2e12); missing {missing or 'none'}, unknown {unknown or 'none'}")
    out = {}
    for key in ("N", "D"):
        try:
            value = float(target[key])
        except (TypeError, ValueError):
            raise InputError(f"target {key} must be a number, got {target[key]!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"target {key} must be a finite number > 0, got {target[key]!r}")
        out[key] = value
    return out


def _working_runs(data: Runs, task_loss: str, accuracy: str) -> tuple[Runs, dict[str, str]]:
    """N, D, the task loss as ``loss`` and the accuracy as ``accuracy`` (plus ``run``), validated once."""
    loss_col = data.resolve(task_loss, "--task-loss")
    acc_col = data.resolve(accuracy, "--accuracy")
    if loss_col == acc_col:
        raise InputError(f"--task-loss and --accuracy name the same column {task_loss!r}; give two different columns")
    data.require(["N", "D"])
    validate_positive(data.table[loss_col], f"{task_loss!r} (--task-loss)")
    values = _accuracies(data.table[acc_col], accuracy, data.origin)
    frame = pd.DataFrame({
        "N": data.table["N"].to_numpy(dtype=float),
        "D": data.table["D"].to_numpy(dtype=float),
        "loss": pd.to_numeric(data.table[loss_col]).to_numpy(dtype=float),
        "accuracy": values,
    })
    for group in ("run", "C"):
        if group in data.table.columns:
            frame[group] = data.table[group].to_numpy()
    labels = {"task_loss": task_loss, "accuracy": accuracy}
    return Runs(frame, data.source, {"loss": task_loss, "accuracy": accuracy}, data.notes), labels


def _accuracies(series: pd.Series, name: str, origin: tuple[int, ...] | None) -> np.ndarray:
    """The accuracy column as fractions in (0, 1], its bad rows named as rows of the source."""
    label = f"{name!r} (--accuracy)"
    numeric = pd.to_numeric(series, errors="coerce")
    # Non-numbers, NaN and infinities first, worded as for any numeric column; the range is checked below.
    validate_positive(series.mask(numeric <= 0, 1.0), label, origin=origin)
    values = numeric.to_numpy(dtype=float)
    source = np.arange(values.size) if origin is None else np.asarray(origin)

    def first(bad: np.ndarray) -> tuple[int, float]:
        at = int(bad[int(np.argmin(source[bad]))])
        return int(source[at]), float(values[at])

    outside = np.flatnonzero((values < 0) | (values > 1))
    if outside.size:
        row, value = first(outside)
        advice = "divide percentages by 100" if looks_like_percent(values) else "fix or remove those rows"
        raise InputError(f"--accuracy column {name!r} must hold fractions in (0, 1], but {outside.size} value(s) lie outside [0, 1], "
                         f"first {value:g} at row {row} (counting data rows from 0, header excluded); {advice}")
    zeros = np.flatnonzero(values == 0)
    if zeros.size:
        row, _ = first(zeros)
        raise InputError(f"column {label} must be > 0 to be fitted, but {zeros.size} row(s) hold an accuracy of 0, first row {row} "
                         "(counting data rows from 0, header excluded). 0 is a real accuracy, but the fitter's grid search weighs each "
                         "accuracy by its inverse (relative residuals standing in for log residuals), which is infinite at 0; "
                         "remove those rows to fit the ladder")
    return values


def _refit(work: Runs, law: str | Law, target: str, counts: np.ndarray, options: Mapping[str, object]) -> Fit | None:
    try:
        result = fit(work, law, target=target, diagnostics=False, counts=counts, **options)  # type: ignore[arg-type]
    except ScalingLawsError:
        return None
    return result if result.converged else None


def _joint_bootstrap(work: Runs, point: Mapping[str, float], replicates: int, seed: int, by: str) -> tuple[np.ndarray, str]:
    """Resample runs once per replicate; refit step 1, step 2 and the single-step law on it and chain."""
    groups, unit = resampling_groups(work, by)
    labels, members = np.unique(groups, return_inverse=True)
    if labels.size < 3:
        # The command line has no by=: name it only to a Python caller who chose the unit.
        instead = "; or resample rows instead with by='row'" if by not in ("auto", "row") else ""
        raise InputError(f"a bootstrap by {unit} needs at least 3 {unit}s; the data has {labels.size}. Add {unit}s to the ladder, "
                         f"or fit without intervals (--bootstrap 0){instead}")
    index = [np.flatnonzero(members == g) for g in range(labels.size)]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, labels.size, size=(replicates, labels.size))
    chinchilla = get_law("chinchilla")
    at = {"N": np.asarray(point["N"]), "D": np.asarray(point["D"])}
    out = np.full((replicates, 3), np.nan)
    with warnings.catch_warnings():
        # A replicate's diagnostics would be discarded anyway; failures become NaN rows.
        warnings.simplefilter("ignore", ScalingLawWarning)
        for r, draw in enumerate(draws):
            counts = np.bincount(np.concatenate([index[g] for g in draw]), minlength=len(work))
            first = _refit(work, chinchilla, "loss", counts, STEP1_OPTIONS)
            second = _refit(work, SIGMOID, "accuracy", counts, STEP2_OPTIONS)
            single = _refit(work, SIGMOID_COMPUTE, "accuracy", counts, STEP2_OPTIONS)
            if first is not None and second is not None:
                loss = float(chinchilla.function(first.params, at))
                out[r, 0] = loss
                out[r, 1] = float(SIGMOID.function(second.params, {"loss": np.asarray(loss)}))
            if single is not None:
                out[r, 2] = float(SIGMOID_COMPUTE.function(single.params, at))
    return out, unit


__all__ = [
    "SIGMOID",
    "SIGMOID_COMPUTE",
    "TaskLadder",
    "TaskPrediction",
    "log10_compute",
    "task_ladder",
]
