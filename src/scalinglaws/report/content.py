"""What a report holds: the fits, the backtest, the compute plan, provenance.

:func:`build_report` does all the computing; :mod:`.html` only draws and
writes. Keeping the two apart lets the report be tested as numbers first.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import __version__
from ..data.readers import read_runs
from ..data.runs import Runs
from ..errors import InputError, ScalingLawsError, ScalingLawWarning
from ..evaluate.backtest import Backtest, backtest, check_split
from ..fitting import Fit, fit
from ..laws import get_law
from ..planning import Allocation, compute_optimal
from ..uncertainty import bootstrap as bootstrap_fit

#: Default plan budgets, as multiples of the largest compute in the data.
PLAN_MULTIPLES = (1.0, 10.0, 100.0, 1000.0)


@dataclass(frozen=True)
class Report:
    """Everything a report shows, computed once."""

    runs: Runs
    fits: tuple[Fit, ...]
    backtest: Backtest | None
    plans: Mapping[str, tuple[Allocation, ...]]
    settings: Mapping[str, object]
    created: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def all_notes(self) -> tuple[str, ...]:
        """What reading the data did (units, derived columns, dropped rows), then what the report could not do."""
        return (*self.runs.notes, *self.notes)

    @property
    def provenance(self) -> dict[str, object]:
        roles = [r for r in ("N", "D", "C", "U", "step", "loss") if r in self.runs.table.columns]
        return {
            "source": self.runs.source,
            "data_sha256": self.runs.sha256(roles),
            "hashed columns": ", ".join(roles),
            "rows": len(self.runs.table),
            "columns": dict(self.runs.mapping),
            "scalinglaws": __version__,
            "created": self.created,
            **{f"setting {k}": v for k, v in self.settings.items()},
        }


def build_report(
    runs: Runs | str,
    laws: Sequence[str] = ("chinchilla",),
    *,
    bootstrap: int = 0,
    level: float = 0.95,
    seed: int = 0,
    budgets: Sequence[float] | None = None,
    backtest_by: str = "C",
    holdout: float = 0.2,
    columns: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Fit every law (with bootstrap intervals when ``bootstrap > 0``), backtest
    them against each other and plan compute at a few budgets.

    ``budgets`` defaults to 1x, 10x, 100x and 1000x the largest compute in the
    data. Laws that cannot plan (not in N and D) get no plan; a dataset too
    small to backtest gets no backtest; both are said in ``notes``.
    """
    if not laws:
        raise InputError("give at least one law (--law chinchilla)")
    check_split(backtest_by, holdout)
    for budget in budgets or ():
        if not (isinstance(budget, (int, float, np.number)) and np.isfinite(budget) and budget > 0):
            raise InputError(f"--budget must be a positive number of FLOPs (e.g. 1e23), got {budget!r}")
    data = runs if isinstance(runs, Runs) else read_runs(runs, columns=columns)
    names = [get_law(name).name for name in laws]
    notes: list[str] = []
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        for name in laws:
            if bootstrap:
                fits.append(bootstrap_fit(data, name, replicates=bootstrap, level=level, seed=seed, progress=progress))
            else:
                fits.append(fit(data, name))
        try:
            tested = backtest(data, list(laws), by=backtest_by, holdout=holdout)
        except InputError as exc:
            tested = None
            notes.append(f"no backtest: {exc}")
        plans: dict[str, tuple[Allocation, ...]] = {}
        if budgets is None and "C" in data.table.columns:
            largest = float(np.nanmax(data.table["C"].to_numpy(dtype=float)))
            budgets = [m * largest for m in PLAN_MULTIPLES]
        for result in fits:
            if not budgets or not {"N", "D"} <= set(result.law.variables):
                continue
            try:
                plans[result.law.name] = tuple(compute_optimal(result, float(c)) for c in budgets)
            except ScalingLawsError as exc:  # bad input, or a fit with no optimum (a term that does not fall)
                notes.append(f"no compute plan for {result.law.name}: {exc}")
    settings = {"laws": ", ".join(names), "bootstrap replicates": bootstrap, "level": level, "seed": seed,
                "backtest split": f"largest {holdout:.0%} by {backtest_by} held out"}
    created = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Report(data, tuple(fits), tested, plans, settings, created, tuple(notes))


__all__ = ["PLAN_MULTIPLES", "Report", "build_report"]
