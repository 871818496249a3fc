"""Morphology: structuring-element filters, hit-or-miss, distance transform, granulometry and
morphological reconstruction."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, Table, check_image, check_labels
from imgstudio.ops._pixels import alpha_of, as_labels, colour_part, join_alpha, token
from imgstudio.ops._sitk import run_sitk
from imgstudio.ops.binary._common import binary_mask, by_row_strips, foreground

_SHAPES = {"disk": "MORPH_ELLIPSE", "square": "MORPH_RECT", "cross": "MORPH_CROSS"}
_OPS = {
    "erode": "MORPH_ERODE",
    "dilate": "MORPH_DILATE",
    "open": "MORPH_OPEN",
    "close": "MORPH_CLOSE",
    "gradient": "MORPH_GRADIENT",
    "tophat": "MORPH_TOPHAT",
    "blackhat": "MORPH_BLACKHAT",
}


@operation("binary.morphology", title="Morphology", menu="Binary/Morphology")
def morphology(
    image: Image,
    *,
    op: Literal["erode", "dilate", "open", "close", "gradient", "tophat", "blackhat"] = "gradient",
    shape: Literal["disk", "square", "cross"] = "disk",
    size: Annotated[int, Range(1, 99, step=2)] = 3,
    progress: Progress | None = None,
) -> Image:
    """Grey-level morphology (erode, dilate, open, close, gradient, top-hat, black-hat).

    ``cv2.morphologyEx`` with ``cv2.getStructuringElement`` on each colour channel; binary
    images are just two-level grey images. Pixels outside the image never win (OpenCV's
    default border), so objects touching the border are not eroded from outside.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        uint8, uint16 or float32 image. Alpha is carried through untouched.
    op : str
        erode (minimum), dilate (maximum), open (erode then dilate: removes bright details
        smaller than the element), close (dilate then erode: fills dark details), gradient
        (dilate − erode: outlines), tophat (image − open: small bright details), blackhat
        (close − image: small dark details).
    shape : str
        Structuring element: disk (OpenCV's ellipse inscribed in size × size), square or
        cross.
    size : int
        Odd width and height of the structuring element in pixels (1 leaves the image as is
        for erode/dilate/open/close).

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    if size % 2 == 0:
        raise ValueError(f"size must be odd; got {size}")
    if op not in _OPS:
        raise ValueError(f"op must be one of {', '.join(_OPS)}; got {op!r}")
    if shape not in _SHAPES:
        raise ValueError(f"shape must be one of {', '.join(_SHAPES)}; got {shape!r}")
    kernel = cv2.getStructuringElement(getattr(cv2, _SHAPES[shape]), (size, size))
    flag = getattr(cv2, _OPS[op])
    colour = np.ascontiguousarray(colour_part(image))
    reach = size // 2 if op in ("erode", "dilate", "gradient") else 2 * (size // 2)

    def strip(a: int, b: int) -> np.ndarray:
        return cv2.morphologyEx(colour[a:b], flag, kernel)

    out = np.empty_like(colour)
    by_row_strips(colour.shape[0], reach, strip, out, token(progress), f"Morphology ({op})")
    return join_alpha(out, alpha_of(image))


_CELL = re.compile(r"^[+-]?[01]$")


def parse_pattern(pattern: str) -> np.ndarray:
    """Parse a hit-or-miss pattern such as ``"-1 -1 -1; 0 1 0; 1 1 1"`` into an int array.

    Rows are separated by ``;`` or new lines, cells by spaces or commas; each cell is 1
    (foreground), -1 (background) or 0 (either). The pattern must be rectangular with odd
    sides of at most 31 and contain at least one 1 or -1. ``ValueError`` naming ``pattern``
    otherwise.
    """
    if not isinstance(pattern, str):
        raise ValueError(f"pattern must be a string of rows like '-1 -1 -1; 0 1 0; 1 1 1'; got {pattern!r}")
    rows = [r.strip() for r in re.split(r"[;\n]", pattern.strip())]
    if rows and rows[-1] == "":
        rows.pop()  # a trailing separator
    if not rows or any(r == "" for r in rows):
        raise ValueError(f"pattern has an empty row; expected rows like '-1 -1 -1; 0 1 0; 1 1 1', got {pattern!r}")
    cells = [[c for c in re.split(r"[,\s]+", r) if c] for r in rows]
    for i, row in enumerate(cells):
        for c in row:
            if not _CELL.match(c):
                raise ValueError(f"pattern cells must be 1, -1 or 0; got {c!r} in row {i + 1}")
    widths = {len(row) for row in cells}
    if len(widths) != 1:
        raise ValueError(f"pattern rows must have the same number of cells; got {sorted(widths)}")
    kernel = np.array([[int(c) for c in row] for row in cells], dtype=np.int32)
    h, w = kernel.shape
    if h % 2 == 0 or w % 2 == 0 or h > 31 or w > 31:
        raise ValueError(f"pattern must have an odd number (<= 31) of rows and columns; got {h} × {w}")
    if not kernel.any():
        raise ValueError("pattern must contain at least one 1 or -1 (all 0 matches everywhere)")
    return kernel


@operation("binary.hit_or_miss", title="Hit-or-miss", menu="Binary/Morphology")
def hit_or_miss(image: Image, *, pattern: str = "-1 -1 -1; 0 1 0; 1 1 1") -> Labels:
    """Mark the pixels where a pattern of foreground/background/either cells matches.

    ``cv2.morphologyEx(..., cv2.MORPH_HITMISS, pattern)``: a pixel is 1 where, with the
    pattern centred on it, every 1 cell lies on foreground and every -1 cell on background.
    Pattern cells outside the image count as background (the image is padded with 0).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Binary image: 0 and one other value (0/1, 0/255, 0.0/1.0); any non-zero colour
        channel is foreground. Other images raise ``ValueError`` (threshold them first).
    pattern : str
        Rows separated by ``;`` (or new lines), cells by spaces: 1 foreground, -1
        background, 0 don't care; odd numbers of rows and columns (at most 31). The default
        finds pixels with an empty row above and a full row below.

    Returns
    -------
    (H, W) int32 ndarray
        1 at the centres of matches, 0 elsewhere.
    """
    import cv2

    kernel = parse_pattern(pattern)
    mask = binary_mask(image, op="hit_or_miss")
    ph, pw = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(mask.astype(np.uint8) * np.uint8(255), ((ph, ph), (pw, pw)))
    hits = cv2.morphologyEx(padded, cv2.MORPH_HITMISS, kernel)
    return as_labels(hits[ph: ph + mask.shape[0], pw: pw + mask.shape[1]] > 0)


@operation("binary.distance_transform", title="Distance transform", menu="Binary/Mask")
def distance_transform(
    image: Image,
    *,
    metric: Literal["euclidean", "manhattan", "chessboard"] = "euclidean",
    progress: Progress | None = None,
) -> Image:
    """Distance in pixels from each foreground pixel to the nearest background pixel.

    euclidean: ``scipy.ndimage.distance_transform_edt``; manhattan and chessboard:
    ``scipy.ndimage.distance_transform_cdt`` with the taxicab / chessboard metric. Only
    background pixels inside the image count (the border is not background).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Foreground is every pixel with a colour channel > 0 (any image works; a mask is
        0/1 or 0/max). It needs at least one background pixel.
    metric : str
        euclidean (straight line), manhattan (4-connected steps) or chessboard (8-connected
        steps).

    Returns
    -------
    (H, W) float32 ndarray
        Distances in pixels (0 on background) — not scaled to [0, 1].
    """
    import scipy.ndimage as ndi

    fg = foreground(image)
    if fg.all():
        raise ValueError("image has no background pixel (all pixels > 0): no distance to measure")
    progress = token(progress)
    progress(0.0, "Distance transform")
    if metric == "euclidean":
        dist = ndi.distance_transform_edt(fg)
    elif metric in ("manhattan", "chessboard"):
        dist = ndi.distance_transform_cdt(fg, metric="taxicab" if metric == "manhattan" else "chessboard")
    else:
        raise ValueError(f"metric must be euclidean, manhattan or chessboard; got {metric!r}")
    progress(1.0, "Distance transform")
    return dist.astype(np.float32)


@operation("binary.granulometry", title="Granulometry", menu="Analyze/Measure")
def granulometry(
    image: Image,
    *,
    max_size: Annotated[int, Range(1, 500)] = 30,
    progress: Progress | None = None,
) -> Table:
    """Foreground area left after opening with discs of radius 1, 2, ... max_size (size curve).

    The area after opening with ``skimage.morphology.disk(r)`` (pixels with x² + y² ≤ r²)
    for r = 1..max_size; its drops tell how much foreground is made of objects of each
    width. Pixels outside the image are ignored (neither foreground nor background), as in
    ``skimage.morphology.opening(..., mode="ignore")``.

    Computed exactly with two Euclidean distance transforms per radius (erosion by a disc =
    distance to background > r; dilation = distance to the eroded set ≤ r) instead of
    sliding discs, which is far faster for large radii.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Binary image: 0 and one other value; any non-zero colour channel is foreground.
    max_size : int
        Largest disc radius in pixels.

    Returns
    -------
    Table
        Columns ``size`` (the radius, 1..max_size) and ``area`` (foreground pixels left after
        the opening; never increasing).
    """
    import cv2

    mask = binary_mask(image, op="granulometry").astype(np.uint8)
    progress = token(progress)
    # distance from each pixel to the nearest background pixel (exact Euclidean, float32)
    to_background = cv2.distanceTransform(mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    sizes = list(range(1, max_size + 1))
    areas: list[int] = []
    for r in sizes:
        if areas and areas[-1] == 0:
            areas.append(0)
            continue
        # Squared pixel distances are integers: d <= r or d >= sqrt(r² + 1). Splitting at the
        # midpoint leaves a margin of ~1/(4r), far above float32 rounding, so this is exact.
        split = np.float32((r + np.sqrt(r * r + 1.0)) / 2)
        outside = (to_background < split).view(np.uint8)  # 0 on the eroded set
        to_eroded = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        areas.append(int(np.count_nonzero(to_eroded < split)))
        progress(r / max_size, f"Opening with a disc of radius {r}")
    return Table({"size": sizes, "area": areas})


_SITK_TYPES = {np.dtype(np.uint8): "sitkUInt8", np.dtype(np.uint16): "sitkUInt16",
               np.dtype(np.float32): "sitkFloat32"}


@operation("binary.reconstruct", title="Morphological reconstruction", menu="Binary/Morphology")
def reconstruct(
    image: Image,
    *,
    markers: Labels | None = None,
    marker_image: Image | None = None,
    method: Literal["dilation", "erosion"] = "dilation",
    progress: Progress | None = None,
) -> Image:
    """Morphological reconstruction of the image from markers (keep what the markers touch).

    By dilation the seed grows (8-connected) but never above ``image``; by erosion it
    shrinks but never below. Same result as ``skimage.morphology.reconstruction`` with its
    default 3 × 3 footprint, computed with SimpleITK's ReconstructionByDilation/Erosion
    (several times faster, and it can report progress and be cancelled).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        The mask image (uint8, uint16 or float32); each colour channel is reconstructed on
        its own and alpha is carried through.
    markers : (H, W) Labels, optional
        Where to start: the seed is ``image`` where ``markers > 0`` and the image's minimum
        (dilation) or maximum (erosion) elsewhere. On a binary image, dilation keeps the
        objects that touch a marker; erosion fills the holes that touch one.
    marker_image : (H, W[, 3|4]) ndarray, optional
        Or the seed itself, same shape and dtype as ``image``: ≤ ``image`` everywhere for
        dilation, ≥ for erosion (e.g. ``image`` minus h for an h-dome). Give exactly one of
        ``markers`` and ``marker_image``.
    method : str
        dilation or erosion.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    import SimpleITK as sitk

    image = check_image(image)
    if method not in ("dilation", "erosion"):
        raise ValueError(f"method must be dilation or erosion; got {method!r}")
    if (markers is None) == (marker_image is None):
        raise ValueError("give exactly one of markers (a Labels layer) and marker_image")
    colour = image[..., :3] if image.ndim == 3 else image[..., None]
    if markers is not None:
        markers = check_labels(markers, "markers")
        if markers.shape != image.shape[:2]:
            raise ValueError(f"markers must have the image's size {image.shape[:2]}; got {markers.shape}")
        where = (markers > 0)[..., None]
        fill = colour.min(axis=(0, 1)) if method == "dilation" else colour.max(axis=(0, 1))
        seed = np.where(where, colour, fill.astype(colour.dtype))
    else:
        marker_image = check_image(marker_image, "marker_image")
        if marker_image.shape != image.shape or marker_image.dtype != image.dtype:
            raise ValueError(
                f"marker_image must have the image's shape and dtype {image.shape} {image.dtype}; "
                f"got {marker_image.shape} {marker_image.dtype}"
            )
        seed = marker_image[..., :3] if image.ndim == 3 else marker_image[..., None]
        if method == "dilation" and np.any(seed > colour):
            raise ValueError("marker_image must be <= image everywhere for reconstruction by dilation")
        if method == "erosion" and np.any(seed < colour):
            raise ValueError("marker_image must be >= image everywhere for reconstruction by erosion")

    pixel_type = getattr(sitk, _SITK_TYPES[image.dtype])
    out = np.empty_like(colour)
    n = colour.shape[2]
    for c in range(n):
        filt = (sitk.ReconstructionByDilationImageFilter() if method == "dilation"
                else sitk.ReconstructionByErosionImageFilter())
        filt.SetFullyConnected(True)
        pair = [sitk.Cast(sitk.GetImageFromArray(np.ascontiguousarray(a[..., c])), pixel_type)
                for a in (seed, colour)]
        result = run_sitk(filt, tuple(pair), token(progress).sub(c / n, (c + 1) / n),
                          f"Reconstruction by {method}")
        out[..., c] = sitk.GetArrayViewFromImage(result)
    return out[..., 0] if image.ndim == 2 else join_alpha(out, alpha_of(image))
