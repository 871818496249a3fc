"""Preview proxies: what an op runs on while the user tunes its parameters (no Qt here).

- **region** — the op maps the layer to an image/labels of the same size and is not a
  geometry op (:data:`GEOMETRY_OPS`, or any op whose menu lies under ``Transform``): the
  canvas's visible region plus :data:`PREVIEW_MARGIN` pixels (so neighbourhood filters are
  exact up to the edge) is cropped; the op runs on the crop and :func:`trim` cuts the margin
  off. Other layer inputs of the layer's size (masks, seeds) are cropped alike. A region larger
  than :data:`REGION_MAX_PIXELS` is downscaled instead (no margin).
- **whole** — geometry ops, ops taking Points or inputs of another size, ops whose output is not
  a same-size image/labels, or no visible region: the whole layer. A layer over
  :data:`WHOLE_MAX_PIXELS` is downscaled (area interpolation; labels by nearest) unless the op
  is a geometry op or takes Points, whose parameters are full-resolution pixel coordinates.
- **seeded** — seeded segmentations (:data:`SEEDED_PREVIEW_PIXELS`: random walker, GrabCut,
  watershed): every pixel's label depends on seeds and colour statistics anywhere in the image,
  so a crop of the view would drop the seeds outside it; they preview on the whole layer,
  downscaled to their pixel budget (their solvers are slow), and their seeds/markers/mask
  layers are downscaled by block maximum so thin strokes survive. (A watershed without
  markers is local and previews like any filter.)

A downscaled result covers the same area as its full-resolution counterpart would (the canvas
stretches it); :attr:`Proxy.scale` says by how much it was shrunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from imgstudio.core.document import Layer
from imgstudio.core.spec import OperationSpec
from imgstudio.core.types import LayerKind

Region = tuple[int, int, int, int]  # y0, y1, x0, x1 (end-exclusive)

PREVIEW_MARGIN = 32
WHOLE_MAX_PIXELS = 2_000_000
REGION_MAX_PIXELS = 8_300_000  # a 4K screen at 1:1
#: Seeded segmentations: whole-layer preview downscaled to at most this many pixels.
SEEDED_PREVIEW_PIXELS: dict[str, int] = {
    "segment.random_walker": 40_000,  # an iterative solve: about 0.1 s at this size
    "segment.grabcut": 250_000,
    "segment.watershed": 1_000_000,
    "segment.sitk_watershed": 1_000_000,
}
#: Ops that move pixels around: a crop of their input does not give a crop of their output.
GEOMETRY_OPS = frozenset({
    "basic.crop", "basic.resize", "basic.rotate", "basic.flip", "basic.perspective",
    "basic.affine", "basic.elastic",
})


class PreviewTarget(Protocol):
    """What the canvas offers the Operation panel."""

    def visible_region(self) -> Region | None: ...
    def set_preview(self, layer: Layer, array: np.ndarray, region: Region | None = None) -> None: ...
    def clear_preview(self) -> None: ...


@dataclass
class PreviewResult:
    """One preview: the op's result on a proxy of ``layer``. ``region`` is the layer area it
    covers (None: the whole layer); ``scale`` < 1 when it was computed downscaled."""

    layer: Layer
    result: Any
    region: Region | None
    scale: float = 1.0


@dataclass
class Proxy:
    """Inputs to run the op on, and how its result maps back onto the layer."""

    inputs: dict[str, Any]
    region: Region | None = None  # the layer area the (trimmed) result covers
    inner: Region | None = None  # the region inside the cropped input (margin excluded)
    scale: float = 1.0


def is_geometry(spec: OperationSpec) -> bool:
    return spec.id in GEOMETRY_OPS or "transform" in spec.menu.lower()


def make_proxy(spec: OperationSpec, inputs: dict[str, Any], visible: Region | None) -> Proxy:
    """Choose and build the proxy for ``inputs`` (checked arrays; the first is the layer's)."""
    first = spec.inputs[0].name
    h, w = inputs[first].shape[:2]
    others = [v for k, v in inputs.items() if k != first and v is not None]
    flat = [x for v in others for x in (v if isinstance(v, list) else [v])]
    same = all(isinstance(x, np.ndarray) and x.ndim >= 2 and x.shape[:2] == (h, w) for x in flat)
    budget = SEEDED_PREVIEW_PIXELS.get(spec.id)
    seeded = budget is not None and same and any(
        spec.input(k).kind == LayerKind.LABELS for k, v in inputs.items()
        if k != first and v is not None)  # watershed without markers stays local
    if seeded:
        if h * w <= budget:
            return Proxy(dict(inputs))
        scale = math.sqrt(budget / (h * w))
        return Proxy({k: _scaled(v, scale, spec, k, seeds=k != first)
                      for k, v in inputs.items()}, scale=scale)
    # Points and centre parameters are full-resolution pixel positions: no crop, no shrink.
    has_points = any(i.kind == LayerKind.POINTS for i in spec.inputs) or any(
        p.name in ("center_x", "center_y") for p in spec.params)
    geometry = is_geometry(spec)
    local = spec.output.kind in ("image", "labels") and not geometry and same and not has_points
    if local and visible is not None:
        y0, y1, x0, x1 = (int(v) for v in visible)
        y0, y1, x0, x1 = max(0, y0), min(h, y1), max(0, x0), min(w, x1)
        if y1 > y0 and x1 > x0:
            scale = min(1.0, math.sqrt(REGION_MAX_PIXELS / ((y1 - y0) * (x1 - x0))))
            m = PREVIEW_MARGIN if scale == 1.0 else 0
            box = (max(0, y0 - m), min(h, y1 + m), max(0, x0 - m), min(w, x1 + m))
            inner = (y0 - box[0], y1 - box[0], x0 - box[2], x1 - box[2]) if m else None
            cropped = {k: _scaled(None if v is None else _crop(v, box), scale, spec, k)
                       for k, v in inputs.items()}
            return Proxy(cropped, (y0, y1, x0, x1), inner, scale)
    if geometry or has_points or h * w <= WHOLE_MAX_PIXELS:
        return Proxy(dict(inputs))
    scale = math.sqrt(WHOLE_MAX_PIXELS / (h * w))
    return Proxy({k: (_scaled(v, scale, spec, k) if k == first or same else v)
                  for k, v in inputs.items()}, scale=scale)


def trim(result: Any, proxy: Proxy, source: np.ndarray) -> Any:
    """Cut the margin off a region result; ``ValueError`` when the op changed the size."""
    if proxy.region is None or not isinstance(result, np.ndarray):
        return result
    if result.shape[:2] != source.shape[:2]:
        raise ValueError("its output size differs from its input; no region preview")
    if proxy.inner is None:
        return result
    iy0, iy1, ix0, ix1 = proxy.inner
    return result[iy0:iy1, ix0:ix1]


def downscale(data: np.ndarray, scale: float, labels: bool = False) -> np.ndarray:
    """Shrink by ``scale`` (floored, so the pixel budget holds): area for images, nearest
    for labels (any integer dtype)."""
    h, w = data.shape[:2]
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    if labels:
        ys = np.minimum((np.arange(size[1]) / scale).astype(int), h - 1)
        xs = np.minimum((np.arange(size[0]) / scale).astype(int), w - 1)
        return data[ys][:, xs]
    import cv2

    return cv2.resize(data, size, interpolation=cv2.INTER_AREA)


def _crop(value: Any, box: Region) -> Any:
    y0, y1, x0, x1 = box
    if isinstance(value, list):
        return [_crop(v, box) for v in value]
    return np.ascontiguousarray(value[y0:y1, x0:x1])


def downscale_seeds(labels: np.ndarray, scale: float) -> np.ndarray:
    """Shrink a seeds/markers layer by ``scale`` as :func:`downscale` does, each output pixel
    taking the largest label of the block of input pixels it covers (so a stroke thinner than
    a block is kept; where two labels share a block the larger wins)."""
    h, w = labels.shape[:2]
    n_rows, n_cols = max(1, int(h * scale)), max(1, int(w * scale))
    rows = np.minimum((np.arange(n_rows) / scale).astype(int), h - 1)
    cols = np.minimum((np.arange(n_cols) / scale).astype(int), w - 1)
    # block i spans [rows[i], rows[i + 1]); the last one runs to the edge
    return np.maximum.reduceat(np.maximum.reduceat(labels, rows, axis=0), cols, axis=1)


def _scaled(value: Any, scale: float, spec: OperationSpec, name: str, seeds: bool = False) -> Any:
    if scale >= 1.0 or value is None:
        return value
    if isinstance(value, list):
        return [_scaled(v, scale, spec, name, seeds) for v in value]
    labels = spec.input(name).kind == LayerKind.LABELS
    if labels and seeds:
        return downscale_seeds(value, scale)
    return downscale(value, scale, labels)
