"""Bundled real datasets, converted to the tidy schema, each with a card.

Only data whose licence allows redistribution (MIT, Apache-2.0) is bundled;
see each card for source, licence, units and caveats.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

from ..data.runs import Runs, derive_compute_columns
from ..errors import InputError


@dataclass(frozen=True)
class DatasetCard:
    name: str
    description: str
    filename: str
    licence: str
    citation: str

    def card(self) -> str:
        """The dataset's card (Markdown): source, licence, units, caveats."""
        return resources.files(__name__).joinpath("files", self.filename.rsplit(".", 1)[0] + ".md").read_text()


DATASETS: dict[str, DatasetCard] = {}


def register_dataset(card: DatasetCard) -> None:
    DATASETS[card.name] = card


register_dataset(
    DatasetCard(
        name="gemstones",
        description="22 Gemstones transformers (50M-2B), validation loss every ~10B tokens to 100B, constant LR",
        filename="gemstones.csv",
        licence="MIT",
        citation="McLeish et al. 2025, arXiv:2502.06857",
    )
)


def load(name: str) -> Runs:
    """Load a bundled dataset as :class:`Runs`.

    Examples
    --------
    >>> runs = load("gemstones")
    >>> len(runs)
    220
    """
    card = DATASETS.get(name)
    if card is None:
        raise InputError(f"unknown dataset {name!r}; bundled datasets: {', '.join(sorted(DATASETS))} (see `scalinglaws datasets`)")
    with resources.files(__name__).joinpath("files", card.filename).open() as handle:
        table = pd.read_csv(handle)
    table, notes = derive_compute_columns(table, {})
    return Runs(table, f"dataset:{name}", {}, tuple(notes))


def list_datasets() -> pd.DataFrame:
    """Name, description, rows, licence and citation of every bundled dataset."""
    rows = [
        {"name": c.name, "description": c.description, "rows": len(load(c.name)), "licence": c.licence, "citation": c.citation}
        for c in DATASETS.values()
    ]
    return pd.DataFrame(rows)


__all__ = ["DATASETS", "DatasetCard", "list_datasets", "load", "register_dataset"]
