"""Preview proxies: what an op runs on while the user tunes its parameters (no Qt here).

The op's spec says how it previews (:meth:`~imgstudio.core.spec.OperationSpec.preview_mode`,
declared with :class:`~imgstudio.core.editor.Editor` and the inputs' editor metadata):

- **region** — the canvas's visible region plus :data:`PREVIEW_MARGIN` pixels (so
  neighbourhood filters are exact up to the edge) is cropped from the layer and from every
  *aligned* input (masks, a second frame); the op runs on the crop and :func:`trim` cuts the
  margin off. Inputs that are not aligned (a reference image) are passed whole. The crop
  follows the screen pixels shown: when the canvas is zoomed out (``zoom`` < 1 screen pixel
  per layer pixel, see :func:`screen_zoom`) it is downscaled to the screen's resolution
  (times :data:`SCREEN_OVERSAMPLE`), so a 6000×4000 image seen whole at 13 % previews on
  ~0.4 MP rather than 24 MP; the margin is then :data:`PREVIEW_MARGIN` proxy pixels. It
  never holds more than :data:`REGION_MAX_PIXELS` either. At zoom ≥ 1 the crop is at full
  resolution.
- **whole** — the whole layer, downscaled to the op's ``preview_pixels`` (default
  :data:`WHOLE_MAX_PIXELS`; area interpolation, labels by nearest, seeds by block maximum so
  thin strokes survive) with its aligned inputs; the others whole. Ops whose result depends on
  the whole image use it, and so does any op while one of its seeds inputs is set (a seed
  outside the view still counts).
- **exact** — geometry ops and ops placing things at pixel positions: the whole layer at full
  resolution, since their parameters are full-resolution pixel coordinates.

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
from imgstudio.core.types import LayerKind, Region

PREVIEW_MARGIN = 32
WHOLE_MAX_PIXELS = 2_000_000
REGION_MAX_PIXELS = 8_300_000  # a 4K screen at 1:1
#: Proxy pixels per screen pixel (linear) for a zoomed-out region preview: 1 is the screen's
#: own resolution; the proxy never holds more than this squared times the pixels on screen.
SCREEN_OVERSAMPLE = 1.0


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


def _same_size(value: Any, size: tuple[int, int]) -> bool:
    values = value if isinstance(value, list) else [value]
    return all(isinstance(v, np.ndarray) and v.ndim >= 2 and v.shape[:2] == size for v in values)


def screen_zoom(target: object) -> float | None:
    """Device (screen) pixels per layer pixel of a preview target: its ``zoom`` times its
    ``devicePixelRatioF()`` when it has them; None when it says nothing about zoom."""
    zoom = getattr(target, "zoom", None)
    if not isinstance(zoom, (int, float)) or zoom <= 0:
        return None
    ratio = getattr(target, "devicePixelRatioF", None)
    dpr = ratio() if callable(ratio) else 1.0
    return float(zoom) * (float(dpr) if isinstance(dpr, (int, float)) and dpr > 0 else 1.0)


def region_scale(view: Region, zoom: float | None) -> float:
    """The proxy scale of a region preview of ``view`` seen at ``zoom`` screen pixels per
    layer pixel (None: unknown, full resolution): at most 1, at most the screen's resolution
    times :data:`SCREEN_OVERSAMPLE`, and within :data:`REGION_MAX_PIXELS`."""
    scale = min(1.0, math.sqrt(REGION_MAX_PIXELS / (view.height * view.width)))
    if zoom is not None and zoom > 0:
        scale = min(scale, zoom * SCREEN_OVERSAMPLE)
    return min(1.0, max(scale, 1.0 / min(view.height, view.width)))  # >= 1 proxy pixel a side


def _region_proxy(spec: OperationSpec, inputs: dict[str, Any], aligned: set[str],
                  view: Region, shape: tuple[int, int], zoom: float | None) -> Proxy:
    """The region proxy: ``view`` plus a margin cropped from the aligned inputs, downscaled
    when the screen shows fewer pixels; ``inner`` is the view inside the (scaled) crop."""
    scale = region_scale(view, zoom)
    box = view.grow(math.ceil(PREVIEW_MARGIN / scale), shape)
    cropped = {k: (_scaled(_crop(v, box), scale, spec, k) if k in aligned else v)
               for k, v in inputs.items()}
    if box == view:
        return Proxy(cropped, view, None, scale)
    inner = view.within(box)
    if scale < 1.0:
        ph, pw = max(1, int(box.height * scale)), max(1, int(box.width * scale))
        y0, x0 = min(ph - 1, round(inner.y0 * scale)), min(pw - 1, round(inner.x0 * scale))
        inner = Region(y0, max(y0 + 1, min(ph, round(inner.y1 * scale))),
                       x0, max(x0 + 1, min(pw, round(inner.x1 * scale))))
    return Proxy(cropped, view, inner, scale)


def make_proxy(spec: OperationSpec, inputs: dict[str, Any], visible: Region | None,
               zoom: float | None = None) -> Proxy:
    """Choose and build the proxy for ``inputs`` (checked arrays; the first is the layer's).

    ``visible`` is the layer area on screen and ``zoom`` the screen pixels per layer pixel
    (:func:`screen_zoom`; None: unknown, a region preview is then at full resolution up to
    :data:`REGION_MAX_PIXELS`)."""
    first = spec.inputs[0].name
    h, w = inputs[first].shape[:2]
    given = [k for k, v in inputs.items() if v is not None]
    aligned = {k for k in given if spec.input(k).aligned}
    mode = spec.preview_mode(given)
    if not all(_same_size(inputs[k], (h, w)) for k in aligned):
        mode = "exact"  # an aligned input of another size: the op will say what is wrong
    if mode == "region" and visible is not None:
        view = Region(*visible).clip((h, w))
        if view is not None:
            return _region_proxy(spec, inputs, aligned, view, (h, w), zoom)
    budget = spec.editor.preview_pixels or WHOLE_MAX_PIXELS
    if mode == "exact" or h * w <= budget:
        return Proxy(dict(inputs))
    scale = math.sqrt(budget / (h * w))
    return Proxy({k: (_scaled(v, scale, spec, k) if k in aligned else v)
                  for k, v in inputs.items()}, scale=scale)


def trim(result: Any, proxy: Proxy, source: np.ndarray) -> Any:
    """Cut the margin off a region result; ``ValueError`` when the op changed the size."""
    if proxy.region is None or not isinstance(result, np.ndarray):
        return result
    if result.shape[:2] != source.shape[:2]:
        raise ValueError("its output size differs from its input; no region preview")
    if proxy.inner is None:
        return result
    return result[proxy.inner.slices]


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
    if value is None:
        return None
    if isinstance(value, list):
        return [_crop(v, box) for v in value]
    return np.ascontiguousarray(value[box.slices])


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


def _scaled(value: Any, scale: float, spec: OperationSpec, name: str) -> Any:
    if scale >= 1.0 or value is None:
        return value
    if isinstance(value, list):
        return [_scaled(v, scale, spec, name) for v in value]
    ispec = spec.input(name)
    if ispec.seeds:
        return downscale_seeds(value, scale)
    return downscale(value, scale, ispec.kind == LayerKind.LABELS)
