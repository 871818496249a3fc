"""Painterly effects: OpenCV stylization and SLIC stained glass."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image, dtype_max
from imgstudio.ops._pixels import (
    clip_to_dtype,
    from_uint8,
    join_alpha,
    split_alpha,
    to_uint8,
    token,
)
from imgstudio.ops.artistic._common import SigmaR, SigmaS


@operation("artistic.stylize", title="Stylize (watercolour)", menu="Filters/Artistic")
def stylize(
    image: Image,
    *,
    sigma_s: SigmaS = 60.0,
    sigma_r: SigmaR = 0.45,
    progress: Progress | None = None,
) -> Image:
    """Watercolour-like abstraction with OpenCV's edge-preserving stylization (cv2.stylization).

    Runs ``cv2.stylization(src, sigma_s, sigma_r)`` on the 8-bit image (grey input is
    replicated into three channels, whose results are equal). uint16 and float32 images are
    rounded to 8 bits and the result scaled back (×257, /255). Alpha is carried through. Slow on
    large images (about 20 s at 12 MP on two cores); the single OpenCV call cannot be
    interrupted once started.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    sigma_s : float
        Spatial extent of the smoothing, in pixels.
    sigma_r : float
        Range (edge) sensitivity: smaller keeps more edges.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    progress = token(progress)
    colour, alpha = split_alpha(image)
    base = to_uint8(colour)
    # cv2.stylization treats the three channels symmetrically (filtering and the edge term use
    # all channels alike), so RGB goes in as it is: no BGR round trip (the tests check this).
    work = cv2.cvtColor(base, cv2.COLOR_GRAY2RGB) if base.ndim == 2 else base
    progress(0.05, "stylization")
    out = cv2.stylization(work, sigma_s=sigma_s, sigma_r=sigma_r)
    progress(1.0, "stylization")
    if base.ndim == 2:
        out = np.ascontiguousarray(out[..., 0])
    return join_alpha(from_uint8(out, image.dtype), alpha)


@operation("artistic.stained_glass", title="Stained glass", menu="Filters/Artistic")
def stained_glass(
    image: Image,
    *,
    cells: Annotated[int, Range(2, 50_000)] = 400,
    border: bool = True,
    progress: Progress | None = None,
) -> Image:
    """Stained glass: SLIC superpixels, each filled with its mean colour, with black leading.

    ``skimage.segmentation.slic(n_segments=cells, compactness=10, start_label=1)`` cuts the
    image into about ``cells`` compact regions (RGB is clustered in CIELAB; grey intensity is
    scaled to [0, 100] like L*). Every region takes the mean of its pixels (rounded for integer
    dtypes); with ``border`` the pixels of ``skimage.segmentation.find_boundaries(mode='thick')``
    are set to 0. Alpha is carried through. Slow on large images (SLIC takes about 15 s at 12 MP).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    cells : int
        Approximate number of glass cells.
    border : bool
        Draw black lines between the cells.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    from skimage.segmentation import find_boundaries, slic

    image = check_image(image)
    progress = token(progress)
    colour, alpha = split_alpha(image)
    progress(0.02, "superpixels")
    if colour.ndim == 2:
        scaled = colour.astype(np.float32) * np.float32(100.0 / dtype_max(colour.dtype))
        labels = slic(scaled, n_segments=cells, compactness=10.0, start_label=1,
                      channel_axis=None)
    else:
        labels = slic(colour, n_segments=cells, compactness=10.0, start_label=1)
    progress(0.85, "cell colours")
    flat = labels.ravel()
    count = np.bincount(flat)
    count[count == 0] = 1  # unused label numbers; never looked up
    planes = [colour] if colour.ndim == 2 else [colour[..., i] for i in range(3)]
    means = np.stack([np.bincount(flat, weights=p.ravel(), minlength=len(count)) / count
                      for p in planes], axis=-1)
    out = clip_to_dtype(means, colour.dtype)[labels]
    if colour.ndim == 2:
        out = out[..., 0]
    if border:
        progress(0.95, "leading")
        out[find_boundaries(labels, mode="thick")] = 0
    progress(1.0, "stained glass")
    return join_alpha(out, alpha)
