"""What was read: runs, roles, ranges, derived columns, cleaning steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .runs import NUMERIC_ROLES, ROLES, Runs


@dataclass(frozen=True)
class Inspection:
    source: str
    rows: int
    runs: int | None
    roles: dict[str, str]  # role -> original column
    ranges: pd.DataFrame  # role, min, max, distinct, missing
    other_columns: tuple[str, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source, "rows": self.rows, "runs": self.runs, "roles": self.roles,
            "ranges": self.ranges.to_dict(orient="records"), "other_columns": list(self.other_columns), "notes": list(self.notes),
        }


def inspect_runs(runs: Runs) -> Inspection:
    """Summarise a :class:`Runs` table without validating it (so problems can be seen)."""
    table = runs.table
    rows = []
    for role in NUMERIC_ROLES:
        if role not in table.columns:
            continue
        values = pd.to_numeric(table[role], errors="coerce")
        finite = values[np.isfinite(values)]
        rows.append({"role": role, "column": runs.mapping.get(role, role), "min": float(finite.min()) if len(finite) else None,
                     "max": float(finite.max()) if len(finite) else None, "distinct": int(values.nunique()),
                     "missing_or_invalid": int(len(values) - len(finite))})
    roles = {role: runs.mapping.get(role, role) for role in ROLES if role in table.columns}
    derived = {n.split(" ")[0] for n in runs.notes if " derived as " in n}
    for role in derived:
        roles[role] = "(derived)"
    others = tuple(str(c) for c in table.columns if c not in ROLES)
    return Inspection(runs.source, len(table), int(table["run"].nunique()) if "run" in table.columns else None, roles,
                      pd.DataFrame(rows), others, runs.notes)
