"""Shared pieces of the command line: options, output, errors.

The CLI has no logic of its own: it parses, calls public functions, prints
and sets the exit code (0 success, 2 bad input, 1 failed fit).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.text import Text
from rich.table import Table

from ..data.runs import ROLES
from ..errors import InputError

# Piped or redirected output is read later, not in an 80-column window: give tables room so that no cell is folded.
_PIPED_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
stdout = Console(highlight=False, width=_PIPED_WIDTH)
stderr = Console(stderr=True, highlight=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
ColOption = Annotated[
    list[str] | None,
    typer.Option("--col", help=f'Map a role to a column: --col N="Model Size" (repeatable). Roles: {" ".join(ROLES)}.'),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the essential result.")]


def _figure_path(path: Path | None) -> Path | None:
    """--plot's file type is checked as the options are read, before any work whose results the error would discard."""
    if path is not None:
        from ..report.figures import check_figure_path

        check_figure_path(path)
    return path


PlotOption = Annotated[Path | None, typer.Option("--plot", help="Save a figure here (.png, .svg or .pdf).", callback=_figure_path)]


def save_plot(path: Path | None, make: Callable[[], object], *, announce: bool = True) -> None:
    """Draw the figure ``make()`` returns and save it to ``path`` (no-op without a path)."""
    if path is None:
        return
    from ..report.figures import save_figure

    save_figure(make(), path)
    if announce:
        stderr.print(f"saved figure to {path}", soft_wrap=True)


def parse_columns(specs: Sequence[str] | None) -> dict[str, str]:
    """``["N=Model Size", "C=Training FLOP"]`` -> ``{"N": "Model Size", ...}``."""
    out: dict[str, str] = {}
    for spec in specs or ():
        role, sep, column = spec.partition("=")
        if not sep or not role.strip() or not column.strip():
            raise InputError(f"--col expects ROLE=COLUMN (e.g. --col N=\"Model Size\"), got {spec!r}")
        out[role.strip()] = column.strip()
    return out


def parse_number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name} must be a number like 5.76e23, got {text!r}") from None
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite, got {text!r}")
    return value


def parse_size(text: str, name: str) -> float:
    """A number with the size suffixes data files accept: 7e9, 7B, 125m, 1.4T."""
    from ..data.units import parse_quantity

    value = parse_quantity(text.strip())
    if not math.isfinite(value):
        raise InputError(f"{name} must be a number like 7e10 or 7B (suffixes k, M, B, T), got {text.strip()!r}")
    return value


def parse_assignments(specs: Sequence[str], what: str = "input", number: Callable[[str, str], float] = parse_number) -> dict[str, list[float]]:
    """``["N=7e10", "D=1.4e12,2e12"]`` -> ``{"N": [7e10], "D": [1.4e12, 2e12]}``, each value read by ``number(text, name)``.

    A name given twice is an error (the last would silently win).
    """
    out: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise InputError(f"{what} must look like NAME=VALUE (e.g. N=7e10), got {spec!r}")
        if name in out:
            raise InputError(f"{what} gives {name} more than once ({', '.join(s for s in specs if s.partition('=')[0].strip() == name)}); "
                             f"give each name once, with comma-separated values for several (e.g. {name}=1,2)")
        out[name] = [number(v, name) for v in values.split(",")]
    return out


def parse_pairs(specs: str | Sequence[str], option: str, example: str) -> dict[str, float]:
    """``"N=7e9,D=1.4e12"`` (one string, or several) -> ``{"N": 7e9, "D": 1.4e12}``.

    A malformed part, or a name given twice, is an error naming ``option`` and showing ``example``.
    """
    out: dict[str, float] = {}
    for spec in [specs] if isinstance(specs, str) else specs:
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise InputError(f"{option} must look like {example}, got {spec!r}")
            if name.strip() in out:
                raise InputError(f"{option} gives {name.strip()} more than once in {spec!r}; give each once, e.g. {example}")
            out[name.strip()] = parse_number(value.strip(), f"{option} {name.strip()}")
    return out


def json_safe(value: object) -> object:
    """Replace NaN and infinities by null and numpy scalars by Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit_json(document: object) -> None:
    """Write one JSON document on stdout (NaN and infinities as null)."""
    sys.stdout.write(json.dumps(json_safe(document), indent=2, allow_nan=False) + "\n")


def fmt(value: object, digits: int = 6) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}"
    return str(value)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]], *, justify_numbers: bool = True) -> RenderableType:
    """A table with its title on a line of its own (so it never wraps to the table's width)."""
    t = Table(header_style="bold")
    for i, c in enumerate(columns):
        t.add_column(c, justify="right" if justify_numbers and i > 0 else "left", overflow="fold")  # never drop digits
    for row in rows:
        t.add_row(*[fmt(v) for v in row])
    return Group(Text(title, style="bold"), t) if title else t


def print_warnings(items: Iterable[object]) -> None:
    for w in items:
        message = w.message if hasattr(w, "message") else str(w)  # FitWarning or str
        stderr.print(f"[yellow]warning:[/yellow] {escape(message)}")


def print_notes(notes: Iterable[str]) -> None:
    for note in notes:
        stdout.print(f"[dim]note:[/dim] {note}")


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, shown only when enabled and both stdout and stderr are a terminal.

    Silent when output is piped or redirected (and under ``--json``, which
    passes ``enabled=False``). Yields a ``callback(done, total)`` for the
    long-running function.
    """
    if not (enabled and stdout.is_terminal and stderr.is_terminal):
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=stderr, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def fail(message: str, code: int = 2) -> None:
    stderr.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def mapping_rows(mapping: Mapping[str, object]) -> list[tuple[str, object]]:
    return [(k, v) for k, v in mapping.items()]
