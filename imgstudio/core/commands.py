"""Undoable commands: pixel edits, layer structure and properties, groups."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from imgstudio.core.document import Document, LabelsLayer, Layer, Shape
from imgstudio.core.recipe import RecordedStep
from imgstudio.core.types import LayerKind, Region
from imgstudio.core.undo_storage import (
    TILE,
    ZLEVEL,
    Blob,
    bands,
    changed_rects,
    pack_rects,
    raster_of,
    unpack_rects,
)

_PROPERTIES = LabelsLayer.PROPERTIES  # a labels layer has every layer property

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
    step : RecordedStep, optional
        The op call this command applied, so the history doubles as a recipe.
    """

    def __init__(self, label: str = "", step: RecordedStep | None = None) -> None:
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

    def recipe_steps(self) -> list[RecordedStep]:
        """The recipe steps this command stands for (its own ``step``, if any)."""
        return [self.step] if self.step is not None else []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r}>"


class _OldNewBlobs(Command):
    """A command whose whole record is two blobs, ``_old`` and ``_new``."""

    _old: Blob
    _new: Blob

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


class SetPixels(_OldNewBlobs):
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
    step : RecordedStep, optional
    """

    tile = TILE

    def __init__(
        self,
        layer: Layer,
        new: np.ndarray,
        label: str = "Set pixels",
        step: RecordedStep | None = None,
    ) -> None:
        super().__init__(label, step)
        self.layer = layer
        old = raster_of(layer)
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
            self._old = pack_rects(old, bands(old.shape, old.dtype), (0, 0), old.dtype)
            self._new = pack_rects(new, bands(new.shape, new.dtype), (0, 0), new.dtype)
        else:
            self._record(old, new, (0, 0))

    @classmethod
    def from_region(
        cls,
        layer: Layer,
        region: Region,
        old_values: np.ndarray,
        label: str = "Paint",
        step: RecordedStep | None = None,
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
        step : RecordedStep, optional

        Returns
        -------
        SetPixels
            A command whose first :meth:`redo` rewrites the same values (harmless); push it
            with :meth:`History.push`.
        """
        self = cls.__new__(cls)
        Command.__init__(self, label, step)
        self.layer = layer
        data = raster_of(layer)
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
        self._rects = changed_rects(old, new, origin, self.tile)
        dtype = self._before[1]
        self._old = pack_rects(old, self._rects, origin, dtype)
        self._new = pack_rects(new, self._rects, origin, dtype)

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

    def _apply(self, blob: Blob, expect: tuple, result: tuple) -> None:
        data = raster_of(self.layer)
        if self._replace:
            if data.shape != expect[0]:
                raise ValueError(
                    f"{self.layer!r} is {data.shape}; this edit was recorded for {expect[0]}"
                )
            shape, dtype = result
            rows = bands(shape, dtype)
            arr = np.empty(shape, dtype)
            parts = unpack_rects(blob, rows, shape[2:], dtype)  # nothing touched yet
            for (y0, y1, _, _), part in zip(rows, parts, strict=True):
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
        parts = unpack_rects(blob, self._rects, data.shape[2:], data.dtype)  # nothing touched yet
        target = data if data.flags.writeable else data.copy()
        for (y0, y1, x0, x1), part in zip(self._rects, parts, strict=True):
            target[y0:y1, x0:x1] = part
        if target is data:
            self.layer.notify_changed(self.region)
        else:
            self.layer.data = target



class Record(Command):
    """An op call that changed no layer (it returned a table, classes, a matrix...): a history
    step that does nothing on undo or redo but keeps the call in the recipe."""

    def redo(self) -> None:
        pass

    def undo(self) -> None:
        pass


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
        if name not in _PROPERTIES or not hasattr(layer, name):
            raise ValueError(f"name must be one of {', '.join(_PROPERTIES)} (as the layer "
                             f"has it); got {name!r}")
        super().__init__(f"Set {name.replace('_', ' ')} of {layer.name}")
        self.layer, self.name = layer, name
        self.old_value = getattr(layer, name)
        self.new_value = new_value

    def redo(self) -> None:
        setattr(self.layer, self.name, self.new_value)  # setters validate before storing

    def undo(self) -> None:
        setattr(self.layer, self.name, self.old_value)


class SetLayerData(_OldNewBlobs):
    """Replace the data of a points or shapes layer; old and new are kept as private copies."""

    def __init__(
        self, layer: Layer, new_data: Any, label: str = "", step: RecordedStep | None = None
    ) -> None:
        if layer.kind not in (LayerKind.POINTS, LayerKind.SHAPES):
            raise TypeError(f"SetLayerData is for points or shapes layers; got {layer!r}")
        super().__init__(label or f"Edit {layer.name}", step)
        self.layer = layer
        self._old = self._pack(layer.data)
        self._new = self._pack(new_data)

    @staticmethod
    def _pack(data: Any) -> Blob:
        """A private serialised copy (npy for points, JSON for shapes; never pickle), so later
        edits to live objects cannot leak into the undo record."""
        if isinstance(data, np.ndarray):
            buf = io.BytesIO()
            np.save(buf, data, allow_pickle=False)
            raw = b"N" + buf.getvalue()
        else:
            raw = b"J" + json.dumps([shape.to_json() for shape in data]).encode()
        return Blob([zlib.compress(raw, ZLEVEL)])

    @staticmethod
    def _unpack(blob: Blob) -> Any:
        raw = zlib.decompress(blob.read()[0])
        if raw[:1] == b"N":
            return np.load(io.BytesIO(raw[1:]), allow_pickle=False)
        return [Shape.from_json(item) for item in json.loads(raw[1:])]

    def redo(self) -> None:
        self.layer.data = self._unpack(self._new)

    def undo(self) -> None:
        self.layer.data = self._unpack(self._old)



class Group(Command):
    """Several commands as one step: applied in order, undone in reverse, all or nothing."""

    def __init__(
        self, label: str, commands: Sequence[Command], step: RecordedStep | None = None
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

    def recipe_steps(self) -> list[RecordedStep]:
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


