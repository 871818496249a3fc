"""Undo/redo: commands that record what reverses them, kept within a byte budget.

Every undoable change is a :class:`Command`. Pixel edits (:class:`SetPixels`) keep only the
changed part of the image, tile by tile, zlib-compressed, so undo memory and undo/redo time
grow with the changed pixels, never with the image. :class:`History` holds the commands, spills
the oldest payloads to disk past ``budget_bytes`` and drops the oldest steps, with a ``notice``,
past ``spill_budget_bytes``. Commands carrying a :class:`~imgstudio.core.recipe.RecipeStep`
make the history double as a replayable recipe.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import shutil
import tempfile
import threading
import uuid
import weakref
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from imgstudio.core.document import Document, Layer
from imgstudio.core.events import Signal
from imgstudio.core.recipe import RecipeStep
from imgstudio.core.types import LayerKind

Region = tuple[int, int, int, int]

TILE = 256  # side of the comparison tiles of SetPixels
_ZLEVEL = 1  # fast; pixel edits are stored once and rarely read
_CHUNK = 1 << 20  # raw bytes per independently compressed chunk
_PARALLEL_MIN = 4 << 20  # raw bytes from which chunks are (de)compressed on several threads
_PROPERTIES = ("name", "visible", "opacity", "blend_mode")


# -- payload storage --------------------------------------------------------------------------
class _Blob:
    """Compressed chunks held in memory or, after :meth:`spill`, in one file; read on demand."""

    __slots__ = ("_data", "_path", "size", "ends")

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self._data: bytes | None = b"".join(chunks)
        self._path: str | None = None
        self.size = len(self._data)
        self.ends = list(itertools.accumulate(len(c) for c in chunks))

    @property
    def nbytes(self) -> int:
        return self.size if self._data is not None else 0

    @property
    def spilled_bytes(self) -> int:
        return self.size if self._path is not None else 0

    def spill(self, dirpath: str) -> int:
        if self._data is None or self.size == 0:
            return 0
        path = os.path.join(dirpath, f"{uuid.uuid4().hex}.undo")
        try:
            with open(path, "wb") as f:
                f.write(self._data)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(path)
            raise
        self._path, self._data = path, None
        return self.size

    def read(self) -> list[memoryview]:
        """The compressed chunks."""
        data = self._data
        if data is None:
            if self._path is None:
                raise RuntimeError("this undo step was discarded")
            try:
                with open(self._path, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise RuntimeError(
                    f"undo data in {self._path} can no longer be read: {exc}"
                ) from exc
            if len(data) != self.size:
                raise RuntimeError(f"undo data in {self._path} is truncated")
        view = memoryview(data)
        starts = [0, *self.ends[:-1]] if self.ends else []
        return [view[a:b] for a, b in zip(starts, self.ends, strict=True)]

    def discard(self) -> None:
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.remove(self._path)
        self._data = self._path = None


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _map(fn: Callable[[Any], Any], items: Sequence[Any], nbytes: int) -> list[Any]:
    """``[fn(i) for i in items]``, on a few threads when there is enough work (zlib frees the GIL)."""
    global _pool
    workers = min(8, os.cpu_count() or 1)
    if nbytes < _PARALLEL_MIN or len(items) < 2 or workers < 2:
        return [fn(i) for i in items]
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="imgstudio-undo")
    return list(_pool.map(fn, items))


def _pixel_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape[2:], dtype=np.int64)) * np.dtype(dtype).itemsize


def _chunks(rects: Sequence[Region], pixel_bytes: int) -> list[tuple[int, int]]:
    """Split ``rects`` into runs of about ``_CHUNK`` raw bytes: ``(start, stop)`` indices."""
    runs, start, size = [], 0, 0
    for i, (y0, y1, x0, x1) in enumerate(rects):
        size += (y1 - y0) * (x1 - x0) * pixel_bytes
        if size >= _CHUNK:
            runs.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(rects):
        runs.append((start, len(rects)))
    return runs


def _bands(shape: tuple[int, ...], dtype: np.dtype) -> list[Region]:
    """Full-width row bands of about ``_CHUNK`` bytes covering an array of ``shape``."""
    h, w = shape[:2]
    rows = max(1, _CHUNK // max(1, w * _pixel_bytes(shape, dtype)))
    return [(y, min(y + rows, h), 0, w) for y in range(0, h, rows)]


def _pack(source: np.ndarray, rects: Sequence[Region], origin: tuple[int, int], dtype) -> _Blob:
    """Compress the boxes ``rects`` (layer coordinates) of ``source`` (whose 0, 0 is origin)."""
    oy, ox = origin
    pixel_bytes = _pixel_bytes(source.shape, dtype)

    def compress(run: tuple[int, int]) -> bytes:
        z = zlib.compressobj(_ZLEVEL)
        out = [
            z.compress(np.ascontiguousarray(source[y0 - oy : y1 - oy, x0 - ox : x1 - ox], dtype))
            for y0, y1, x0, x1 in rects[run[0] : run[1]]
        ]
        out.append(z.flush())
        return b"".join(out)

    total = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in rects) * pixel_bytes
    return _Blob(_map(compress, _chunks(rects, pixel_bytes), total))


def _unpack(
    blob: _Blob, rects: Sequence[Region], rest: tuple[int, ...], dtype: np.dtype
) -> list[np.ndarray]:
    """The boxes stored by :func:`_pack`, one read-only array per rect."""
    pixel_bytes = int(np.prod(rest, dtype=np.int64)) * np.dtype(dtype).itemsize
    runs = _chunks(rects, pixel_bytes)
    parts = blob.read()
    if len(parts) != len(runs):
        raise RuntimeError(f"undo data holds {len(parts)} chunks; expected {len(runs)}")

    def decompress(i: int) -> list[np.ndarray]:
        boxes = rects[runs[i][0] : runs[i][1]]
        flat = np.frombuffer(zlib.decompress(parts[i]), dtype=dtype)
        counts = [
            (y1 - y0) * (x1 - x0) * (pixel_bytes // flat.itemsize) for y0, y1, x0, x1 in boxes
        ]
        if flat.size != sum(counts):
            raise RuntimeError("undo data does not match the recorded boxes")
        out, pos = [], 0
        for (y0, y1, x0, x1), n in zip(boxes, counts, strict=True):
            out.append(flat[pos : pos + n].reshape((y1 - y0, x1 - x0, *rest)))
            pos += n
        return out

    total = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in rects) * pixel_bytes
    return [a for run in _map(decompress, range(len(runs)), total) for a in run]


def _not_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a != b`` elementwise, floats compared bit-exactly (NaN equals itself, -0 != 0)."""
    if a.dtype == b.dtype and a.dtype.kind == "f" and a.dtype.itemsize in (2, 4, 8):
        bits = np.dtype(f"u{a.dtype.itemsize}")
        a, b = a.view(bits), b.view(bits)
    return a != b


