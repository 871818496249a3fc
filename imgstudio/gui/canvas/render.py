"""Layers to screen pixels: only the visible region, at screen resolution. Qt-free (numpy + cv2).

Geometry: image pixel ``(row i, col j)`` covers ``[j, j+1) x [i, i+1)`` in image coordinates;
a :class:`Viewport` puts the image origin at output pixel ``(x, y)`` with ``zoom`` output
pixels per image pixel. Output pixel ``p`` shows the image point under its centre ``p + 0.5``.

Per layer the renderer samples its data onto the output grid with one ``cv2.warpAffine``
(nearest neighbour when zoomed in, bilinear from a :class:`~.pyramid.Pyramid` level when zoomed
out; a plain slice, no copy, when the mapping is a whole-pixel shift), converts to 8-bit RGB
plus alpha (contrast window for uint16/float32, palette for labels) and composites bottom to
top with the layer's opacity and blend mode (W3C compositing formulas, straight alpha).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from imgstudio.core.types import Region
from imgstudio.gui.canvas.pyramid import Pyramid, level_for_zoom
from imgstudio.gui.palette_colors import LABEL_ALPHA, LABEL_COLORS, palette_indices

Extent = tuple[float, float, float, float]  # (y0, y1, x0, x1) in image coordinates
Window = tuple[float, float]

BLEND_MODES = ("normal", "multiply", "screen", "overlay", "difference", "add")
_SAMPLE_PIXELS = 1 << 18  # pixels looked at for the automatic contrast window
_LUT_RGB = np.ascontiguousarray(LABEL_COLORS.reshape(1, 256, 3))
_LUT_ALPHA = np.full(256, LABEL_ALPHA, np.float32)
_LUT_ALPHA[0] = 0.0
_CV_NEAREST_DTYPES = {np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.int32, np.float32)}


@dataclass(frozen=True)
class Viewport:
    """Where the image lies on the output: origin at ``(x, y)``, ``zoom`` px per pixel."""

    zoom: float
    x: float
    y: float
    width: int
    height: int

    def span(self, lo: float, hi: float, axis: int) -> tuple[int, int]:
        """Output pixels (clipped) whose centres fall in image coords ``[lo, hi)`` on ``axis``
        (0: y, 1: x)."""
        pos, limit = (self.y, self.height) if axis == 0 else (self.x, self.width)
        a = math.ceil(pos + lo * self.zoom - 0.5 - 1e-9)
        b = math.ceil(pos + hi * self.zoom - 0.5 - 1e-9)
        return max(a, 0), min(b, limit)

    def visible_region(self, shape: tuple[int, int]) -> Region:
        """Image pixels at least partly on the output, clipped to ``shape`` (H, W)."""
        h, w = shape[:2]
        y0 = max(0, math.floor(-self.y / self.zoom))
        x0 = max(0, math.floor(-self.x / self.zoom))
        y1 = min(h, math.ceil((self.height - self.y) / self.zoom))
        x1 = min(w, math.ceil((self.width - self.x) / self.zoom))
        return y0, max(y0, y1), x0, max(x0, x1)


@dataclass
class Patch:
    """Data shown instead of a layer's pixels inside ``extent`` (a preview of a region)."""

    key: str
    data: np.ndarray
    extent: Extent
    window: Window | None = None


@dataclass
class RenderLayer:
    """One thing to draw. ``kind`` is ``"image"`` or ``"labels"``; ``extent`` is the image
    rectangle the data covers (default: its own size at the origin), so a proxy of another
    resolution is stretched over it."""

    key: str
    data: np.ndarray
    kind: str = "image"
    opacity: float = 1.0
    blend_mode: str = "normal"
    extent: Extent | None = None
    window: Window | None = None
    patch: Patch | None = None
    contours: bool = False  # labels: outlines only

    def bounds(self) -> Extent:
        if self.extent is not None:
            return self.extent
        h, w = self.data.shape[:2]
        return 0.0, float(h), 0.0, float(w)


