"""Project files (``*.imgs``): a zip of ``manifest.json`` plus one lossless file per layer.

Raster and point data are stored with ``numpy.save(allow_pickle=False)`` (exact for every
dtype); shapes live in the manifest. Nothing is ever unpickled. Saving goes through
:func:`imgstudio.core.atomic.atomic_write`: the zip is written next to the target and renamed
over it.

Reading trusts nothing in the file, and checks sizes and types *before* it reads:

- only a regular file is opened; every zip member used must be stored or deflated (the methods
  the writer uses: bzip2/LZMA are refused because zipfile decompresses them without a bound),
  unencrypted, and named once in the zip;
- ``manifest.json`` is at most :data:`MAX_MANIFEST_BYTES`, nested at most
  :data:`~imgstudio.core.untrusted.MAX_DEPTH` levels, and every field has its exact type
  (``visible`` a bool, ``opacity`` a number in [0, 1], names strings, ids unique ...);
- a layer file's ``.npy`` header is read first: a plain numeric dtype, the shape the layer kind
  needs, exactly as many bytes as the member holds, the image size within
  :func:`~imgstudio.core.limits.check_pixels`, and all layers together within
  :func:`max_project_bytes` — only then is the data read, into an array of that size;
- each member backs one layer at most, and at most :data:`MAX_LAYERS` layers are read.

Every failure is a :class:`ProjectError` naming the file and the problem. Layers may differ in
size (a geometry op changes the one layer it runs on, so the editor writes such documents).
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from imgstudio.core.atomic import atomic_write
from imgstudio.core.document import (
    BLEND_MODES,
    LAYER_CLASSES,
    Document,
    Layer,
    Shape,
    ShapesLayer,
)
from imgstudio.core.limits import check_pixels, max_pixels
from imgstudio.core.recipe import Recipe, RecipeError, recipe_from_json
from imgstudio.core.types import LayerKind, check_image, check_labels
from imgstudio.core.untrusted import UntrustedFileError, loads, open_regular

PROJECT_FORMAT = "imgstudio-project"
PROJECT_VERSION = 2  # 2: the recipe is a version-2 recipe with its layer ids
PROJECT_EXTENSION = ".imgs"

MAX_MANIFEST_BYTES = 32 * 2**20
"""Largest ``manifest.json`` read (100 000 layers take about 15 MiB)."""
MAX_LAYERS = 100_000
"""Most layers a project may hold."""
PROJECT_BYTES_ENV = "IMGSTUDIO_MAX_PROJECT_BYTES"
SHAPE_KINDS = ("box", "polygon", "polyline")

_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_OTHER_METHODS = {**zipfile.compressor_names, 93: "zstd", 95: "xz", 96: "JPEG", 99: "AES"}
_ENCRYPTED, _PATCHED, _STRONG = 1 << 0, 1 << 5, 1 << 6
_CHUNK = 1 << 24


class ProjectError(ValueError):
    """A project file that cannot be read; the message names the file."""


@dataclass
class Project:
    """What a project file holds besides the layers: the history's recipe (with the id of
    each layer it names, ``recipe.layer_ids``) and the view state."""

    document: Document
    recipe: Recipe = field(default_factory=Recipe)
    view: dict[str, Any] = field(default_factory=dict)


def max_project_bytes() -> int:
    """The most memory the layers of one project may take when read:
    ``$IMGSTUDIO_MAX_PROJECT_BYTES``, by default 16 bytes per pixel of the image-size limit
    (one float32 RGBA image of :func:`~imgstudio.core.limits.max_pixels` pixels: 6.4 GB)."""
    value = os.environ.get(PROJECT_BYTES_ENV, "").strip()
    if not value:
        return 16 * max_pixels()
    try:
        limit = int(float(value))
    except (ValueError, OverflowError):
        raise ValueError(f"{PROJECT_BYTES_ENV} must be a number of bytes; got {value!r}") from None
    if limit < 1:
        raise ValueError(f"{PROJECT_BYTES_ENV} must be >= 1; got {value!r}")
    return limit


# -- writing ----------------------------------------------------------------------------------
def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def save_project(
    path: str | os.PathLike[str],
    document: Document,
    recipe: Recipe | None = None,
    view: dict[str, Any] | None = None,
) -> None:
    """Write ``document`` (and the history's recipe and the view state) to ``path``
    atomically."""
    recipe = recipe if recipe is not None else Recipe()

    def write(target: Path) -> None:
        layers_meta = []
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                             compresslevel=1) as zf:
            for n, layer in enumerate(document):
                meta: dict[str, Any] = {"id": layer.id, "kind": layer.kind.value,
                                        **layer.properties()}
                if isinstance(layer, ShapesLayer):
                    meta["shapes"] = [s.to_json() for s in layer.data]
                else:
                    name = f"layers/{n:04d}.npy"
                    zf.writestr(name, _npy_bytes(np.asarray(layer.data)))
                    meta["file"] = name
                layers_meta.append(meta)
            manifest = {
                "format": PROJECT_FORMAT,
                "version": PROJECT_VERSION,
                "layers": layers_meta,
                "active": document.active.id if document.active is not None else None,
                "recipe": recipe.to_json(),
                "recipe_layers": dict(recipe.layer_ids),
                "view": dict(view or {}),
            }
            zf.writestr("manifest.json", json.dumps(manifest, indent=1))

    atomic_write(Path(os.fspath(path)), write, "project")


# -- reading ----------------------------------------------------------------------------------
class _Bad(Exception):
    """Raised inside the reader with the reason; :func:`load_project` adds the file."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _gib(n: float) -> str:
    """A size in bytes for messages: GiB, MiB or bytes."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} bytes"


class _Reader:
    """One pass over an open zip: members checked before they are read, a memory budget for
    all layers together, each member used once."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            if info.filename in self.infos:
                raise _Bad(f"the zip holds two members named {info.filename!r}")
            self.infos[info.filename] = info
        self.used: dict[str, str] = {}  # member -> the layer that read it
        self.budget = max_project_bytes()
        self.total = 0

    # -- members ------------------------------------------------------------------------------
    def member(self, name: str, what: str) -> zipfile.ZipInfo:
        """The zip entry ``name``, refused unless it is readable without surprises."""
        where = f"{what}: the member {name!r}" if what != name else name
        info = self.infos.get(name)
        if info is None:
            raise _Bad(f"{where} is missing")
        if info.flag_bits & (_ENCRYPTED | _STRONG):
            raise _Bad(f"{where} is encrypted")
        if info.flag_bits & _PATCHED:
            raise _Bad(f"{where} is patch data")
        if info.compress_type not in _METHODS:
            method = _OTHER_METHODS.get(info.compress_type, "unknown")
            raise _Bad(f"{where} uses compression method {info.compress_type} ({method}); "
                       "projects use only stored or deflate")
        return info

    def manifest(self) -> dict[str, Any]:
        if "manifest.json" not in self.infos:
            raise _Bad("manifest.json is missing")
        info = self.member("manifest.json", "manifest.json")
        if info.file_size > MAX_MANIFEST_BYTES:
            raise _Bad(f"manifest.json declares {_gib(info.file_size)}, more than the "
                       f"{_gib(MAX_MANIFEST_BYTES)} allowed")
        with _damaged("manifest.json"), self.zf.open(info) as fh:
            text = fh.read(MAX_MANIFEST_BYTES + 1)
        try:
            manifest = loads(text)
        except UntrustedFileError as exc:
            raise _Bad(f"manifest.json: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != PROJECT_FORMAT:
            raise _Bad("not an imgstudio project")
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _Bad(f"format version must be a whole number >= 1; got {_short(version)}")
        if version > PROJECT_VERSION:
            raise _Bad(f"format version {version} is newer than this imgstudio supports "
                       f"({PROJECT_VERSION})")
        return manifest

    def array(self, name: Any, kind: LayerKind, what: str) -> np.ndarray:
        """The layer file ``name``: its ``.npy`` header checked against the layer kind, the
        size limit, the member's size and the budget, then its data read."""
        if not isinstance(name, str) or not name:
            raise _Bad(f"{what}: file must be the name of a zip member; got {_short(name)}")
        if name in self.used:
            raise _Bad(f"{what}: the member {name!r} is already the data of {self.used[name]}")
        info = self.member(name, what)
        self.used[name] = what
        where = f"{what}: the member {name!r}"
        with _damaged(where), self.zf.open(info) as fh:
            shape, fortran, dtype, offset = _npy_header(fh, where)
            memory = _check_header(kind, shape, dtype, what)
            nbytes = math.prod(shape) * dtype.itemsize
            if offset + nbytes != info.file_size:
                raise _Bad(f"{where} holds {info.file_size} bytes, but its header declares "
                           f"{dtype} data of shape {shape} ({offset + nbytes} bytes)")
            if self.total + memory > self.budget:
                raise _Bad(f"{what}: the layers would take {_gib(self.total + memory)} in "
                           f"memory, more than the limit of {_gib(self.budget)}; set "
                           f"{PROJECT_BYTES_ENV} to raise it")
            self.total += memory
            return _read_data(fh, shape, fortran, dtype, nbytes, what)


#: What reading a zip member may raise when its bytes are damaged: zipfile's own errors (a bad
#: CRC, a header that does not match), a corrupt deflate stream, a short read.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, EOFError, OSError, zlib.error, struct.error, NotImplementedError,
    RuntimeError)


def _describe(exc: BaseException) -> str:
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else \
        f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"
    return f"{name}: {exc}" if str(exc) else name


@contextmanager
def _damaged(what: str) -> Iterator[None]:
    """Report a data error while reading a member as ``what`` being damaged."""
    try:
        yield
    except _DATA_ERRORS as exc:
        raise _Bad(f"{what} is damaged ({_describe(exc)})") from None


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, data offset)`` of an ``.npy`` stream (versions 1 and 2;
    never unpickles: object dtypes are refused by :func:`_check_header`)."""
    try:
        version = npy_format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(fh)
        else:
            raise _Bad(f"{where} is .npy format version {version}; only 1.0 and 2.0 are read")
    except (ValueError, SyntaxError, TypeError, OverflowError, MemoryError, RecursionError) as exc:
        # numpy's header parser: a bad magic or dict, an unknown dtype string
        raise _Bad(f"{where} is not a valid .npy file ({exc})") from None
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise _Bad(f"{where} declares the shape {_short(shape)}")
    return tuple(shape), bool(fortran), dtype, fh.tell()


def _check_header(kind: LayerKind, shape: tuple[int, ...], dtype: np.dtype, what: str) -> int:
    """Check a layer's declared shape and dtype before its data is read; returns the memory
    the layer will take."""
    if (dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None
            or dtype.kind not in "biuf" or dtype.itemsize > 8):
        raise _Bad(f"{what}: data type {dtype.str!r} is not a plain number type")
    native = dtype.newbyteorder("=")
    try:
        if kind == LayerKind.IMAGE:
            if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (3, 4)):
                raise _Bad(f"{what}: an image layer has shape (H, W), (H, W, 3) or (H, W, 4); "
                           f"got {shape}")
            check_image(np.zeros((1, 1, *shape[2:]), native), what)
            channels = shape[2] if len(shape) == 3 else 1
            check_pixels(shape[0], shape[1], what=what, channels=channels,
                         itemsize=dtype.itemsize)
            return math.prod(shape) * dtype.itemsize
        if kind == LayerKind.LABELS:
            if len(shape) != 2:
                raise _Bad(f"{what}: a labels layer has shape (H, W); got {shape}")
            check_labels(np.zeros((1, 1), native), what)
            check_pixels(shape[0], shape[1], what=what, itemsize=max(dtype.itemsize, 4))
            return math.prod(shape) * max(dtype.itemsize, 4)  # small types become int32
        # points
        if dtype.kind not in "iuf" or len(shape) != 2 or shape[1] != 2:
            raise _Bad(f"{what}: a points layer holds numbers of shape (N, 2); got {dtype} "
                       f"{shape}")
        return math.prod(shape) * 8 * 2  # read, then copied as float64
    except ValueError as exc:  # check_image, check_labels, check_pixels
        raise _Bad(str(exc)) from None


def _read_data(fh: IO[bytes], shape: tuple[int, ...], fortran: bool, dtype: np.dtype,
               nbytes: int, what: str) -> np.ndarray:
    """Read ``nbytes`` into a new array of ``shape`` (in chunks: no second copy), native
    byte order."""
    try:
        buf = np.empty(nbytes, np.uint8)
    except MemoryError:
        raise _Bad(f"{what}: not enough memory for its {_gib(nbytes)}") from None
    filled = 0
    while filled < nbytes:
        chunk = fh.read(min(_CHUNK, nbytes - filled))
        if not chunk:
            raise _Bad(f"{what}: the layer data is truncated")
        buf[filled:filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
        filled += len(chunk)
    array = buf.view(dtype).reshape(shape, order="F" if fortran else "C")
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


# -- the manifest's fields --------------------------------------------------------------------
def _layer(reader: _Reader, n: int, meta: Any, ids: dict[str, int]) -> Layer:
    what = f"layer {n}"
    if not isinstance(meta, dict):
        raise _Bad(f"{what} must be an object; got {_short(meta)}")
    kind_value = meta.get("kind")
    kinds = [k.value for k in LayerKind]
    if not isinstance(kind_value, str) or kind_value not in kinds:
        raise _Bad(f"{what}: kind must be one of {', '.join(kinds)}; got {_short(kind_value)}")
    kind = LayerKind(kind_value)
    name = meta.get("name", "")
    if not isinstance(name, str):
        raise _Bad(f"{what}: name must be a string; got {_short(name)}")
    what = f"layer {n} ({name!r})" if name else what
    layer_id = meta.get("id")
    if layer_id is not None:
        if not isinstance(layer_id, str) or not layer_id:
            raise _Bad(f"{what}: id must be a non-empty string; got {_short(layer_id)}")
        if layer_id in ids:
            raise _Bad(f"{what}: id {layer_id!r} is also the id of layer {ids[layer_id]}")
        ids[layer_id] = n
    visible = meta.get("visible", True)
    if not isinstance(visible, bool):
        raise _Bad(f"{what}: visible must be true or false; got {_short(visible)}")
    opacity = meta.get("opacity", 1.0)
    if not _is_number(opacity) or not 0.0 <= opacity <= 1.0:
        raise _Bad(f"{what}: opacity must be a number in [0, 1]; got {_short(opacity)}")
    blend_mode = meta.get("blend_mode", "normal")
    if not isinstance(blend_mode, str) or blend_mode not in BLEND_MODES:
        raise _Bad(f"{what}: blend_mode must be one of {', '.join(BLEND_MODES)}; "
                   f"got {_short(blend_mode)}")
    contours = meta.get("contours", False)
    if not isinstance(contours, bool):
        raise _Bad(f"{what}: contours must be true or false; got {_short(contours)}")
    if kind == LayerKind.SHAPES:
        if "file" in meta:
            raise _Bad(f"{what}: a shapes layer keeps its shapes in the manifest, not in a file")
        data: Any = _shapes(meta.get("shapes", []), what)
    else:
        if "shapes" in meta:
            raise _Bad(f"{what}: only a shapes layer has shapes")
        data = reader.array(meta.get("file"), kind, what)
    try:
        layer = LAYER_CLASSES[kind](data, name, visible=visible, opacity=float(opacity),
                                    blend_mode=blend_mode, layer_id=layer_id)
    except ValueError as exc:
        raise _Bad(f"{what}: {exc}") from None
    if kind == LayerKind.LABELS:
        layer.contours = contours
    return layer


def _shapes(data: Any, what: str) -> list[Shape]:
    if not isinstance(data, list):
        raise _Bad(f"{what}: shapes must be a list; got {_short(data)}")
    shapes = []
    for j, item in enumerate(data):
        where = f"{what}: shape {j}"
        if not isinstance(item, dict):
            raise _Bad(f"{where} must be an object; got {_short(item)}")
        kind = item.get("kind")
        if not isinstance(kind, str) or kind not in SHAPE_KINDS:
            raise _Bad(f"{where}: kind must be one of {', '.join(SHAPE_KINDS)}; "
                       f"got {_short(kind)}")
        points = item.get("points")
        if not isinstance(points, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(_is_number(c) for c in p)
                for p in points):
            raise _Bad(f"{where}: points must be a list of [x, y] numbers; got {_short(points)}")
        if kind == "box" and len(points) != 2:
            raise _Bad(f"{where}: a box has 2 corners; got {len(points)} points")
        text = item.get("text", "")
        if not isinstance(text, str):
            raise _Bad(f"{where}: text must be a string; got {_short(text)}")
        score = item.get("score")
        if score is not None and not _is_number(score):
            raise _Bad(f"{where}: score must be a number or null; got {_short(score)}")
        color = item.get("color")
        if color is not None and not isinstance(color, str):
            raise _Bad(f"{where}: color must be a string or null; got {_short(color)}")
        extra = item.get("extra", {})
        if not isinstance(extra, dict):
            raise _Bad(f"{where}: extra must be an object; got {_short(extra)}")
        try:
            array = np.asarray(points, dtype=float).reshape(-1, 2)
        except OverflowError:  # an integer too large for a float
            array = np.full((1, 2), np.inf)
        if not np.isfinite(array).all():
            raise _Bad(f"{where}: points must be finite [x, y] numbers")
        shapes.append(Shape(kind, array, text, None if score is None else float(score),
                            color, dict(extra)))
    return shapes


def _recipe(manifest: dict[str, Any]) -> Recipe:
    data = manifest.get("recipe")
    if data is None or data == {}:
        return Recipe()
    try:
        recipe = recipe_from_json(data)
    except RecipeError as exc:
        raise _Bad(f"its recipe: {exc}") from None
    ids = manifest.get("recipe_layers", {})
    if ids is None:
        ids = {}
    if not isinstance(ids, dict) or not all(isinstance(v, str) for v in ids.values()):
        raise _Bad("recipe_layers must map layer names to ids")
    return Recipe(recipe.sources, recipe.steps, recipe.result, dict(ids))


def _view(manifest: dict[str, Any]) -> dict[str, Any]:
    view = manifest.get("view", {})
    if view is None:
        view = {}
    if not isinstance(view, dict):
        raise _Bad(f"view must be an object; got {_short(view)}")
    recovered = view.get("recovered_from", "")
    if not isinstance(recovered, str):
        raise _Bad(f"view: recovered_from must be a string; got {_short(recovered)}")
    return dict(view)


def _read(zf: zipfile.ZipFile) -> Project:
    reader = _Reader(zf)
    manifest = reader.manifest()
    metas = manifest.get("layers", [])
    if not isinstance(metas, list):
        raise _Bad(f"layers must be a list; got {_short(metas)}")
    if len(metas) > MAX_LAYERS:
        raise _Bad(f"it lists {len(metas)} layers; at most {MAX_LAYERS} are read")
    ids: dict[str, int] = {}
    layers = [_layer(reader, n, meta, ids) for n, meta in enumerate(metas)]
    recipe = _recipe(manifest)
    view = _view(manifest)
    active = manifest.get("active")
    if active is not None and not (isinstance(active, str) and active in ids):
        raise _Bad(f"active must be the id of one of its layers or null; got {_short(active)}")
    document = Document(layers)
    if active is not None:
        document.active = document[active]
    return Project(document, recipe, view)


#: What opening a zip may raise for a damaged file (a bad central directory, a short read).
_FILE_ERRORS: tuple[type[BaseException], ...] = (
    *_DATA_ERRORS, zipfile.LargeZipFile, ValueError, OverflowError)


def _open_zip(fh: IO[bytes]) -> zipfile.ZipFile:
    """The zip in ``fh`` (its central directory read); zipfile's refusals as reasons."""
    try:
        return zipfile.ZipFile(fh)
    except NotImplementedError as exc:  # an entry needing a newer zip version
        raise _Bad(f"it needs a zip feature imgstudio cannot read ({exc})") from None
    except UnicodeDecodeError:  # a name flagged UTF-8 that is not
        raise _Bad("a member's name is not valid UTF-8") from None


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a project written by :func:`save_project`; ``ProjectError`` naming the file and
    the problem for anything wrong with it (see the module docstring for what is checked)."""
    path = os.fspath(path)
    fail: Callable[[str], ProjectError] = lambda reason: ProjectError(  # noqa: E731
        f"cannot open project {path}: {reason}")
    try:
        fh = open_regular(path)
    except UntrustedFileError as exc:
        raise fail(str(exc)) from None
    try:
        with fh, _open_zip(fh) as zf:
            return _read(zf)
    except _Bad as exc:
        raise fail(str(exc)) from None
    except MemoryError:
        raise fail("not enough memory to read it") from None
    except RecursionError:
        raise fail("it is nested too deeply to read") from None
    except _FILE_ERRORS as exc:
        raise fail(_describe(exc)) from None