def _changed_rects(old: np.ndarray, new: np.ndarray, origin: tuple[int, int], tile: int):
    """Per ``tile``-square tile, the bounding box of the pixels that differ, in layer coords."""
    oy, ox = origin
    rects: list[Region] = []
    for y in range(0, old.shape[0], tile):
        ne = _not_equal(old[y : y + tile], new[y : y + tile])
        cols = ne.any(axis=0)  # reducing over rows is fast; most bands stop here
        if cols.ndim > 1:
            cols = cols.any(axis=tuple(range(1, cols.ndim)))
        if not cols.any():
            continue
        for x in range(0, old.shape[1], tile):
            tile_cols = cols[x : x + tile]
            if not tile_cols.any():
                continue
            c0, c1 = _span(tile_cols)
            r0, r1 = _span(ne[:, x + c0 : x + c1].any(axis=tuple(range(1, ne.ndim))))
            rects.append((oy + y + r0, oy + y + r1, ox + x + c0, ox + x + c1))
    return rects


def _span(flags: np.ndarray) -> tuple[int, int]:
    return int(flags.argmax()), len(flags) - int(flags[::-1].argmax())


def _raster(layer: Layer) -> np.ndarray:
    data = layer.data
    if layer.shape is None or not isinstance(data, np.ndarray):
        raise TypeError(f"SetPixels needs an image or labels layer; got {layer!r}")
    return data


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# -- commands ---------------------------------------------------------------------------------
class Command:
    """One undoable change.

    Subclasses implement :meth:`redo` and :meth:`undo`, both *atomic*: if they raise, whatever
    they touched is restored first. Commands that hold large payloads also implement
    :attr:`nbytes`, :attr:`spilled_bytes`, :meth:`spill` and :meth:`discard`.

    Parameters
    ----------
    label : str
        What the history panel shows.
    step : RecipeStep, optional
        The op call this command applied, so the history doubles as a recipe.
    """

    def __init__(self, label: str = "", step: RecipeStep | None = None) -> None:
        self.label = label
        self.step = step

    def redo(self) -> None:
        """Apply the change."""
        raise NotImplementedError

    def undo(self) -> None:
        """Reverse the change."""
        raise NotImplementedError

    @property
    def nbytes(self) -> int:
        """Bytes of undo payload this command holds in memory."""
        return 0

    @property
    def spilled_bytes(self) -> int:
        """Bytes of undo payload this command keeps on disk."""
        return 0

    def spill(self, dirpath: str) -> int:
        """Move the payload to files in ``dirpath``; return the memory freed, in bytes."""
        return 0

    def discard(self) -> None:
        """Release the payload and its files; the command cannot be applied afterwards."""

    def recipe_steps(self) -> list[RecipeStep]:
        """The recipe steps this command stands for (its own ``step``, if any)."""
        return [self.step] if self.step is not None else []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r}>"