@dataclass
class Frame:
    """The rendered output: ``array`` ((h, w, 3) RGB or (h, w, 4) RGBA, uint8, straight alpha)
    goes at output pixel ``(x, y)``; None when nothing is visible."""

    array: np.ndarray | None
    x: int = 0
    y: int = 0


# -- pixel conversion ---------------------------------------------------------------------------
def default_window(data: np.ndarray) -> Window:
    """Contrast window of an image: its dtype range for uint8 and for float32 intensities
    (about [0, 1]); the 0.5 and 99.5 percentiles of a subsample for uint16 and for float32 data
    far outside [0, 1] (distances, Laplacians)."""
    if data.dtype == np.uint8:
        return 0.0, 255.0
    step = max(1, int(math.sqrt(data.shape[0] * data.shape[1] / _SAMPLE_PIXELS)))
    sample = data[::step, ::step]
    if data.dtype != np.uint16:
        finite = sample[np.isfinite(sample)]
        if finite.size == 0:
            return 0.0, 1.0
        lo, hi = np.percentile(finite, (0.5, 99.5))
        if lo >= -1.0 and hi <= 2.0:  # an intensity image, perhaps slightly over or under
            return 0.0, 1.0
        return (float(lo), float(hi)) if hi > lo else (float(lo), float(lo) + 1.0)
    if sample.ndim == 3 and sample.shape[2] == 4:
        sample = sample[..., :3]
    lo, hi = np.percentile(sample, (0.5, 99.5))
    lo, hi = float(lo), float(hi)
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def to_uint8(data: np.ndarray, window: Window) -> np.ndarray:
    """Map ``[lo, hi]`` linearly onto 0..255 (clipped, rounded; NaN shows as 0); uint8 data with
    the window (0, 255) is returned as is."""
    lo, hi = float(window[0]), float(window[1])
    if data.dtype == np.uint8 and lo == 0 and hi == 255:
        return data
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    flat = np.ascontiguousarray(data).reshape(data.shape[0], -1)  # one channel for cv2 scalars
    if lo > 0 or data.dtype.kind == "f":
        flat = cv2.max(flat, lo)  # below lo would turn positive in convertScaleAbs
    return cv2.convertScaleAbs(flat, alpha=scale, beta=-lo * scale).reshape(data.shape)


def image_display(data: np.ndarray, window: Window) -> tuple[np.ndarray, np.ndarray | None]:
    """Display RGB uint8 (H, W, 3) and alpha in [0, 1] (float32 (H, W); None when opaque)."""
    alpha = None
    if data.ndim == 3 and data.shape[2] == 4:
        full = 255.0 if data.dtype == np.uint8 else 65535.0 if data.dtype == np.uint16 else 1.0
        alpha = np.clip(data[..., 3].astype(np.float32) * np.float32(1.0 / full), 0, 1)
        if alpha.min() >= 1.0:
            alpha = None
        data = np.ascontiguousarray(data[..., :3])
    rgb = to_uint8(data, window)
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    return rgb, alpha


