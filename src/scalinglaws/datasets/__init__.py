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
        return resources.files(__name__).joinpath("files", self.filename.split(".", 1)[0] + ".md").read_text()


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


for _name, _description, _licence, _citation in (
    ("gemstones_350b", "22 Gemstones transformers, validation loss every ~10B tokens to 350B, constant LR", "MIT", "McLeish et al. 2025, arXiv:2502.06857"),
    ("datablations", "Data-constrained runs (2.8B-8.7B, C4/OSCAR, 1-44 epochs): loss curves with unique tokens U", "MIT", "Muennighoff et al. 2023, arXiv:2305.16264; via Choshen et al. 2024"),
    ("olmo", "OLMo 1B/7B/7B-Twin checkpoints: validation losses and downstream accuracies", "MIT", "Groeneveld et al. 2024; via Choshen et al. 2024"),
    ("pythia", "Pythia 70M-12B task accuracies over training checkpoints", "Apache-2.0", "Biderman et al. 2023, arXiv:2304.01373"),
    ("obsscaling", "148 public base LLMs: N, D, FLOPs and 8 benchmark scores", "Apache-2.0", "Ruan et al. 2024, arXiv:2405.10938"),
    ("gpt3", "GPT-3 125M-175B validation-loss curves to 300B tokens (digitised from the paper)", "MIT", "Brown et al. 2020; via Choshen et al. 2024"),
    ("opt", "OPT 125M-175B validation-loss trajectories to 300B tokens", "MIT", "Zhang et al. 2022; Xia et al. 2023; via Choshen et al. 2024"),
):
    register_dataset(DatasetCard(_name, _description, f"{_name}.csv.gz", _licence, _citation))


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
    with resources.files(__name__).joinpath("files", card.filename).open("rb") as handle:
        table = pd.read_csv(handle, compression="gzip" if card.filename.endswith(".gz") else None)
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