class SetPixels(Command):
    """Replace the pixels of an image or labels layer, keeping only what changed.

    The old and new arrays are compared in ``TILE``-sized tiles; for each tile that differs,
    the bounding box of its changed pixels is kept, old and new, zlib-compressed (in chunks of
    about 1 MiB, on a few threads when there are several MiB). Undo and redo write those boxes
    back in place and call ``layer.notify_changed(bbox)``, so they cost O(changed pixels). When
    the shape or dtype changes (crop, conversion) the whole old and new arrays are kept,
    compressed, and assigned to ``layer.data``. No reference to a live array is kept and ``new``
    is not modified. Construction does the comparing and compressing; it may run off the GUI
    thread as long as nothing edits the layer meanwhile.

    Parameters
    ----------
    layer : ImageLayer or LabelsLayer
    new : ndarray
        The full new array. It must not be the layer's own array modified in place; for such
        edits use :meth:`from_region`.
    label : str
    step : RecipeStep, optional
    """

    tile = TILE

    def __init__(
        self,
        layer: Layer,
        new: np.ndarray,
        label: str = "Set pixels",
        step: RecipeStep | None = None,
    ) -> None:
        super().__init__(label, step)
        self.layer = layer
        old = _raster(layer)
        if not isinstance(new, np.ndarray):
            raise TypeError(f"new must be a numpy array; got {type(new).__name__}")
        if new is old or (
            new.__array_interface__["data"][0] == old.__array_interface__["data"][0]
            and new.shape == old.shape
            and new.strides == old.strides
        ):
            raise ValueError(
                "new is the layer's own array; record in-place edits with SetPixels.from_region"
            )
        if new.shape == old.shape and new.dtype != old.dtype and layer.kind == LayerKind.LABELS:
            if np.can_cast(new.dtype, old.dtype, "safe"):
                new = new.astype(old.dtype)  # labels keep the layer's dtype when values fit
        self._replace = new.shape != old.shape or new.dtype != old.dtype
        self._before = (old.shape, old.dtype)
        if self._replace:
            self._after = (new.shape, new.dtype)
            self._rects: list[Region] = []
            self._old = _pack(old, _bands(old.shape, old.dtype), (0, 0), old.dtype)
            self._new = _pack(new, _bands(new.shape, new.dtype), (0, 0), new.dtype)
        else:
            self._record(old, new, (0, 0))

    @classmethod
    def from_region(
        cls,
        layer: Layer,
        region: Region,
        old_values: np.ndarray,
        label: str = "Paint",
        step: RecipeStep | None = None,
    ) -> SetPixels:
        """Record an edit already made in place (a brush stroke) inside ``region``.

        Parameters
        ----------
        layer : ImageLayer or LabelsLayer
            The edited layer; its current pixels in ``region`` are the new values.
        region : (y0, y1, x0, x1)
            Bounding box of the edit, in pixels, end-exclusive.
        old_values : ndarray
            The contents of ``region`` before the edit.
        label : str
        step : RecipeStep, optional

        Returns
        -------
        SetPixels
            A command whose first :meth:`redo` rewrites the same values (harmless); push it
            with :meth:`History.push`.
        """
        self = cls.__new__(cls)
        Command.__init__(self, label, step)
        self.layer = layer
        data = _raster(layer)
        y0, y1, x0, x1 = (int(v) for v in region)
        h, w = data.shape[:2]
        if not (0 <= y0 <= y1 <= h and 0 <= x0 <= x1 <= w):
            raise ValueError(f"region must lie within the layer's {h}x{w} pixels; got {region!r}")
        current = data[y0:y1, x0:x1]
        old_values = np.asarray(old_values)
        if old_values.shape != current.shape:
            raise ValueError(
                f"old_values must have the region's shape {current.shape}; got {old_values.shape}"
            )
        if old_values.dtype != current.dtype:
            if not np.can_cast(old_values.dtype, current.dtype, "safe"):
                raise ValueError(f"old_values must be {current.dtype}; got {old_values.dtype}")
            old_values = old_values.astype(current.dtype)
        self._replace = False
        self._before = (data.shape, data.dtype)
        self._record(old_values, current, (y0, x0))
        return self

    def _record(self, old: np.ndarray, new: np.ndarray, origin: tuple[int, int]) -> None:
        """Keep the changed boxes of ``old`` and ``new``, whose pixel 0, 0 is ``origin``."""
        self._after = self._before
        self._rects = _changed_rects(old, new, origin, self.tile)
        dtype = self._before[1]
        self._old = _pack(old, self._rects, origin, dtype)
        self._new = _pack(new, self._rects, origin, dtype)

    @property
    def region(self) -> Region | None:
        """Bounding box ``(y0, y1, x0, x1)`` of the changed pixels; None for a shape change."""
        if self._replace or not self._rects:
            return None
        ys0, ys1, xs0, xs1 = zip(*self._rects, strict=True)
        return min(ys0), max(ys1), min(xs0), max(xs1)

    def redo(self) -> None:
        self._apply(self._new, expect=self._before, result=self._after)

    def undo(self) -> None:
        self._apply(self._old, expect=self._after, result=self._before)

    def _apply(self, blob: _Blob, expect: tuple, result: tuple) -> None:
        data = _raster(self.layer)
        if self._replace:
            if data.shape != expect[0]:
                raise ValueError(
                    f"{self.layer!r} is {data.shape}; this edit was recorded for {expect[0]}"
                )
            shape, dtype = result
            bands = _bands(shape, dtype)
            arr = np.empty(shape, dtype)
            parts = _unpack(blob, bands, shape[2:], dtype)  # nothing touched yet
            for (y0, y1, _, _), part in zip(bands, parts, strict=True):
                arr[y0:y1] = part
            self.layer.data = arr  # validates before storing
            return
        if (data.shape, data.dtype) != expect:
            raise ValueError(
                f"{self.layer!r} is {data.shape} {data.dtype}; "
                f"this edit was recorded for {expect[0]} {expect[1]}"
            )
        if not self._rects:
            return
        parts = _unpack(blob, self._rects, data.shape[2:], data.dtype)  # nothing touched yet
        target = data if data.flags.writeable else data.copy()
        for (y0, y1, x0, x1), part in zip(self._rects, parts, strict=True):
            target[y0:y1, x0:x1] = part
        if target is data:
            self.layer.notify_changed(self.region)
        else:
            self.layer.data = target

    @property
    def nbytes(self) -> int:
        return self._old.nbytes + self._new.nbytes

    @property
    def spilled_bytes(self) -> int:
        return self._old.spilled_bytes + self._new.spilled_bytes

    def spill(self, dirpath: str) -> int:
        return self._old.spill(dirpath) + self._new.spill(dirpath)

    def discard(self) -> None:
        self._old.discard()
        self._new.discard()


