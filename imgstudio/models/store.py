"""The model store: which models exist, where their files are, and whether they are intact.

A model has a name (``efficientnet-lite0``, ``maskrcnn-resnet50-coco``, ...), a file, a sha256,
a format, an architecture, labels, a licence and a source. The known ones are listed in
``manifest.json`` beside this module; a model the user imports gets a card (``NAME.json``)
beside its file in the user's folder, so it is known from then on.

A name is looked up in this order, the first hit winning:

1. ``$IMGSTUDIO_MODELS`` (a folder), then
2. the user's data folder (``$XDG_DATA_HOME/imgstudio/models``, by default
   ``~/.local/share/imgstudio/models``) — in each, a card ``NAME.json`` with its file, or the
   manifest's file name dropped in as is;
3. models shipped with imgstudio (``imgstudio/models/data``) or inside a registry package
   (found by the package's location, without importing it);
4. the torch hub cache (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch``) under
   torchvision's own file names, so weights a user downloaded for torchvision are found offline.

A file is accepted only when its sha256 matches: the manifest's (a full digest, or for
torchvision's files the 8-digit prefix their names carry, as ``torch.hub`` checks) or, for an
imported file, the digest its card recorded at import. Anything else raises
:class:`ModelNotFoundError` naming the model, every folder looked in and the command that
installs it. Nothing here downloads and nothing unpickles (see :mod:`imgstudio.models.loading`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.io import atomic_write, atomic_write_text

__all__ = [
    "FORMATS", "ModelInfo", "Located", "ModelNotFoundError", "cached", "data_folder", "find",
    "folders", "import_file", "known", "manifest", "path", "sha256_of", "verify",
]

MANIFEST = Path(__file__).with_name("manifest.json")
SHIPPED = Path(__file__).with_name("data")
#: File formats the loaders understand (``torch-state-dict`` and ``safetensors`` via torch,
#: ``npz`` via numpy; the others are handed to their library by path).
FORMATS = ("torch-state-dict", "safetensors", "onnx", "npz", "ncnn", "tflite", "dlib", "caffe",
           "darknet", "tensorflow")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
_CARD_FIELDS = ("name", "file", "sha256", "format", "architecture", "labels", "licence", "source")


@dataclass(frozen=True)
class ModelInfo:
    """What the store knows about one model (a manifest entry or an imported model's card)."""

    name: str
    file: str
    sha256: str
    format: str
    architecture: str = ""
    labels: Any = None  # a label-set name ("imagenet", "coco", ...), a list of names, or None
    licence: str = ""
    source: str = ""
    #: ``{"module": ..., "path": ...}``: the file lies inside that installed package.
    package: dict[str, str] | None = None
    #: Files that travel with the main one (ncnn ``.param`` beside its ``.bin``).
    companions: tuple[dict[str, str], ...] = ()
    #: True for torchvision's published weights: also looked for in the torch hub cache.
    torchvision: bool = False
    #: True for weights shipped in ``imgstudio/models/data``.
    shipped: bool = False
    #: What installs it when it comes from a registry package.
    install: str = ""
    #: Where the card came from: "manifest" or the card file's path.
    origin: str = "manifest"
    #: Settings the architecture is built with (a trained model's sizes: ``{"z_dim": 8, ...}``).
    config: dict[str, Any] | None = None
    #: How a model we or the user trained was made: dataset, epochs, seed, measured metrics.
    training: dict[str, Any] | None = None

    @property
    def command(self) -> str:
        """The one command line that makes this model available."""
        if self.install:
            return self.install
        return f"imgstudio models import FILE --name {self.name}"

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in _CARD_FIELDS}
        for key in ("package", "install", "config", "training"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.companions:
            out["companions"] = list(self.companions)
        return out


@dataclass(frozen=True)
class Located:
    """A model found on disk: its card and its (checked) file; ``companions`` beside it."""

    info: ModelInfo
    path: Path
    companions: tuple[Path, ...] = field(default=())
    where: str = ""


def _info(entry: dict[str, Any], origin: str = "manifest") -> ModelInfo:
    try:
        return ModelInfo(
            name=str(entry["name"]), file=str(entry["file"]), sha256=str(entry["sha256"]).lower(),
            format=str(entry["format"]), architecture=str(entry.get("architecture") or ""),
            labels=entry.get("labels"), licence=str(entry.get("licence") or ""),
            source=str(entry.get("source") or ""), package=entry.get("package"),
            companions=tuple(entry.get("companions") or ()),
            torchvision=bool(entry.get("torchvision", False)),
            shipped=bool(entry.get("shipped", False)), install=str(entry.get("install") or ""),
            origin=origin, config=entry.get("config"), training=entry.get("training"),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{origin}: not a model card ({exc})") from None


_manifest_cache: dict[str, ModelInfo] | None = None


def manifest() -> dict[str, ModelInfo]:
    """The models imgstudio knows of by name, from ``manifest.json``."""
    global _manifest_cache
    if _manifest_cache is None:
        doc = json.loads(MANIFEST.read_text(encoding="utf-8"))
        _manifest_cache = {e["name"]: _info(e) for e in doc["models"]}
    return _manifest_cache


# -- folders ----------------------------------------------------------------------------------

def data_folder() -> Path:
    """The user's model folder: ``$XDG_DATA_HOME/imgstudio/models`` (``~/.local/share/...``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "imgstudio" / "models"


def hub_folder() -> Path:
    """torch.hub's checkpoint folder, computed as torch does but without importing it."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def user_folders() -> list[Path]:
    """The folders holding cards and dropped-in files, in lookup order."""
    out = []
    if os.environ.get("IMGSTUDIO_MODELS"):
        out.append(Path(os.environ["IMGSTUDIO_MODELS"]).expanduser())
    out.append(data_folder())
    return out


def _package_folder(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def folders(info: ModelInfo | None = None) -> list[str]:
    """Every place looked in for ``info`` (or for any model), in lookup order, as text."""
    out = [str(p) for p in user_folders()]
    if info is None or info.shipped:
        out.append(str(SHIPPED))
    if info is not None and info.package:
        root = _package_folder(info.package["module"])
        out.append(str(root / Path(info.package["path"]).parent) if root
                   else f"the {info.package['module']} package (not installed)")
    if info is None or info.torchvision:
        out.append(str(hub_folder()))
    return out


# -- checksums --------------------------------------------------------------------------------

_digests: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def sha256_of(path: Path) -> str:
    """The file's sha256 (hex), cached by path, size and modification time."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key in _digests:
            return _digests[key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    with _digest_lock:
        _digests[key] = value
    return value


def _matches(path: Path, expected: str) -> bool:
    return bool(expected) and sha256_of(path).startswith(expected.lower())


# -- cards ------------------------------------------------------------------------------------

def _cards(folder: Path) -> dict[str, ModelInfo]:
    out: dict[str, ModelInfo] = {}
    if not folder.is_dir():
        return out
    for card in sorted(folder.glob("*.json")):
        try:
            info = _info(json.loads(card.read_text(encoding="utf-8")), origin=str(card))
        except (OSError, ValueError):
            continue  # a broken card is reported by `verify`, never fatal for the others
        if info.name == card.stem:
            out[info.name] = info
    return out


def known() -> dict[str, ModelInfo]:
    """Every model by name: the manifest's plus those imported into the user folders.

    A card in a user folder for a manifest name describes the user's own file (say, weights
    they trained for ``maskrcnn-resnet50-coco``) and takes precedence, like the lookup order.
    """
    out = dict(manifest())
    for folder in reversed(user_folders()):
        out.update(_cards(folder))
    return dict(sorted(out.items()))


def _not_found(info: ModelInfo, why: str, tried: list[str]) -> ModelNotFoundError:
    where = "; ".join(tried)
    return ModelNotFoundError(
        f"model {info.name!r} {why} (looked in: {where}); install it with: {info.command}",
        name=info.name, command=info.command, folders=tuple(tried))


def _with_companions(info: ModelInfo, path: Path, where: str) -> Located | None:
    comps = []
    for comp in info.companions:
        p = path.with_name(comp["file"])
        if not p.is_file() or not _matches(p, comp.get("sha256", "")):
            return None
        comps.append(p)
    return Located(info, path, tuple(comps), where)


def find(name: str) -> Located:
    """Locate and checksum model ``name``; :class:`ModelNotFoundError` when absent or corrupt."""
    base = manifest().get(name)
    candidates: list[tuple[ModelInfo, Path, str]] = []
    for folder in user_folders():
        card = _cards(folder).get(name)
        if card is not None:
            candidates.append((card, folder / card.file, str(folder)))
        if base is not None:
            candidates.append((base, folder / base.file, str(folder)))
    if base is None and not candidates:
        close = sorted(n for n in known() if n.split("-")[0] == name.split("-")[0])
        hint = f"; known models like it: {', '.join(close)}" if close else ""
        raise ModelNotFoundError(
            f"unknown model {name!r}{hint}; list them with: imgstudio models list, or add your "
            f"own with: imgstudio models import FILE --name {name}",
            name=name, command=f"imgstudio models import FILE --name {name}",
            folders=tuple(folders()))
    if base is not None:
        if base.shipped:
            candidates.append((base, SHIPPED / base.file, str(SHIPPED)))
        if base.package:
            root = _package_folder(base.package["module"])
            if root is not None:
                candidates.append((base, root / base.package["path"], base.package["module"]))
        if base.torchvision:
            candidates.append((base, hub_folder() / base.file, str(hub_folder())))
    info = candidates[0][0] if candidates else base
    tried: list[str] = []
    corrupt: list[str] = []
    for card, path, where in candidates:
        if where not in tried:
            tried.append(where)
        if not path.is_file():
            continue
        if not _matches(path, card.sha256):
            corrupt.append(str(path))
            continue
        located = _with_companions(card, path, where)
        if located is not None:
            return located
        corrupt.append(f"{path} (companion files missing or changed)")
    assert info is not None
    if corrupt:
        raise _not_found(info, "fails its sha256 check: " + ", ".join(corrupt), tried)
    return_tried = tried or folders(info)
    raise _not_found(info, "is not installed", return_tried)


def path(name: str) -> Path:
    """The checked file of model ``name``."""
    return find(name).path


def verify(names: list[str] | None = None) -> list[tuple[str, str, str]]:
    """``(name, status, detail)`` for each model: ``ok`` (detail: its path), ``missing`` or
    ``corrupt`` (detail: the error)."""
    out = []
    for name in names or list(known()):
        try:
            out.append((name, "ok", str(find(name).path)))
        except ModelNotFoundError as exc:
            status = "corrupt" if "sha256" in str(exc) else "missing"
            out.append((name, status, str(exc)))
    return out


def import_file(
    source: str | os.PathLike[str],
    name: str,
    *,
    format: str | None = None,
    architecture: str | None = None,
    labels: Any = None,
    licence: str | None = None,
    folder: Path | None = None,
    companions: list[str | os.PathLike[str]] | None = None,
    config: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    source_text: str | None = None,
) -> Located:
    """Copy ``source`` into the user's model folder as model ``name`` and write its card.

    For a manifest name the format, architecture, labels and licence default to the
    manifest's, so weights of one's own for ``maskrcnn-resnet50-coco`` plug into the op that
    uses it. The card records the file's sha256; a later change to the file is refused.
    """
    src = Path(source).expanduser()
    if not _NAME.match(name):
        raise ValueError(f"model name must be letters, digits and ._+- (up to 100); got {name!r}")
    if not src.is_file():
        raise ValueError(f"model file not found: {src}")
    base = manifest().get(name)
    fmt = format or (base.format if base else _guess_format(src))
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    _check_loadable(src, fmt)
    target_folder = Path(folder) if folder is not None else user_folders()[0]
    target_folder.mkdir(parents=True, exist_ok=True)
    file_name = f"{name}{''.join(src.suffixes[-1:]) or '.bin'}"
    comp_cards = []
    for comp in companions or ():
        cp = Path(comp).expanduser()
        if not cp.is_file():
            raise ValueError(f"companion file not found: {cp}")
        comp_name = f"{name}{cp.suffix}"
        _copy(cp, target_folder / comp_name)
        comp_cards.append({"file": comp_name, "sha256": sha256_of(target_folder / comp_name)})
    _copy(src, target_folder / file_name)
    info = ModelInfo(
        name=name, file=file_name, sha256=sha256_of(target_folder / file_name), format=fmt,
        architecture=architecture or (base.architecture if base else ""),
        labels=labels if labels is not None else (base.labels if base else None),
        licence=licence or (base.licence if base else "unknown (imported by the user)"),
        source=source_text or f"imported from {src}", companions=tuple(comp_cards),
        origin=str(target_folder / f"{name}.json"),
        config=config if config is not None else (base.config if base else None),
        training=training,
    )
    atomic_write_text(target_folder / f"{name}.json", json.dumps(info.to_json(), indent=1) + "\n")
    return Located(info, target_folder / file_name,
                   tuple(target_folder / c["file"] for c in comp_cards), str(target_folder))


def _copy(src: Path, dst: Path) -> None:
    atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp), "model file")


def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".pth": "torch-state-dict", ".pt": "torch-state-dict", ".safetensors": "safetensors",
            ".onnx": "onnx", ".npz": "npz", ".tflite": "tflite", ".dat": "dlib",
            ".caffemodel": "caffe", ".weights": "darknet", ".pb": "tensorflow",
            ".bin": "ncnn"}.get(suffix, "")


def _check_loadable(path: Path, fmt: str) -> None:
    """Refuse at import a file that cannot be what it claims, before it is copied."""
    head = path.read_bytes()[:8] if path.stat().st_size else b""
    if not head:
        raise ValueError(f"model file is empty: {path}")
    if fmt == "torch-state-dict" and not head.startswith(b"PK"):
        raise ValueError(f"{path}: not a torch state dict saved by torch.save (zip format); "
                         "old pickle-only files are refused because loading them runs code")
    if fmt == "npz" and not head.startswith(b"PK"):
        raise ValueError(f"{path}: not an .npz archive")


# -- loaded models, kept per process ----------------------------------------------------------

_loaded: dict[tuple, tuple[Any, threading.Lock]] = {}
_loaded_lock = threading.Lock()


def cached(key: tuple, factory: Callable[[], Any]) -> tuple[Any, threading.Lock, bool]:
    """The object ``factory()`` built once per process for ``key``, its lock, and whether this
    call built it (so a caller can say "loading model…" the first time)."""
    with _loaded_lock:
        entry = _loaded.get(key)
    if entry is not None:
        return entry[0], entry[1], False
    value = factory()  # outside the lock: loading a model can take seconds
    with _loaded_lock:
        entry = _loaded.setdefault(key, (value, threading.Lock()))
    return entry[0], entry[1], True


def forget() -> None:
    """Drop every loaded model (tests; after an import replaced a file)."""
    global _manifest_cache
    with _loaded_lock:
        _loaded.clear()
    _manifest_cache = None


def with_labels(info: ModelInfo, labels: Any) -> ModelInfo:
    return replace(info, labels=labels)
