"""Crash recovery: a copy of the open document written in the background after edits.

The editor snapshots the document (copies of the layer data, taken on the UI thread so later
edits cannot tear it) and writes it as an ordinary ``.imgs`` project under the recovery folder,
atomically. A clean save, close or discard deletes it; files left behind after a crash are
offered at the next start.
"""

from __future__ import annotations

import copy
import os
import uuid
from pathlib import Path

from imgstudio.core.document import LAYER_CLASSES, Document
from imgstudio.core.project import PROJECT_EXTENSION, save_project
from imgstudio.core.recipe import Recipe


def recovery_dir() -> Path:
    """``$IMGSTUDIO_RECOVERY_DIR`` or ``$XDG_STATE_HOME/imgstudio/recovery``."""
    explicit = os.environ.get("IMGSTUDIO_RECOVERY_DIR")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "imgstudio" / "recovery"


def new_recovery_path() -> Path:
    return recovery_dir() / f"recovery-{uuid.uuid4().hex[:12]}{PROJECT_EXTENSION}"


def snapshot(document: Document) -> Document:
    """An independent copy of ``document`` (same ids, names, properties and data)."""
    layers = []
    for layer in document:
        props = layer.properties()
        extra = {k: props.pop(k) for k in list(props) if k not in
                 ("name", "visible", "opacity", "blend_mode")}
        data = copy.deepcopy(layer.data)
        clone = LAYER_CLASSES[layer.kind](data, props.pop("name"), layer_id=layer.id, **props)
        for key, value in extra.items():
            setattr(clone, key, value)
        layers.append(clone)
    out = Document(layers)
    if document.active is not None:
        out.active = out[document.active.id]
    return out


def write_recovery(path: str | os.PathLike[str], document: Document,
                   recipe: Recipe, source: str | None) -> None:
    """Write a snapshot (see :func:`snapshot`) as a project; safe to call off the UI thread."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_project(path, document, recipe, {"recovered_from": source or ""})


def recovery_files() -> list[Path]:
    """Recovery projects left by earlier sessions, newest first."""
    folder = recovery_dir()
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob(f"recovery-*{PROJECT_EXTENSION}") if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)