class AddLayer(Command):
    """Insert ``layer`` at ``index`` (None: on top) and make it active."""

    def __init__(self, document: Document, layer: Layer, index: int | None = None) -> None:
        super().__init__(f"Add layer {layer.name}")
        self.document, self.layer, self.index = document, layer, index
        self._prev_active: Layer | None = None

    def redo(self) -> None:
        prev = self.document.active
        index = len(self.document) if self.index is None else self.index
        self.document.insert(index, self.layer)
        self._prev_active = prev
        self.document.active = self.layer

    def undo(self) -> None:
        self.document.remove(self.layer)
        if self._prev_active is not None and self._prev_active in self.document:
            self.document.active = self._prev_active

    @property
    def nbytes(self) -> int:  # the layer lives only here while undone
        return 0 if self.layer in self.document else _layer_nbytes(self.layer)


class RemoveLayer(Command):
    """Remove ``layer``; undo puts it back at its index and restores the active layer."""

    def __init__(self, document: Document, layer: Layer) -> None:
        super().__init__(f"Remove layer {layer.name}")
        self.document, self.layer = document, layer
        self._index = 0
        self._was_active = False

    def redo(self) -> None:
        was_active = self.document.active is self.layer
        self._index = self.document.index(self.layer)
        self.document.remove(self.layer)
        self._was_active = was_active

    def undo(self) -> None:
        self.document.insert(self._index, self.layer)
        if self._was_active:
            self.document.active = self.layer

    @property
    def nbytes(self) -> int:  # the layer lives only here while removed
        return 0 if self.layer in self.document else _layer_nbytes(self.layer)