def labels_display(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Palette RGB uint8 (H, W, 3) and alpha (float32 (H, W)) of a labels array."""
    idx = np.ascontiguousarray(palette_indices(labels))
    rgb = cv2.LUT(cv2.cvtColor(idx, cv2.COLOR_GRAY2RGB), _LUT_RGB)
    alpha = cv2.LUT(idx, _LUT_ALPHA).reshape(idx.shape)
    return rgb, alpha


# -- blending -----------------------------------------------------------------------------------
def blend(mode: str, cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """The blend function B(backdrop, source) of ``mode`` on floats in [0, 1]."""
    if mode == "normal":
        return cs
    if mode == "multiply":
        return cb * cs
    if mode == "screen":
        return cb + cs - cb * cs
    if mode == "overlay":
        return np.where(cb <= 0.5, 2 * cb * cs, 1 - 2 * (1 - cb) * (1 - cs))
    if mode == "difference":
        return np.abs(cb - cs)
    if mode == "add":
        return np.minimum(cb + cs, 1)
    raise ValueError(f"blend_mode must be one of {', '.join(BLEND_MODES)}; got {mode!r}")


class Compositor:
    """Accumulates layers bottom to top over a transparent (h, w) output.

    Stays in uint8 while every layer is normal-blended over an opaque backdrop (the common
    image + labels case); otherwise switches to float32 straight-alpha RGB + alpha.
    """

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        self.rgb: np.ndarray | None = None  # None: nothing yet (fully transparent)
        self.alpha: np.ndarray | None = None  # None: opaque where rgb is set
        self._owned = False  # rgb may be a view of layer data until we own it

    def add(self, rect: Region, rgb: np.ndarray, alpha: np.ndarray | float, mode: str) -> None:
        """Composite ``rgb`` (uint8) with ``alpha`` (map or scalar, opacity included) at
        ``rect`` = (y0, y1, x0, x1) of the output."""
        y0, y1, x0, x1 = rect
        full = (y0, y1, x0, x1) == (0, self.h, 0, self.w)
        opaque = np.isscalar(alpha) and alpha >= 1.0
        if self.rgb is None and full and opaque:
            self.rgb, self.alpha, self._owned = rgb, None, False
            return
        if self.rgb is not None and self.alpha is None and self.rgb.dtype == np.uint8 and (
            mode == "normal"
        ):
            self._own()
            dst = self.rgb[y0:y1, x0:x1]
            if opaque:
                dst[...] = rgb
            elif np.isscalar(alpha):
                if alpha > 0:
                    cv2.addWeighted(rgb, float(alpha), dst, 1.0 - float(alpha), 0.0, dst=dst)
            else:
                a = np.ascontiguousarray(alpha, np.float32)
                dst[...] = cv2.blendLinear(np.ascontiguousarray(rgb), np.ascontiguousarray(dst),
                                           a, 1.0 - a)
            return
        self._to_float()
        assert self.rgb is not None and self.alpha is not None
        cb = self.rgb[y0:y1, x0:x1]
        ab = self.alpha[y0:y1, x0:x1]
        cs = rgb.astype(np.float32) * np.float32(1 / 255)
        a_s = np.broadcast_to(np.asarray(alpha, np.float32), ab.shape)
        mixed = cs + ab[..., None] * (blend(mode, cb, cs) - cs)  # (1 - ab) cs + ab B(cb, cs)
        ao = a_s + ab * (1 - a_s)
        premul = a_s[..., None] * mixed + ((1 - a_s) * ab)[..., None] * cb
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(ao[..., None] > 0, premul / ao[..., None], 0)
        cb[...] = out
        ab[...] = ao

    def _own(self) -> None:
        if not self._owned:
            assert self.rgb is not None
            self.rgb = self.rgb.copy()
            self._owned = True

    def _to_float(self) -> None:
        if self.rgb is None:
            self.rgb = np.zeros((self.h, self.w, 3), np.float32)
            self.alpha = np.zeros((self.h, self.w), np.float32)
        elif self.rgb.dtype == np.uint8:
            self.rgb = self.rgb.astype(np.float32) * np.float32(1 / 255)
            if self.alpha is None:
                self.alpha = np.ones((self.h, self.w), np.float32)
        self._owned = True

    def result(self) -> np.ndarray:
        """(h, w, 3) uint8 when opaque everywhere, else (h, w, 4) straight RGBA."""
        if self.rgb is None:
            return np.zeros((self.h, self.w, 4), np.uint8)
        if self.rgb.dtype == np.uint8:
            return self.rgb
        rgb = np.clip(self.rgb * 255 + 0.5, 0, 255).astype(np.uint8)
        assert self.alpha is not None
        if self.alpha.min() >= 1 - 1e-6:
            return rgb
        alpha = np.clip(self.alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        return np.dstack([rgb, alpha])


# -- sampling -----------------------------------------------------------------------------------
def _sample(
    src: np.ndarray,
    data_shape: tuple[int, ...],
    extent: Extent,
    vp: Viewport,
    rect: Region,
    nearest: bool,
    factor: int = 1,
) -> np.ndarray:
    """Sample ``src`` onto the output pixels ``rect``; ``src`` is the pyramid level ``factor``
    times coarser than data of ``data_shape`` covering ``extent`` of the image."""
    ey0, ey1, ex0, ex1 = extent
    sy = (ey1 - ey0) / data_shape[0] * factor  # image units per source pixel
    sx = (ex1 - ex0) / data_shape[1] * factor
    my, mx = 1.0 / (vp.zoom * sy), 1.0 / (vp.zoom * sx)  # source px per output px
    y0, y1, x0, x1 = rect
    ty = ((y0 + 0.5 - vp.y) / vp.zoom - ey0) / sy - 0.5  # source coordinate of output px 0
    tx = ((x0 + 0.5 - vp.x) / vp.zoom - ex0) / sx - 0.5
    h, w = y1 - y0, x1 - x0
    if abs(my - 1) < 1e-9 and abs(mx - 1) < 1e-9:
        iy, ix = round(ty), round(tx)
        if abs(ty - iy) < 1e-6 and abs(tx - ix) < 1e-6 and (
            0 <= iy and iy + h <= src.shape[0] and 0 <= ix and ix + w <= src.shape[1]
        ):
            return src[iy : iy + h, ix : ix + w]  # a whole-pixel shift: a view, no copy
    if not nearest:
        out = _resize_exact(src, my, mx, ty, tx, h, w)
        if out is not None:
            return out
    if nearest and src.dtype not in _CV_NEAREST_DTYPES:  # e.g. int64 labels
        rows = np.clip(np.floor(np.arange(h) * my + ty + 0.5), 0, src.shape[0] - 1).astype(int)
        cols = np.clip(np.floor(np.arange(w) * mx + tx + 0.5), 0, src.shape[1] - 1).astype(int)
        return src[rows[:, None], cols[None, :]]
    matrix = np.array([[mx, 0.0, tx], [0.0, my, ty]])
    flags = (cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(src, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape((h, w, *src.shape[2:]))


def _resize_exact(
    src: np.ndarray, my: float, mx: float, ty: float, tx: float, h: int, w: int
) -> np.ndarray | None:
    """Bilinear sampling as in :func:`_sample` by ``cv2.resize`` (separable, faster than
    ``warpAffine``) when its pixel grid lines up exactly with the output's; else None.

    ``cv2.resize`` with scale factors maps output ``j`` to ``c + (j + 0.5) m - 0.5`` from a crop
    starting at ``c``; equal to ``t + j m`` when ``c = t + 0.5 - 0.5 m`` is a whole number
    (e.g. whenever the image's top-left corner is on screen at a whole-pixel position).
    """
    cy, cx = ty + 0.5 - 0.5 * my, tx + 0.5 - 0.5 * mx
    iy, ix = round(cy), round(cx)
    if abs(cy - iy) > 1e-6 or abs(cx - ix) > 1e-6 or iy < 0 or ix < 0:
        return None
    crop = src[iy : iy + math.ceil(h * my) + 2, ix : ix + math.ceil(w * mx) + 2]
    out = cv2.resize(crop, None, fx=1.0 / mx, fy=1.0 / my, interpolation=cv2.INTER_LINEAR)
    if out.shape[0] < h or out.shape[1] < w:
        return None
    return out[:h, :w].reshape((h, w, *src.shape[2:]))


def _rect(vp: Viewport, extent: Extent) -> Region:
    y0, y1 = vp.span(extent[0], extent[1], 0)
    x0, x1 = vp.span(extent[2], extent[3], 1)
    return y0, max(y0, y1), x0, max(x0, x1)


def _empty(rect: Region) -> bool:
    return rect[1] <= rect[0] or rect[3] <= rect[2]


def _intersect(a: Region, b: Region) -> Region:
    return max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3])


Pixels = tuple[Region, np.ndarray, "np.ndarray | float"]


class Renderer:
    """Renders :class:`RenderLayer` lists for viewports; caches pyramids and contrast windows
    per key (a layer id). Call :meth:`invalidate` when data changes in place."""

    def __init__(self) -> None:
        self._pyramids: dict[str, Pyramid] = {}
        self._auto_windows: dict[str, tuple[np.ndarray, Window]] = {}
        self._windows: dict[str, Window] = {}

    # -- caches ---------------------------------------------------------------------------------
    def pyramid(self, key: str, data: np.ndarray) -> Pyramid:
        """The pyramid of ``data`` cached under ``key`` (rebuilt when the array is replaced)."""
        pyr = self._pyramids.get(key)
        if pyr is None or pyr.data is not data:
            pyr = self._pyramids[key] = Pyramid(data)
        return pyr

    def invalidate(self, key: str, region: Region | None = None) -> None:
        """Data of ``key`` changed in ``region`` (None: everything; the window is recomputed)."""
        if region is None:
            self._pyramids.pop(key, None)
            self._auto_windows.pop(key, None)
            return
        pyr = self._pyramids.get(key)
        if pyr is not None:
            pyr.update(region)

    def forget(self, key: str) -> None:
        """Drop everything cached for ``key``."""
        self._pyramids.pop(key, None)
        self._auto_windows.pop(key, None)
        self._windows.pop(key, None)

    def set_window(self, key: str, window: Window | None) -> None:
        """Fix the contrast window of ``key`` (None: back to automatic)."""
        if window is None:
            self._windows.pop(key, None)
            return
        lo, hi = float(window[0]), float(window[1])
        if not hi > lo:
            raise ValueError(f"window must have hi > lo; got {window!r}")
        self._windows[key] = (lo, hi)

    def window(self, key: str, data: np.ndarray) -> Window:
        """The contrast window used for ``data`` under ``key``."""
        if key in self._windows:
            return self._windows[key]
        cached = self._auto_windows.get(key)
        if cached is None or cached[0] is not data:
            cached = self._auto_windows[key] = (data, default_window(data))
        return cached[1]

    # -- rendering ------------------------------------------------------------------------------
    def render(self, layers: Sequence[RenderLayer], vp: Viewport) -> Frame:
        """Composite ``layers`` (bottom first) on the part of ``vp`` they cover."""
        if vp.zoom <= 0:
            return Frame(None)
        rects = [r for r in (_rect(vp, layer.bounds()) for layer in layers) if not _empty(r)]
        if not rects:
            return Frame(None)
        oy0, oy1 = min(r[0] for r in rects), max(r[1] for r in rects)
        ox0, ox1 = min(r[2] for r in rects), max(r[3] for r in rects)
        comp = Compositor(oy1 - oy0, ox1 - ox0)
        for layer in layers:
            if layer.opacity <= 0:
                continue
            drawn = self._layer_pixels(layer, vp)
            if drawn is None:
                continue
            (y0, y1, x0, x1), rgb, alpha = drawn
            if layer.opacity < 1:
                alpha = alpha * np.float32(layer.opacity)
            comp.add((y0 - oy0, y1 - oy0, x0 - ox0, x1 - ox0), rgb, alpha, layer.blend_mode)
        return Frame(comp.result(), ox0, oy0)

    def _layer_pixels(self, layer: RenderLayer, vp: Viewport) -> Pixels | None:
        rect = _rect(vp, layer.bounds())
        if _empty(rect):
            return None
        if layer.kind == "labels" and layer.patch is None:
            return self._labels(layer.data, layer.bounds(), vp, rect, layer.contours)
        window = layer.window
        rect, rgb, alpha = self._pixels(layer.key, layer.data, layer.kind, layer.bounds(),
                                        window, vp, rect)
        patch = layer.patch
        if patch is None:
            return rect, rgb, alpha
        prect = _intersect(_rect(vp, patch.extent), rect)
        if _empty(prect):
            return rect, rgb, alpha
        window = patch.window
        if window is None and layer.kind == "image" and patch.data.dtype == layer.data.dtype:
            window = layer.window or self.window(layer.key, layer.data)
        _, prgb, palpha = self._pixels(patch.key, patch.data, layer.kind, patch.extent, window,
                                       vp, prect)
        y0, x0 = rect[0], rect[2]
        inner = (slice(prect[0] - y0, prect[1] - y0), slice(prect[2] - x0, prect[3] - x0))
        rgb = rgb.copy()
        rgb[inner] = prgb
        if np.isscalar(alpha) and np.isscalar(palpha) and alpha == palpha:
            return rect, rgb, alpha
        alpha = np.full(rgb.shape[:2], alpha, np.float32) if np.isscalar(alpha) else alpha.copy()
        alpha[inner] = palpha
        return rect, rgb, alpha

    def _pixels(
        self,
        key: str,
        data: np.ndarray,
        kind: str,
        extent: Extent,
        window: Window | None,
        vp: Viewport,
        rect: Region,
    ) -> Pixels:
        if kind == "labels":
            rgb, alpha = labels_display(_sample(_labels_array(data), data.shape, extent, vp,
                                                rect, True))
            return rect, rgb, alpha
        zoom = vp.zoom * min((extent[1] - extent[0]) / data.shape[0],
                             (extent[3] - extent[2]) / data.shape[1])
        level = level_for_zoom(zoom)
        if level > 0:
            pyr = self.pyramid(key, data)
            level = min(level, pyr.max_level)
        if level > 0:
            sampled = _sample(pyr.level(level), data.shape, extent, vp, rect, False, 1 << level)
        else:
            sampled = _sample(data, data.shape, extent, vp, rect, zoom >= 1)
        if window is None:
            window = self.window(key, data)
        rgb, alpha = image_display(sampled, window)
        return rect, rgb, (1.0 if alpha is None else alpha)

    @staticmethod
    def _labels(data: np.ndarray, extent: Extent, vp: Viewport, rect: Region,
                contours: bool = False) -> Pixels | None:
        """Labels, cropped to the box of labelled output pixels (often small: seeds)."""
        sampled = _sample(_labels_array(data), data.shape, extent, vp, rect, True)
        if contours:
            sampled = outline(sampled)
        idx = palette_indices(sampled)
        bx, by, bw, bh = cv2.boundingRect(np.ascontiguousarray(idx))
        if bw == 0 or bh == 0:
            return None
        rgb, alpha = labels_display(idx[by : by + bh, bx : bx + bw])
        y0, x0 = rect[0] + by, rect[2] + bx
        return (y0, y0 + bh, x0, x0 + bw), rgb, alpha


def outline(labels: np.ndarray) -> np.ndarray:
    """Keep only the pixels of ``labels`` that touch another value (4-neighbours): outlines
    one screen pixel wide, since this runs on the sampled viewport."""
    edge = np.zeros(labels.shape, bool)
    vertical = labels[:-1] != labels[1:]
    horizontal = labels[:, :-1] != labels[:, 1:]
    edge[:-1] |= vertical
    edge[1:] |= vertical
    edge[:, :-1] |= horizontal
    edge[:, 1:] |= horizontal
    return np.where(edge, labels, 0)


def _labels_array(data: np.ndarray) -> np.ndarray:
    return data.view(np.uint8) if data.dtype == bool else data
