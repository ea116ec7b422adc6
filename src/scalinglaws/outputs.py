"""Where results are written: one rule for every file the package saves."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def output_path(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Return ``path`` ready to write: its folder created if missing; an existing folder at ``path`` is an error."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"the {what} path {os.fspath(path)!r} is a folder; give a file name inside it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder for the {what} {os.fspath(path)!r}: {exc.strerror or exc}") from exc
    return target