def _layer_nbytes(layer: Layer) -> int:
    data = layer.data
    if isinstance(data, np.ndarray):
        return int(data.nbytes)
    return sum(int(np.asarray(s.points).nbytes) + 200 for s in data)


class MoveLayer(Command):
    """Move ``layer`` to ``new_index`` (clamped to the stack)."""

    def __init__(self, document: Document, layer: Layer, new_index: int) -> None:
        super().__init__(f"Move layer {layer.name}")
        self.document, self.layer, self.new_index = document, layer, int(new_index)
        self._old_index = 0

    def redo(self) -> None:
        old = self.document.index(self.layer)
        self.document.move(self.layer, self.new_index)
        self._old_index = old

    def undo(self) -> None:
        self.document.move(self.layer, self._old_index)


class SetLayerProperty(Command):
    """Set ``name``, ``visible``, ``opacity`` or ``blend_mode``; the old value is read now."""

    def __init__(self, layer: Layer, name: str, new_value: Any) -> None:
        if name not in _PROPERTIES:
            raise ValueError(f"name must be one of {', '.join(_PROPERTIES)}; got {name!r}")
        super().__init__(f"Set {name.replace('_', ' ')} of {layer.name}")
        self.layer, self.name = layer, name
        self.old_value = getattr(layer, name)
        self.new_value = new_value

    def redo(self) -> None:
        setattr(self.layer, self.name, self.new_value)  # setters validate before storing

    def undo(self) -> None:
        setattr(self.layer, self.name, self.old_value)


class SetLayerData(Command):
    """Replace the data of a points or shapes layer; old and new are kept as private copies."""

    def __init__(
        self, layer: Layer, new_data: Any, label: str = "", step: RecipeStep | None = None
    ) -> None:
        if layer.kind not in (LayerKind.POINTS, LayerKind.SHAPES):
            raise TypeError(f"SetLayerData is for points or shapes layers; got {layer!r}")
        super().__init__(label or f"Edit {layer.name}", step)
        self.layer = layer
        self._old = self._pack(layer.data)
        self._new = self._pack(new_data)

    @staticmethod
    def _pack(data: Any) -> _Blob:  # pickling copies, so later edits to live objects can't leak in
        return _Blob([zlib.compress(pickle.dumps(data, pickle.HIGHEST_PROTOCOL), _ZLEVEL)])

    def redo(self) -> None:
        self.layer.data = pickle.loads(zlib.decompress(self._new.read()[0]))

    def undo(self) -> None:
        self.layer.data = pickle.loads(zlib.decompress(self._old.read()[0]))

    @property
    def nbytes(self) -> int:
        return self._old.nbytes + self._new.nbytes

    @property
    def spilled_bytes(self) -> int:
        return self._old.spilled_bytes + self._new.spilled_bytes

    def spill(self, dirpath: str) -> int:
        return self._old.spill(dirpath) + self._new.spill(dirpath)

    def discard(self) -> None:
        self._old.discard()
        self._new.discard()


