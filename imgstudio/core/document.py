"""The document model: an ordered stack of layers over numpy arrays, with change events.

Models validate in their setters, store, emit, and do nothing when the value is unchanged.
Views listen through :class:`~imgstudio.core.events.Signal`; this module never imports Qt.
Undoable changes go through :mod:`imgstudio.core.history`, not through these setters directly.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgstudio.core.events import Signal
from imgstudio.core.types import LayerKind, check_image, check_labels, check_points

BLEND_MODES = ("normal", "multiply", "screen", "overlay", "difference", "add")


def _new_id() -> str:
    return f"layer-{uuid.uuid4().hex[:12]}"


def _checked_name(value: Any) -> str:
    value = str(value).strip()
    if not value:
        raise ValueError("layer name must not be empty")
    return value


def _checked_opacity(value: Any) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"opacity must be in [0, 1]; got {value!r}")
    return value


def _checked_blend_mode(value: Any) -> str:
    if value not in BLEND_MODES:
        raise ValueError(f"blend_mode must be one of {', '.join(BLEND_MODES)}; got {value!r}")
    return value


class LayerProperty:
    """A layer property kept in the attribute ``_<name>``: a value set goes through ``check``
    (validate and convert), is stored and emits ``property_changed(layer, name)``; setting the
    value the layer already has does nothing."""

    def __init__(self, check: Callable[[Any], Any], doc: str | None = None) -> None:
        self.check = check
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, layer: Layer | None, owner: type | None = None) -> Any:
        return self if layer is None else getattr(layer, "_" + self.name)

    def __set__(self, layer: Layer, value: Any) -> None:
        value = self.check(value)
        if getattr(layer, "_" + self.name) == value:
            return
        setattr(layer, "_" + self.name, value)
        if hasattr(layer, "property_changed"):  # not while __init__ sets the first values
            layer.property_changed.emit(layer, self.name)


class Layer:
    """Common state of every layer: id, name, visibility, opacity, blend mode, data."""

    kind: LayerKind
    #: The opacity a new layer gets when none is given (a saved project always gives one).
    DEFAULT_OPACITY = 1.0

    def __init__(
        self,
        data: Any,
        name: str = "",
        *,
        visible: bool = True,
        opacity: float | None = None,
        blend_mode: str = "normal",
        layer_id: str | None = None,
    ) -> None:
        self.id = layer_id or _new_id()
        self._data = self._check(data)
        self._name = name or self.kind.value.capitalize()
        self._visible = bool(visible)
        self._opacity = 1.0
        self._blend_mode = "normal"
        self.opacity = self.DEFAULT_OPACITY if opacity is None else opacity
        self.blend_mode = blend_mode
        #: ``(layer, region)``; region is ``(y0, y1, x0, x1)`` or None for "everything".
        self.data_changed = Signal()
        #: ``(layer, property_name)`` for name, visible, opacity, blend_mode.
        self.property_changed = Signal()

    # -- data ---------------------------------------------------------------------------------
    def _check(self, data: Any) -> Any:
        return data

    @property
    def data(self) -> Any:
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = self._check(value)
        self.data_changed.emit(self, None)

    def notify_changed(self, region: tuple[int, int, int, int] | None = None) -> None:
        """Tell views that pixels in ``region`` were modified in place."""
        self.data_changed.emit(self, region)

    # -- properties ---------------------------------------------------------------------------
    name = LayerProperty(_checked_name)
    visible = LayerProperty(bool)
    opacity = LayerProperty(_checked_opacity)
    blend_mode = LayerProperty(_checked_blend_mode)
    #: The names :meth:`properties` returns, in order.
    PROPERTIES: tuple[str, ...] = ("name", "visible", "opacity", "blend_mode")

    @property
    def shape(self) -> tuple[int, int] | None:
        """(H, W) for raster layers, None for vector layers."""
        return None

    def properties(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.PROPERTIES}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.name!r}>"


class ImageLayer(Layer):
    kind = LayerKind.IMAGE

    def _check(self, data: Any) -> np.ndarray:
        return check_image(data, "data")

    @property
    def shape(self) -> tuple[int, int]:
        return self._data.shape[:2]


class LabelsLayer(Layer):
    """Integer labels (0 = none) shown in a colour per label, filled or as outlines."""

    kind = LayerKind.LABELS
    #: Half see-through, so the image under new seeds, masks and results stays visible.
    DEFAULT_OPACITY = 0.5
    _contours = False
    contours = LayerProperty(bool, "Show only the outline of each label instead of filling it.")
    PROPERTIES = (*Layer.PROPERTIES, "contours")

    def _check(self, data: Any) -> np.ndarray:
        data = check_labels(data, "data")
        if data.dtype == bool or data.dtype == np.int8 or data.dtype == np.uint8:
            data = data.astype(np.int32)  # room for many labels, signed is not needed but fine
        return data

    @property
    def shape(self) -> tuple[int, int]:
        return self._data.shape[:2]


class PointsLayer(Layer):
    kind = LayerKind.POINTS

    def _check(self, data: Any) -> np.ndarray:
        return check_points(data, "data").copy()


@dataclass
class Shape:
    """One vector shape: a box, polygon or polyline, with an optional text label."""

    kind: str  # "box", "polygon", "polyline"
    points: np.ndarray  # (N, 2) x, y; a box is 2 corners
    text: str = ""
    score: float | None = None
    color: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "points": np.asarray(self.points, dtype=float).tolist(),
            "text": self.text,
            "score": self.score,
            "color": self.color,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shape:
        return cls(
            kind=data["kind"],
            points=np.asarray(data["points"], dtype=float).reshape(-1, 2),
            text=data.get("text", ""),
            score=data.get("score"),
            color=data.get("color"),
            extra=dict(data.get("extra", {})),
        )


class ShapesLayer(Layer):
    kind = LayerKind.SHAPES

    def _check(self, data: Any) -> list[Shape]:
        shapes = list(data)
        for s in shapes:
            if not isinstance(s, Shape):
                raise TypeError(f"shapes must be Shape objects; got {type(s).__name__}")
        return shapes


LAYER_CLASSES: dict[LayerKind, type[Layer]] = {
    LayerKind.IMAGE: ImageLayer,
    LayerKind.LABELS: LabelsLayer,
    LayerKind.POINTS: PointsLayer,
    LayerKind.SHAPES: ShapesLayer,
}


class Document:
    """An ordered list of layers (index 0 at the bottom) and the active layer.

    Events: ``layer_inserted(index, layer)``, ``layer_removed(index, layer)``,
    ``layer_moved(old_index, new_index)``, ``active_changed(layer or None)``.
    """

    def __init__(self, layers: list[Layer] | None = None) -> None:
        self._layers: list[Layer] = []
        #: id -> layer, kept in step with ``_layers`` so that lookups and inserts are O(1)
        #: (a project of 20 000 layers loads in linear time).
        self._by_id: dict[str, Layer] = {}
        self._active: Layer | None = None
        self.layer_inserted = Signal()
        self.layer_removed = Signal()
        self.layer_moved = Signal()
        self.active_changed = Signal()
        for layer in layers or []:
            self.insert(len(self._layers), layer)

    # -- queries ------------------------------------------------------------------------------
    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self):
        return iter(self._layers)

    def __getitem__(self, key: int | str) -> Layer:
        if isinstance(key, str):
            try:
                return self._by_id[key]
            except KeyError:
                raise KeyError(f"no layer with id {key!r}") from None
        return self._layers[key]

    def __contains__(self, layer: object) -> bool:
        found = self._by_id.get(getattr(layer, "id", None))  # type: ignore[arg-type]
        return found is not None and found is layer

    def index(self, layer: Layer | str) -> int:
        layer_id = layer if isinstance(layer, str) else layer.id
        found = self._by_id.get(layer_id)
        if found is None:
            raise KeyError(f"no layer with id {layer_id!r}")
        return self._layers.index(found)

    def by_name(self, name: str) -> Layer:
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}")

    def of_kind(self, kind: LayerKind) -> list[Layer]:
        return [lay for lay in self._layers if lay.kind == kind]

    @property
    def size(self) -> tuple[int, int] | None:
        """(H, W) of the first raster layer, the canvas size; None when there is none."""
        for layer in self._layers:
            if layer.shape is not None:
                return layer.shape
        return None

    def unique_name(self, base: str) -> str:
        names = {lay.name for lay in self._layers}
        if base not in names:
            return base
        for i in itertools.count(2):
            candidate = f"{base} {i}"
            if candidate not in names:
                return candidate
        raise AssertionError("unreachable")

    # -- active layer -------------------------------------------------------------------------
    @property
    def active(self) -> Layer | None:
        return self._active

    @active.setter
    def active(self, layer: Layer | None) -> None:
        if layer is not None and layer not in self:
            raise ValueError(f"{layer!r} is not in this document")
        if layer is self._active:
            return
        self._active = layer
        self.active_changed.emit(layer)

    # -- structure (history commands call these) ----------------------------------------------
    def insert(self, index: int, layer: Layer) -> None:
        if layer in self:
            raise ValueError(f"{layer!r} is already in this document")
        if layer.id in self._by_id:
            raise ValueError(f"duplicate layer id {layer.id!r}")
        index = max(0, min(index, len(self._layers)))
        self._layers.insert(index, layer)
        self._by_id[layer.id] = layer
        self.layer_inserted.emit(index, layer)
        if self._active is None:
            self.active = layer

    def append(self, layer: Layer) -> Layer:
        self.insert(len(self._layers), layer)
        return layer

    def remove(self, layer: Layer | str) -> Layer:
        index = self.index(layer)
        removed = self._layers.pop(index)
        del self._by_id[removed.id]
        self.layer_removed.emit(index, removed)
        if self._active is removed:
            fallback = self._layers[min(index, len(self._layers) - 1)] if self._layers else None
            self.active = fallback
        return removed

    def move(self, layer: Layer | str, new_index: int) -> None:
        old = self.index(layer)
        new_index = max(0, min(new_index, len(self._layers) - 1))
        if old == new_index:
            return
        lay = self._layers.pop(old)
        self._layers.insert(new_index, lay)
        self.layer_moved.emit(old, new_index)
