"""Mask clean-up and objects: skeleton, hole filling, small-object removal, connected
components and blob detection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Points, Range, Result, Table, check_image
from imgstudio.ops._pixels import as_labels, grey, token
from imgstudio.ops.binary._common import binary_mask, foreground


def _independent_bands(mask: np.ndarray, parts: int = 16) -> list[tuple[int, int]]:
    """Row bands ``[a, b)`` of about ``height / parts`` rows, cut only between rows that no
    8-connected component spans, so each band holds whole components."""
    import cv2

    height = mask.shape[0]
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    top, rows = stats[1:, cv2.CC_STAT_TOP], stats[1:, cv2.CC_STAT_HEIGHT]
    cover = np.zeros(height + 1, np.int64)
    np.add.at(cover, top + 1, 1)
    np.add.at(cover, top + rows, -1)
    spanned = np.cumsum(cover)  # spanned[r]: components with pixels in both rows r - 1 and r
    bands, start, step = [], 0, max(1, height // parts)
    for cut in np.flatnonzero(spanned[:height] == 0):
        if cut - start >= step:
            bands.append((start, int(cut)))
            start = int(cut)
    bands.append((start, height))
    return bands


@operation("binary.skeletonize", title="Skeletonize", menu="Binary/Mask")
def skeletonize(image: Image, *, progress: Progress | None = None) -> Labels:
    """Thin the foreground to one-pixel-wide lines (Zhang's thinning).

    Same result as ``skimage.morphology.skeletonize``; it runs band by band (bands of rows
    holding whole 8-connected objects, which thin independently) to report progress and stop
    early when cancelled. One object filling the image is a single band.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Binary image: 0 and one other value (0/1, 0/255, 0.0/1.0); any non-zero colour
        channel is foreground. Other images raise ``ValueError`` (threshold them first).

    Returns
    -------
    (H, W) int32 ndarray
        1 on the skeleton, 0 elsewhere.
    """
    import skimage.morphology

    mask = binary_mask(image, op="skeletonize")
    progress = token(progress)
    out = np.zeros(mask.shape, np.int32)
    height = mask.shape[0]
    for a, b in _independent_bands(mask):
        progress(a / height, "Skeletonizing")
        if mask[a:b].any():
            out[a:b] = skimage.morphology.skeletonize(mask[a:b])
    progress(1.0, "Skeletonizing")
    return out


@operation("binary.fill_holes", title="Fill holes", menu="Binary/Mask")
def fill_holes(image: Image) -> Labels:
    """Fill the background regions that do not reach the image border.

    ``scipy.ndimage.binary_fill_holes`` with its default 4-connected background: a hole is
    background not connected (by edges) to the border.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Binary image: 0 and one other value; any non-zero colour channel is foreground.
        Other images raise ``ValueError``.

    Returns
    -------
    (H, W) int32 ndarray
        Mask: 1 on the foreground and its holes.
    """
    import scipy.ndimage as ndi

    return as_labels(ndi.binary_fill_holes(binary_mask(image, op="fill_holes")))


@operation("binary.remove_small", title="Remove small objects", menu="Binary/Mask")
def remove_small(
    image: Image,
    *,
    min_size: Annotated[int, Range(0, 100_000_000)] = 64,
    connectivity: Literal[1, 2] = 1,
) -> Labels:
    """Remove the connected foreground objects of fewer than min_size pixels.

    ``skimage.morphology.remove_small_objects(mask, max_size=min_size - 1, connectivity=...)``
    (scikit-image 0.26 keeps objects larger than ``max_size``).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Binary image: 0 and one other value; any non-zero colour channel is foreground.
        Other images raise ``ValueError``.
    min_size : int
        Objects with at least this many pixels are kept; 0 or 1 keeps everything.
    connectivity : int
        1: pixels touching by an edge belong to one object (scikit-image's default); 2: by an
        edge or a corner (as ``binary.label``'s default).

    Returns
    -------
    (H, W) int32 ndarray
        Mask of the kept objects.
    """
    import skimage.morphology

    if connectivity not in (1, 2):
        raise ValueError(f"connectivity must be 1 or 2; got {connectivity!r}")
    mask = binary_mask(image, op="remove_small")
    if min_size <= 1:
        return as_labels(mask)
    kept = skimage.morphology.remove_small_objects(
        mask, max_size=min_size - 1, connectivity=connectivity
    )
    return as_labels(kept)


@dataclass(frozen=True, eq=False)
class Components(Result):
    """Connected components: one label per object (0 = background) and how many there are."""

    labels: Labels
    count: int


@operation("binary.label", title="Label objects", menu="Binary/Mask")
def label(image: Image, *, connectivity: Literal[1, 2] = 2) -> Components:
    """Give each connected foreground object its own label and count the objects.

    ``skimage.measure.label(image > 0, connectivity=...)``: labels 1..count in raster order
    of each object's first pixel.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Foreground is every pixel with a colour channel > 0 (a mask is 0/1 or 0/max).
    connectivity : int
        1: pixels touching by an edge are connected (4-neighbourhood); 2: by an edge or a
        corner (8-neighbourhood).

    Returns
    -------
    Components
        ``labels`` (H, W) int32 and ``count``, the number of objects.
    """
    import skimage.measure

    if connectivity not in (1, 2):
        raise ValueError(f"connectivity must be 1 or 2; got {connectivity!r}")
    labels, count = skimage.measure.label(
        foreground(image), connectivity=connectivity, return_num=True
    )
    return Components(as_labels(labels), int(count))


@dataclass(frozen=True, eq=False)
class Blobs(Result):
    """Detected blobs: centres ``(x, y)`` and a table with their scale and radius."""

    points: Points
    table: Table


@operation("binary.blobs", title="Detect blobs", menu="Binary/Detect")
def blobs(
    image: Image,
    *,
    method: Literal["log", "dog", "doh"] = "log",
    min_sigma: Annotated[float, Range(0.5, 100.0)] = 1.0,
    max_sigma: Annotated[float, Range(0.5, 100.0)] = 30.0,
    threshold: Annotated[float, Range(0.0, 1.0)] = 0.1,
    progress: Progress | None = None,
) -> Blobs:
    """Find bright blobs on a dark background (Laplacian of Gaussian, DoG or Hessian).

    ``skimage.feature.blob_log`` / ``blob_dog`` / ``blob_doh`` on the grey image (BT.601
    luma in the image's dtype, as ``basic.grayscale``; scikit-image scales it to [0, 1]),
    with their other parameters at scikit-image's defaults. The detector runs in one call:
    progress is reported before and after it, and a cancel takes effect when it returns.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        uint8, uint16 or float32 image; alpha is ignored. Dark blobs: invert first.
    method : str
        log (Laplacian of Gaussian: most accurate, slowest), dog (difference of Gaussians:
        faster approximation) or doh (determinant of the Hessian: fastest, misses blobs
        smaller than about 3 pixels).
    min_sigma : float
        Smallest Gaussian scale searched, in pixels (a blob's radius is about sigma·√2 for
        log/dog and sigma for doh).
    max_sigma : float
        Largest Gaussian scale searched, in pixels (>= min_sigma). Time grows with it.
    threshold : float
        Minimum scale-space response of a blob (intensities in [0, 1]); lower finds fainter
        blobs. Typical: 0.1 for log/dog, 0.005–0.01 for doh.

    Returns
    -------
    Blobs
        ``points`` (N, 2) blob centres in (x, y) and ``table`` with columns ``x``, ``y``,
        ``sigma`` and ``radius`` (one row per point).
    """
    import skimage.feature

    image = check_image(image)
    if method not in ("log", "dog", "doh"):
        raise ValueError(f"method must be log, dog or doh; got {method!r}")
    if max_sigma < min_sigma:
        raise ValueError(f"max_sigma must be >= min_sigma ({min_sigma}); got {max_sigma}")
    progress = token(progress)
    progress(0.05, f"Detecting blobs ({method})")
    detect = getattr(skimage.feature, f"blob_{method}")
    found = np.asarray(
        detect(grey(image), min_sigma=min_sigma, max_sigma=max_sigma, threshold=threshold),
        dtype=np.float64,
    ).reshape(-1, 3)
    progress(1.0, f"Detecting blobs ({method})")
    points = np.ascontiguousarray(found[:, [1, 0]])
    sigma = found[:, 2]
    radius = sigma * np.sqrt(2.0) if method in ("log", "dog") else sigma
    table = Table({
        "x": points[:, 0].tolist(),
        "y": points[:, 1].tolist(),
        "sigma": sigma.tolist(),
        "radius": radius.tolist(),
    })
    return Blobs(points, table)
