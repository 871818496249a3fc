"""What the canvas draws: the document's raster layers plus previews, as render items. Qt-free.

A preview shows an array instead of a layer's data without touching the layer. It can cover
the whole layer (full or reduced resolution), a region of it (e.g. a proxy computed on the
visible region), or be of another kind than the layer: a labels result over an image layer is
drawn as a labels overlay above the layer, a points result as points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imgstudio.core.document import Document, LabelsLayer, Layer
from imgstudio.core.types import IMAGE_DTYPES
from imgstudio.gui.canvas.render import Extent, Patch, Renderer, RenderLayer

PREVIEW_KINDS = ("image", "labels", "points")


@dataclass(frozen=True, eq=False)
class Preview:
    """``array`` shown for ``layer``; ``extent`` is the image rectangle (y0, y1, x0, x1) it
    covers, None for its own size at the origin."""

    layer: Layer
    array: np.ndarray
    kind: str
    extent: Extent | None

    @property
    def key(self) -> str:
        return f"preview:{self.layer.id}"


def infer_kind(layer: Layer, array: np.ndarray) -> str:
    """The kind of a preview array: labels for an integer (H, W) array on a labels layer or of a
    non-image dtype, points for float (N, 2) on a non-raster layer, else image."""
    if layer.shape is None and array.ndim == 2 and array.shape[1] == 2:
        return "points"
    if array.ndim == 2 and (array.dtype.kind in "iub"):
        if isinstance(layer, LabelsLayer) or array.dtype not in IMAGE_DTYPES:
            return "labels"
    return "image"


def make_preview(
    layer: Layer,
    array: np.ndarray,
    region: tuple[int, int, int, int] | None,
    kind: str | None,
    scale: float | None,
    canvas_shape: tuple[int, int] | None,
) -> Preview:
    """Check a preview and work out where it goes (see ``CanvasView.set_preview``)."""
    array = np.asarray(array)
    kind = kind or infer_kind(layer, array)
    if kind not in PREVIEW_KINDS:
        raise ValueError(f"kind must be one of {', '.join(PREVIEW_KINDS)}; got {kind!r}")
    if kind == "points":
        if array.ndim != 2 or array.shape[1] != 2:
            raise ValueError(f"a points preview must have shape (N, 2); got {array.shape}")
        return Preview(layer, array.astype(float, copy=False), kind, None)
    if array.ndim not in (2, 3) or array.size == 0:
        raise ValueError(f"a raster preview must be a non-empty (H, W[, C]) array; got "
                         f"{array.shape}")
    if kind == "labels" and array.ndim != 2:
        raise ValueError(f"a labels preview must have shape (H, W); got {array.shape}")
    if kind == "image" and array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise ValueError(f"an image preview must have 1, 3 or 4 channels; got {array.shape}")
    if kind == "image" and array.dtype not in IMAGE_DTYPES:
        array = array.astype(np.float32)
    h, w = array.shape[:2]
    if region is not None:
        y0, y1, x0, x1 = (int(v) for v in region)
        if y1 <= y0 or x1 <= x0:
            raise ValueError(f"region must be a non-empty (y0, y1, x0, x1); got {region!r}")
        return Preview(layer, array, kind, (float(y0), float(y1), float(x0), float(x1)))
    if scale is not None:
        if not scale > 0:
            raise ValueError(f"scale must be > 0; got {scale!r}")
        return Preview(layer, array, kind, (0.0, h / scale, 0.0, w / scale))
    target = layer.shape or canvas_shape
    if target is not None and (h, w) != tuple(target) and _reduced_copy((h, w), target):
        return Preview(layer, array, kind, (0.0, float(target[0]), 0.0, float(target[1])))
    return Preview(layer, array, kind, None)


def _reduced_copy(shape: tuple[int, int], target: tuple[int, ...]) -> bool:
    """Whether ``shape`` looks like ``target`` scaled down uniformly (a preview proxy)."""
    (h, w), (th, tw) = shape, target[:2]
    return h <= th and w <= tw and abs(h * tw - w * th) <= max(th, tw)


def pixel_text(document: Document, x: float, y: float) -> str:
    """Readout of image point (x, y): "x 12  y 40  RGB 12, 34, 56", "x 1  y 2  value 0.532",
    "x 7  y 5  label 3"; empty outside. Reads the active raster layer, else the top visible
    raster layer."""
    layer = document.active
    if layer is None or layer.shape is None:
        layer = next((lay for lay in reversed(document.layers)
                      if lay.visible and lay.shape is not None), None)
    if layer is None:
        return ""
    col, row = math.floor(x), math.floor(y)
    h, w = layer.shape
    if not (0 <= col < w and 0 <= row < h):
        return ""
    value = np.atleast_1d(layer.data[row, col])
    where = f"x {col}  y {row}  "
    if isinstance(layer, LabelsLayer):
        return where + f"label {int(value[0])}"
    floats = value.dtype.kind == "f"
    parts = [f"{v:.3f}" if floats else str(int(v)) for v in value]
    if len(parts) == 1:
        return where + f"value {parts[0]}"
    return where + ("RGB " if len(parts) == 3 else "RGBA ") + ", ".join(parts)


def render_layers(
    document: Document, previews: dict[str, Preview], renderer: Renderer
) -> list[RenderLayer]:
    """The visible raster layers of ``document``, bottom first, with previews applied."""
    items: list[RenderLayer] = []
    for layer in document:
        if not layer.visible or layer.shape is None:
            continue
        kind = "labels" if isinstance(layer, LabelsLayer) else "image"
        item = RenderLayer(layer.id, layer.data, kind, layer.opacity, layer.blend_mode,
                           contours=getattr(layer, "contours", False))
        preview = previews.get(layer.id)
        extra = None
        if preview is not None and preview.kind == kind:
            window = None
            if kind == "image" and preview.array.dtype == layer.data.dtype:
                window = renderer.window(layer.id, layer.data)
            h, w = layer.shape
            whole = preview.extent is None or preview.extent == (0.0, h, 0.0, w)
            if whole:
                item.key, item.data, item.extent = preview.key, preview.array, preview.extent
                item.window = window
            else:
                item.patch = Patch(preview.key, preview.array, preview.extent, window)
        elif preview is not None and preview.kind != "points":
            extra = RenderLayer(preview.key, preview.array, preview.kind, extent=preview.extent)
        items.append(item)
        if extra is not None:
            items.append(extra)
    return items
