r"""Observational scaling laws (Ruan, Maddison & Hashimoto 2024): the front door and its backtest.

From the benchmark scores of many public models with their training compute,

1. impute missing scores and extract ``K`` principal capabilities ``S``
   (:mod:`.capabilities`);
2. within each family, fit :math:`S \approx \theta_f \log_{10} C + \nu_f`
   (:mod:`.families`);
3. map capabilities to a target benchmark through the sigmoid link
   :math:`E = f + (1 - f)\,\sigma(\beta^\top S + \alpha)` (:mod:`.link`),

all fitted **only on the models at or below a compute cutoff** (or outside
the top fraction by PC1), and predict the held-out models three ways: from
their observed capabilities, from compute through their family's line, and
with the compute baseline :math:`E = f + (1 - f)\,\sigma(w \log_{10} C + a)`
that ignores capabilities. The held-out models' scores on the other
benchmarks are used (that is the method), their target score never is.

Intervals come from a bootstrap over models: each replicate resamples the
fitted models (and refits imputation, PCA, link, baseline and family lines)
and, independently, the held-out models on which the errors are measured.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConvergenceWarning, InputError, ScalingLawsError, ScalingLawWarning
from ..arguments import check_replicates
from ..fitting.result import FitWarning
from .capabilities import IMPUTE_RANK, Capabilities, principal_capabilities
from .families import FamilyScaling, fit_family_scaling
from .link import MAX_FLOOR, SigmoidLink, fit_sigmoid_link
from .table import DEFAULT_CUTOFF, ScoreTable, check_split_options, read_scores

CITATION = "Ruan, Maddison & Hashimoto 2024, Observational scaling laws and the predictability of language model performance, arXiv:2405.10938"
#: Prediction approaches, in display order.
APPROACHES = ("capabilities", "family compute", "log C baseline")


@dataclass(frozen=True)
class Backtest:
    """Errors of the held-out predictions, per approach.

    Attributes
    ----------
    errors: approach -> ``{"n", "mae", "rmse"}`` on the held-out models it can predict
        (``family compute`` only covers families with a fitted model).
    intervals: approach -> ``{"mae": [lo, hi], "rmse": [lo, hi]}`` (with a bootstrap), else None.
    mae_gain: baseline MAE minus capabilities MAE on all held-out models (positive: capabilities predict better).
    mae_gain_interval: its bootstrap interval, or None.
    """

    n_fit: int
    n_held_out: int
    errors: Mapping[str, Mapping[str, float]]
    mae_gain: float
    intervals: Mapping[str, Mapping[str, tuple[float, float]]] | None = None
    mae_gain_interval: tuple[float, float] | None = None

    def summary(self) -> pd.DataFrame:
        """One row per approach: n, MAE, RMSE (and MAE interval with a bootstrap)."""
        rows = []
        for name, e in self.errors.items():
            row: dict[str, object] = {"approach": name, "n": int(e["n"]), "mae": e["mae"], "rmse": e["rmse"]}
            if self.intervals is not None:
                row["mae_lower"], row["mae_upper"] = self.intervals[name]["mae"]
            rows.append(row)
        return pd.DataFrame(rows).set_index("approach")

    def to_dict(self) -> dict[str, object]:
        return {
            "n_fit": self.n_fit,
            "n_held_out": self.n_held_out,
            "errors": {k: dict(v) for k, v in self.errors.items()},
            "mae_gain": self.mae_gain,
            "intervals": None if self.intervals is None else {k: {m: list(iv) for m, iv in v.items()} for k, v in self.intervals.items()},
            "mae_gain_interval": None if self.mae_gain_interval is None else list(self.mae_gain_interval),
        }


@dataclass(frozen=True)
class ObservationalFit:
    """An observational scaling law fitted below a compute cutoff, and its backtest on the models above.

    Attributes
    ----------
    source, target, benchmarks: where the table came from, the predicted column, the capability columns.
    split: ``{"method": "cutoff" | "top", "cutoff" | "top": value, "n_fit", "n_held_out"}``.
    capabilities: imputation and PCA fitted on the fitted models.
    link: the sigmoid link from capabilities to the target.
    baseline: the same link on ``log10 C`` alone.
    families: per-family lines of capabilities in log compute (None without a family column).
    models: one row per model: ``model, family, C, held_out, PC1.., actual, capabilities,
        family_compute, log_c_baseline`` (and ``lower, upper`` of ``capabilities`` with a bootstrap).
    backtest: errors on the held-out models.
    level, bootstrap, seed: interval coverage and how it was drawn (bootstrap 0: none).
    notes, warnings, status: what was left out or derived, typed warnings, ``"converged"`` or why not.
    """

    source: str
    target: str
    benchmarks: tuple[str, ...]
    split: Mapping[str, object]
    capabilities: Capabilities
    link: SigmoidLink
    baseline: SigmoidLink
    families: FamilyScaling | None
    models: pd.DataFrame
    backtest: Backtest
    level: float | None = None
    bootstrap: int = 0
    seed: int | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[FitWarning, ...] = field(default_factory=tuple)
    status: str = "converged"

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    def capabilities_of(self, scores: pd.DataFrame | Mapping[str, object] | np.ndarray) -> np.ndarray:
        """``(n, K)`` capabilities of models given their benchmark scores (missing ones imputed)."""
        return self.capabilities.transform(_score_rows(scores, self.benchmarks))

    def predict(self, scores: pd.DataFrame | Mapping[str, object] | np.ndarray | None = None, *,
                family: str | None = None, C: float | Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        r"""Predict the target score of models not used in the fit.

        Either from their benchmark ``scores`` (a DataFrame or mapping with
        the benchmark columns, NaN allowed), :math:`f + (1-f)\sigma(\beta^\top S + \alpha)`;
        or "from compute" for a ``family`` in the fit trained with ``C`` FLOPs,
        with :math:`S = \theta_f \log_{10} C + \nu_f`.

        Examples
        --------
        >>> fit = observational_fit("dataset:obsscaling", target="GSM8K")
        >>> llama_2_70b = {"MMLU": 0.698, "ARC-C": 0.673, "HellaSwag": 0.873, "Winograd": 0.837,
        ...                "TruthfulQA": 0.449, "XWinograd": 0.824, "HumanEval": float("nan")}
        >>> round(float(fit.predict(llama_2_70b)[0]), 2)  # measured 0.54
        0.59
        >>> round(float(fit.predict(family="Llama-2", C=8.4e23)[0]), 2)  # one Llama-2 in the fit: shared slope
        0.12
        """
        if (scores is None) == (family is None and C is None):
            raise InputError("predict takes either benchmark scores, or family= and C= (predict from compute), not both and not neither")
        if scores is not None:
            return self.link(self.capabilities_of(scores))
        if family is None or C is None:
            raise InputError("predicting from compute needs both family= (a family in the fit) and C= (training FLOPs)")
        if self.families is None:
            raise InputError("this fit has no family lines (the data had no family column); map one with --col family=COLUMN")
        return self.link(self.families.capabilities_at(str(family), np.asarray(C, dtype=float)))

    def summary(self) -> pd.DataFrame:
        """The held-out models: actual score and the three predictions (and interval)."""
        held = self.models[self.models["held_out"]]
        keep = ["model", "family", "C", "actual", "capabilities", "family_compute", "log_c_baseline"]
        keep += [c for c in ("lower", "upper") if c in held.columns]
        return held[keep].sort_values("C", kind="stable").reset_index(drop=True)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "schema": "scalinglaws.observational/1",
            "source": self.source,
            "citation": CITATION,
            "target": self.target,
            "benchmarks": list(self.benchmarks),
            "split": dict(self.split),
            "capabilities": self.capabilities.to_dict(),
            "link": self.link.to_dict(),
            "baseline": self.baseline.to_dict(),
            "families": None if self.families is None else self.families.to_dict(),
            "backtest": self.backtest.to_dict(),
            "held_out": self.summary().to_dict(orient="records"),
            "status": self.status,
            "notes": list(self.notes),
            "warnings": [w.to_dict() for w in self.warnings],
        }
        if self.bootstrap:
            out["level"] = self.level
            out["bootstrap"] = {"replicates": self.bootstrap, "seed": self.seed,
                                "resampled": "fitted models (refit) and held-out models (errors), independently"}
        return out


def _score_rows(scores: pd.DataFrame | Mapping[str, object] | np.ndarray, benchmarks: tuple[str, ...]) -> np.ndarray:
    if isinstance(scores, np.ndarray):
        return np.array(scores, dtype=float, ndmin=2)
    frame = pd.DataFrame(scores) if isinstance(scores, pd.DataFrame) else pd.DataFrame({k: np.atleast_1d(v) for k, v in scores.items()})
    missing = [b for b in benchmarks if b not in frame.columns]
    if missing:
        raise InputError(f"scores lack benchmark column(s) {', '.join(missing)}; give every one of {', '.join(benchmarks)} (NaN where unknown)")
    values = frame[list(benchmarks)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if np.any(np.isinf(values)) or np.any((values < 0) | (values > 1)):
        raise InputError("benchmark scores must be fractions in [0, 1]; divide percentages by 100")
    return values


@dataclass(frozen=True)
class _Stages:
    capabilities: Capabilities
    link: SigmoidLink
    baseline: SigmoidLink
    families: FamilyScaling | None


def _fit_stages(table: ScoreTable, rows: np.ndarray, components: int, floor: float | str, impute_rank: int) -> _Stages:
    caps = principal_capabilities(table.scores[rows], components=components, impute_rank=impute_rank, benchmarks=table.benchmarks)
    s = caps.transform(table.scores[rows])
    y = table.target[rows]
    link = fit_sigmoid_link(s, y, floor=floor, predictors=caps.names)
    baseline = fit_sigmoid_link(np.log10(table.compute[rows])[:, None], y, floor=floor, predictors=("log10 C",))
    families = None if table.families is None else fit_family_scaling(s, table.compute[rows], table.families[rows], names=caps.names)
    return _Stages(caps, link, baseline, families)


def _predictions(stages: _Stages, table: ScoreTable, rows: np.ndarray) -> np.ndarray:
    """``(3, len(rows))``: capabilities, family compute (NaN where the family is unknown), baseline."""
    s = stages.capabilities.transform(table.scores[rows])
    out = np.full((3, rows.size), math.nan)
    out[0] = stages.link(s)
    out[2] = stages.baseline(np.log10(table.compute[rows])[:, None])
    if stages.families is not None:
        for j, i in enumerate(rows):
            fam = str(table.families[i])
            if stages.families.has(fam) and np.all(np.isfinite(stages.families.line(fam).slope)):
                out[1, j] = stages.link(stages.families.capabilities_at(fam, table.compute[i]))[0]
    return out


def _errors(predicted: np.ndarray, actual: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for name, p in zip(APPROACHES, predicted, strict=True):
        ok = np.isfinite(p)
        miss = p[ok] - actual[ok]
        out[name] = {"n": int(ok.sum()), "mae": float(np.mean(np.abs(miss))) if ok.any() else math.nan,
                     "rmse": float(math.sqrt(np.mean(miss**2))) if ok.any() else math.nan}
    return out


def _split(table: ScoreTable, method: str, value: float, components: int, impute_rank: int) -> np.ndarray:
    """Boolean mask of the held-out models."""
    if method == "cutoff":
        return table.compute > value
    caps = principal_capabilities(table.scores, components=1, impute_rank=impute_rank, benchmarks=table.benchmarks)
    pc1 = caps.transform(table.scores)[:, 0]
    n_held = max(1, math.ceil(value * len(pc1)))
    held = np.zeros(len(pc1), dtype=bool)
    held[np.argsort(-pc1, kind="stable")[:n_held]] = True
    return held


def observational_fit(
    runs: pd.DataFrame | str,
    *,
    target: str,
    benchmarks: Sequence[str] | None = None,
    cutoff: float | None = None,
    top: float | None = None,
    components: int = 3,
    floor: float | str = "fit",
    impute_rank: int = IMPUTE_RANK,
    bootstrap: int = 0,
    level: float = 0.95,
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    model: str | None = None,
) -> ObservationalFit:
    r"""Fit an observational scaling law below a compute cutoff and backtest it above.

    .. math::

        S_m = (X_m - \bar X) V_K^\top,\qquad
        S_m \approx \theta_f \log_{10} C_m + \nu_f,\qquad
        E_m = f + (1 - f)\,\sigma(\beta^\top S_m + \alpha)

    (Ruan, Maddison & Hashimoto 2024, arXiv:2405.10938.)

    Parameters
    ----------
    runs:
        A table (DataFrame, path or ``"dataset:obsscaling"``) with one row per
        model: a compute column ``C`` (or ``N`` and ``D``), benchmark scores
        in [0, 1], the target column, optionally ``family`` and ``model``.
    target:
        The benchmark to predict (never used to extract capabilities).
    benchmarks:
        Columns the capabilities are extracted from; default: every other
        column of scores in [0, 1]. A column that looks like scores but has
        values off [0, 1] (percentages, a stray value) is an error; empty
        columns and numbers that are not scores (sizes, counts) are left out
        with a note.
    cutoff:
        Fit on the models with ``C <= cutoff`` FLOPs, hold out the rest
        (default 8.4e22, Llama-2-7B).
    top:
        Instead of a cutoff, hold out this fraction of models with the highest PC1.
    components:
        ``K``, the number of principal capabilities (default 3).
    floor:
        ``"fit"`` (in [0, 0.2], Ruan et al.) or a fixed floor of the sigmoid.
    impute_rank:
        Rank of the iterative PCA imputation of missing scores (default 1).
    bootstrap:
        Replicates of the bootstrap over models (0: no intervals).
    level, seed:
        Interval coverage and the seed of the resampling.
    columns, model:
        Role -> column mapping for reading; the column naming the models.

    Returns
    -------
    ObservationalFit

    Raises
    ------
    InputError
        For a missing target or benchmark column, non-numeric or out-of-range
        scores, too few models below the cutoff or none above it.

    Examples
    --------
    >>> fit = observational_fit("dataset:obsscaling", target="MMLU", cutoff=8.4e22)
    >>> fit.backtest.n_fit, fit.backtest.n_held_out
    (77, 46)
    >>> bool(fit.backtest.errors["capabilities"]["mae"] < fit.backtest.errors["log C baseline"]["mae"])
    True
    """
    check_replicates(bootstrap, "bootstrap")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    method, value = check_split_options(cutoff, top)
    table = read_scores(runs, target=target, benchmarks=benchmarks, columns=dict(columns or {}), model=model)
    p = len(table.benchmarks)
    if isinstance(components, bool) or not isinstance(components, int) or not (1 <= components <= p):
        raise InputError(f"components must be an integer between 1 and the number of benchmarks ({p}: {', '.join(table.benchmarks)}), got {components!r}")
    held = _split(table, method, value, components, impute_rank)
    fit_rows, held_rows = np.flatnonzero(~held), np.flatnonzero(held)
    where = f"with C <= {value:.3g} FLOPs" if method == "cutoff" else f"outside the top {value:g} by PC1 (--top)"
    more = "raise --cutoff" if method == "cutoff" else "lower --top (hold out fewer models)"
    needed = components + 3
    if fit_rows.size < needed:
        raise InputError(f"only {fit_rows.size} model(s) {where} to fit; the sigmoid link on {components} capabilities has "
                         f"{components + 2} parameters and needs at least {needed} models: {more} or lower --components")
    if held_rows.size == 0:
        raise InputError(f"no model lies above the cutoff (all {len(held)} have C <= {value:.3g} FLOPs; the largest compute is {table.compute.max():.3g} FLOPs); "
                         "lower --cutoff so that some models are held out")

    stages = _fit_stages(table, fit_rows, components, floor, impute_rank)
    everyone = np.arange(len(held))
    predicted = _predictions(stages, table, everyone)
    errors = _errors(predicted[:, held_rows], table.target[held_rows])
    gain = errors["log C baseline"]["mae"] - errors["capabilities"]["mae"]

    notes = list(table.notes)
    if stages.families is not None:
        borrowed = [line.family for line in stages.families.lines if line.shared_slope]
        if borrowed:
            notes.append(f"{len(borrowed)} famil{'y' if len(borrowed) == 1 else 'ies'} with one compute in the fit borrow the shared slope")
        unknown = sorted({str(table.families[i]) for i in held_rows if not stages.families.has(str(table.families[i]))})
        if unknown:
            notes.append(f"{len(unknown)} held-out famil{'y has' if len(unknown) == 1 else 'ies have'} no model in the fit, "
                         "so no prediction from compute: " + ", ".join(unknown))
    else:
        notes.append("no family column: predictions from compute need one (--col family=COLUMN)")
    fit_warnings: list[FitWarning] = []
    intervals = gain_iv = None
    lower = upper = None
    if bootstrap:
        reps, metric_reps = _bootstrap(table, fit_rows, held_rows, components, floor, impute_rank, bootstrap, seed)
        failed = int(np.sum(~np.isfinite(reps[:, 0, 0])))
        if bootstrap - failed < 2:
            raise InputError("fewer than 2 bootstrap replicates could be refitted; the data cannot support intervals")
        if failed:
            message = f"{failed} of {bootstrap} observational bootstrap replicates could not be refitted; intervals use the others"
            fit_warnings.append(FitWarning(ConvergenceWarning.code, message))
            warnings.warn(message, ConvergenceWarning, stacklevel=2)
        tail = (1 - level) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no family line) give NaN bounds
            lower, upper = np.nanquantile(reps[:, 0, :], [tail, 1 - tail], axis=0)
            q = np.nanquantile(metric_reps, [tail, 1 - tail], axis=0)  # (2, approaches + 1, 2 metrics)
        intervals = {name: {"mae": (float(q[0, a, 0]), float(q[1, a, 0])), "rmse": (float(q[0, a, 1]), float(q[1, a, 1]))}
                     for a, name in enumerate(APPROACHES)}
        gain_iv = (float(q[0, 3, 0]), float(q[1, 3, 0]))

    models = pd.DataFrame({
        "model": table.models,
        "family": table.families if table.families is not None else table.models,
        "C": table.compute,
        "held_out": held,
        **{name: col for name, col in zip(stages.capabilities.names, stages.capabilities.transform(table.scores).T, strict=True)},
        "actual": table.target,
        "capabilities": predicted[0],
        "family_compute": predicted[1],
        "log_c_baseline": predicted[2],
    })
    if lower is not None and upper is not None:
        models["lower"] = math.nan
        models["upper"] = math.nan
        models.loc[held_rows, "lower"] = lower
        models.loc[held_rows, "upper"] = upper
    failures = [f"{name} ({f.status})" for name, f in (("link", stages.link), ("baseline", stages.baseline)) if not f.converged]
    split = {"method": method, method: value, "n_fit": int(fit_rows.size), "n_held_out": int(held_rows.size)}
    return ObservationalFit(
        source=table.source,
        target=table.target_name,
        benchmarks=table.benchmarks,
        split=split,
        capabilities=stages.capabilities,
        link=stages.link,
        baseline=stages.baseline,
        families=stages.families,
        models=models,
        backtest=Backtest(int(fit_rows.size), int(held_rows.size), errors, gain, intervals, gain_iv),
        level=float(level) if bootstrap else None,
        bootstrap=bootstrap,
        seed=int(seed) if bootstrap else None,
        notes=tuple(notes),
        warnings=tuple(fit_warnings),
        status="converged" if not failures else "not converged: " + "; ".join(failures),
    )


def _bootstrap(table: ScoreTable, fit_rows: np.ndarray, held_rows: np.ndarray, components: int, floor: float | str,
               impute_rank: int, replicates: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate: held-out predictions ``(R, 3, h)`` and metrics ``(R, 4, 2)`` (MAE, RMSE; row 3: MAE gain)."""
    rng = np.random.default_rng(seed)
    reps = np.full((replicates, 3, held_rows.size), math.nan)
    metrics = np.full((replicates, 4, 2), math.nan)
    actual = table.target[held_rows]
    for r in range(replicates):
        draw = fit_rows[rng.integers(0, fit_rows.size, fit_rows.size)]
        on = rng.integers(0, held_rows.size, held_rows.size)  # the held-out models the errors are measured on
        try:
            with warnings.catch_warnings():
                # A replicate's warnings would be discarded anyway; a failed refit becomes a NaN row.
                warnings.simplefilter("ignore", ScalingLawWarning)
                stages = _fit_stages(table, draw, components, floor, impute_rank)
        except (ScalingLawsError, np.linalg.LinAlgError):
            continue
        if not (stages.link.converged and stages.baseline.converged):
            continue
        reps[r] = _predictions(stages, table, held_rows)
        miss = reps[r][:, on] - actual[on]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # family compute may have no prediction at all
            metrics[r, :3, 0] = np.nanmean(np.abs(miss), axis=1)
            metrics[r, :3, 1] = np.sqrt(np.nanmean(miss**2, axis=1))
        metrics[r, 3, 0] = metrics[r, 2, 0] - metrics[r, 0, 0]
    return reps, metrics


__all__ = ["APPROACHES", "CITATION", "DEFAULT_CUTOFF", "MAX_FLOOR", "Backtest", "ObservationalFit", "observational_fit"]
