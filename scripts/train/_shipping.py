"""What the scripts that train a shipped default share: byte-stable weights files, and
replacing one model's entry in ``imgstudio/models/manifest.json`` without touching the others.

Imported by the scripts beside it (``python scripts/train/NAME.py`` puts this folder first on
``sys.path``).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "imgstudio" / "models" / "manifest.json"


def save_bytes(tensors: dict) -> bytes:
    """``torch.save`` of the tensors (sorted by name) into a buffer: the archive's inner name is
    fixed, so equal tensors give equal bytes."""
    from imgstudio.models import loading

    torch = loading.torch("saving the model")
    buffer = io.BytesIO()
    torch.save({k: tensors[k].contiguous() for k in sorted(tensors)}, buffer)
    return buffer.getvalue()


def write_weights(blob: bytes, out: Path) -> str:
    """Write ``blob`` to ``out`` (through a temporary file beside it); returns its sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_bytes(blob)
    tmp.replace(out)
    return hashlib.sha256(blob).hexdigest()


def update_manifest(entry: dict) -> None:
    """Replace (or add) this model's entry in the shared manifest, leaving the others."""
    doc = json.loads(MANIFEST.read_text(encoding="utf-8"))
    models = [m for m in doc["models"] if m.get("name") != entry["name"]]
    doc["models"] = [*models, entry]
    tmp = MANIFEST.with_name(f".{MANIFEST.name}.part")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(MANIFEST)
