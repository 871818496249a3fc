"""Atomic file writing: a failed or interrupted save never leaves a half-written target.

Every save of the application (images, projects, recipes, scripts, results, model cards) goes
through :func:`atomic_write`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from imgstudio.core.io_medical import ImageIOError


def atomic_write(path: Path, write: Callable[[Path], None], what: str = "image") -> None:
    """Call ``write`` on a file in a temporary directory next to ``path``, then move it in place
    (a failed write never leaves a half-written ``path``).

    The temporary file keeps the target's name so writers that choose the format (or the name of
    a companion data file, as MetaImage ``.mhd`` does) by extension behave as for ``path``.
    Companion files are moved first and the named file last. Errors name ``what`` and ``path``.
    """
    path = Path(path)
    if path.is_dir():
        raise ImageIOError(f"cannot write {what} {path}: it is a directory")
    parent = path.parent
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent))
    try:
        write(tmpdir / path.name)
        produced = sorted(tmpdir.iterdir(), key=lambda item: item.name == path.name)
        if not produced or produced[-1].name != path.name:
            raise ImageIOError(f"cannot write {what} {path}: the writer produced no file")
        for item in produced:
            os.replace(item, parent / item.name)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (recipes, scripts, CSV, JSON results)."""
    atomic_write(Path(path), lambda target: target.write_text(text, encoding="utf-8"), "file")
