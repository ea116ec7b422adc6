"""The ``scalinglaws`` command line."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from ..errors import FitError, InputError, ScalingLawsError
from . import core, curves, data, demo, design, evaluate, hparams, observational, passuntil, planning, report, sweep, task
from .common import stderr

app = typer.Typer(
    name="scalinglaws",
    help="Fit scaling laws to training runs, forecast big runs, plan compute.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Each module contributes its subcommands; add new ones here.
for module in (core, curves, data, demo, design, evaluate, hparams, observational, passuntil, planning, report, sweep, task):
    app.registered_commands.extend(module.app.registered_commands)
    app.registered_groups.extend(module.app.registered_groups)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning our errors into one line and an exit code."""
    try:
        app(args=argv, prog_name="scalinglaws")
    except InputError as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    except (FitError, ScalingLawsError) as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(1)
    except OSError as exc:  # a file that cannot be read or written: say which and why, as one line
        where = f": {exc.filename}" if exc.filename else ""
        stderr.print(f"[red]error:[/red] {escape((exc.strerror or str(exc)) + where)}", soft_wrap=True)
        sys.exit(2)


__all__ = ["app", "main"]