class Group(Command):
    """Several commands as one step: applied in order, undone in reverse, all or nothing."""

    def __init__(
        self, label: str, commands: Sequence[Command], step: RecipeStep | None = None
    ) -> None:
        super().__init__(label, step)
        self.commands = tuple(commands)

    def redo(self) -> None:
        _run_all(self.commands, "redo", "undo")

    def undo(self) -> None:
        _run_all(self.commands[::-1], "undo", "redo")

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.commands)

    @property
    def spilled_bytes(self) -> int:
        return sum(c.spilled_bytes for c in self.commands)

    def spill(self, dirpath: str) -> int:
        return sum(c.spill(dirpath) for c in self.commands)

    def discard(self) -> None:
        for c in self.commands:
            c.discard()

    def recipe_steps(self) -> list[RecipeStep]:
        if self.step is not None:
            return [self.step]
        return [s for c in self.commands for s in c.recipe_steps()]


def _run_all(commands: Sequence[Command], action: str, reverse: str) -> None:
    """Call ``action`` on each command; if one raises, call ``reverse`` on those done, re-raise."""
    done: list[Command] = []
    try:
        for c in commands:
            getattr(c, action)()
            done.append(c)
    except BaseException:
        for c in reversed(done):
            getattr(c, reverse)()
        raise


# -- the history ------------------------------------------------------------------------------
class _SpillDir:
    """A private temporary folder, created on first use, removed on close or at collection."""

    def __init__(self, parent: str | os.PathLike[str] | None) -> None:
        self.parent = None if parent is None else os.fspath(parent)
        self.path: str | None = None
        self._finalizer: weakref.finalize | None = None

    def get(self) -> str:
        if self.path is None:
            self.path = tempfile.mkdtemp(prefix="imgstudio-undo-", dir=self.parent)
            self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)
        return self.path

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self.path = self._finalizer = None


class History:
    """The undo stack of a document, bounded in bytes.

    Parameters
    ----------
    document : Document
    budget_bytes : int
        Undo payload kept in memory; past it the oldest payloads spill to disk.
    spill_dir : path, optional
        Where to create the spill folder; default: the system temporary folder.
    spill_budget_bytes : int, optional
        Undo payload kept on disk (default ``4 * budget_bytes``); past it the oldest steps are
        dropped and ``notice`` says so.

    Events: ``changed()`` after any change of the steps or the position; ``notice(message)``
    when steps are dropped.
    """

    def __init__(
        self,
        document: Document,
        budget_bytes: int = 1 << 30,
        spill_dir: str | os.PathLike[str] | None = None,
        spill_budget_bytes: int | None = None,
    ) -> None:
        self.document = document
        self.budget_bytes = int(budget_bytes)
        self.spill_budget_bytes = (
            4 * self.budget_bytes if spill_budget_bytes is None else int(spill_budget_bytes)
        )
        self._spill = _SpillDir(spill_dir)
        self._steps: list[Command] = []
        self._index = -1
        self._open: list[Command] | None = None  # commands of the open group
        self.changed = Signal()
        self.notice = Signal()

    # -- state ----------------------------------------------------------------------------------
    @property
    def steps(self) -> tuple[Command, ...]:
        return tuple(self._steps)

    @property
    def index(self) -> int:
        """Index of the last applied step; -1 when none is applied."""
        return self._index

    @property
    def can_undo(self) -> bool:
        return self._index >= 0 and self._open is None

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._steps) - 1 and self._open is None

    @property
    def memory_bytes(self) -> int:
        """Undo payload held in memory, in bytes."""
        return sum(c.nbytes for c in self._steps)

    @property
    def spilled_bytes(self) -> int:
        """Undo payload spilled to disk, in bytes."""
        return sum(c.spilled_bytes for c in self._steps)

    @property
    def spill_dir(self) -> str | None:
        """The spill folder, once created."""
        return self._spill.path

    def recipe(self) -> list[RecipeStep]:
        """The recipe steps of the applied steps, oldest first."""
        return [s for c in self._steps[: self._index + 1] for s in c.recipe_steps()]

    # -- recording ------------------------------------------------------------------------------
    def execute(self, command: Command) -> None:
        """Apply ``command`` and record it; if it raises, nothing changes and it propagates."""
        command.redo()
        self.push(command)

    def push(self, command: Command) -> None:
        """Record ``command`` whose effect is already applied (e.g. a brush dab)."""
        if self._open is not None:
            self._open.append(command)
            return
        for c in self._steps[self._index + 1 :]:
            c.discard()
        del self._steps[self._index + 1 :]
        self._steps.append(command)
        self._index = len(self._steps) - 1
        self._enforce_budget()
        self.changed.emit()

    @contextlib.contextmanager
    def group(self, label: str) -> Iterator[None]:
        """Record what is executed in the block as one step; nested groups flatten.

        If an exception escapes the block, the commands executed in it are undone, nothing is
        recorded, and the exception propagates.
        """
        outer = self._open is None
        if outer:
            self._open = []
        assert self._open is not None
        opened = self._open
        start = len(opened)
        try:
            yield
        except BaseException:
            done = opened[start:]
            del opened[start:]
            if outer:
                self._open = None
            for c in reversed(done):
                c.undo()
            raise
        if outer:
            self._open = None
            if opened:
                self.push(Group(label, opened))

    # -- moving ---------------------------------------------------------------------------------
    def _check_closed_group(self) -> None:
        if self._open is not None:
            raise RuntimeError("cannot move in the history while a group is open")

    def undo(self) -> bool:
        """Undo the last applied step; return False when there is none."""
        self._check_closed_group()
        if self._index < 0:
            return False
        self._steps[self._index].undo()
        self._index -= 1
        self.changed.emit()
        return True

    def redo(self) -> bool:
        """Redo the next step; return False when there is none."""
        self._check_closed_group()
        if self._index >= len(self._steps) - 1:
            return False
        self._steps[self._index + 1].redo()
        self._index += 1
        self.changed.emit()
        return True

    def jump(self, index: int) -> None:
        """Go to the state after step ``index`` (-1: before the first kept step)."""
        self._check_closed_group()
        if not -1 <= index < len(self._steps):
            raise IndexError(f"index must be in [-1, {len(self._steps) - 1}]; got {index!r}")
        start = self._index
        try:
            while self._index > index:
                self._steps[self._index].undo()
                self._index -= 1
            while self._index < index:
                self._steps[self._index + 1].redo()
                self._index += 1
        finally:
            if self._index != start:
                self.changed.emit()

    def clear(self) -> None:
        """Forget every step (the document stays as it is)."""
        self._check_closed_group()
        for c in self._steps:
            c.discard()
        self._steps.clear()
        self._index = -1
        self.changed.emit()

    def close(self) -> None:
        """Forget every step and delete the spill folder."""
        self.clear()
        self._spill.close()

    # -- budget ---------------------------------------------------------------------------------
    def _enforce_budget(self) -> None:
        memory = self.memory_bytes
        spill_error: OSError | None = None
        for c in self._steps:  # oldest first
            if memory <= self.budget_bytes:
                break
            if c.nbytes:
                try:
                    memory -= c.spill(self._spill.get())
                except OSError as exc:
                    spill_error = exc
                    break
        dropped = 0
        while self._index >= 0 and (
            self.spilled_bytes > self.spill_budget_bytes or self.memory_bytes > self.budget_bytes
        ):
            self._steps.pop(0).discard()
            self._index -= 1
            dropped += 1
        if dropped:
            s = "" if dropped == 1 else "s"
            message = (
                f"Dropped {dropped} oldest undo step{s} to stay within the "
                f"{_fmt_bytes(self.budget_bytes)} undo budget"
            )
            if spill_error is not None:
                message += f" (could not write to disk: {spill_error})"
            self.notice.emit(message)

    def __repr__(self) -> str:
        return (
            f"<History {self._index + 1}/{len(self._steps)} steps, "
            f"{_fmt_bytes(self.memory_bytes)} in memory, {_fmt_bytes(self.spilled_bytes)} on disk>"
        )
