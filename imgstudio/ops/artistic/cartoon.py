"""Cartoon effects: the classic bilateral cartoon and the anisotropic-diffusion cartoon."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image, dtype_max
from imgstudio.ops._params import Kappa
from imgstudio.ops._pixels import (
    clip_to_dtype,
    from_uint8,
    grey_cv,
    join_alpha,
    split_alpha,
    to_uint8,
    token,
)
from imgstudio.ops.artistic._common import Niter, check_odd, edge_strength, perona_malik


@operation("artistic.cartoon", title="Cartoon", menu="Filters/Artistic")
def cartoon(
    image: Image,
    *,
    num_down: Annotated[int, Range(0, 6)] = 2,
    num_bilateral: Annotated[int, Range(0, 30)] = 7,
    median_ksize: Annotated[int, Range(1, 31, step=2)] = 7,
    block_size: Annotated[int, Range(3, 99, step=2)] = 9,
    c: Annotated[float, Range(-50.0, 50.0)] = 2.0,
    progress: Progress | None = None,
) -> Image:
    """Flat colours with inked edges: bilateral-smoothed colour AND adaptive-threshold lines.

    The classic OpenCV cartoon pipeline, on 8-bit values:

    1. colour: ``cv2.pyrDown`` ``num_down`` times, ``cv2.bilateralFilter`` (d=9,
       sigmaColor=9, sigmaSpace=7) ``num_bilateral`` times, ``cv2.pyrUp`` back through the
       same sizes (``dstsize`` of each level, so the result has exactly the original size);
    2. ink: BT.601 grey of the input, ``cv2.medianBlur`` (``median_ksize``), then
       ``cv2.adaptiveThreshold`` (ADAPTIVE_THRESH_MEAN_C, THRESH_BINARY, ``block_size``, ``c``):
       255 on paper, 0 on lines;
    3. ``cv2.bitwise_and`` of colour and ink.

    uint16 and float32 images are rounded to 8 bits, processed, and the 8-bit result is scaled
    back (×257, /255), so their output has 256 levels. Alpha is carried through untouched.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; grey images give a grey cartoon.
    num_down : int
        Number of pyramid halvings before the bilateral filtering (0 filters at full size).
    num_bilateral : int
        Number of bilateral filter passes.
    median_ksize : int
        Odd median window applied to the grey image before thresholding.
    block_size : int
        Odd neighbourhood size (>= 3) of the adaptive threshold.
    c : float
        Constant subtracted from the neighbourhood mean; larger values give fewer lines.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    check_odd("median_ksize", median_ksize)
    check_odd("block_size", block_size)
    progress = token(progress)

    colour_in, alpha = split_alpha(image)
    base = to_uint8(colour_in)
    colour = base
    sizes = []
    for _ in range(num_down):
        sizes.append((colour.shape[1], colour.shape[0]))
        colour = cv2.pyrDown(colour)
    for i in range(num_bilateral):
        progress(0.8 * i / max(num_bilateral, 1), "bilateral filter")
        colour = cv2.bilateralFilter(colour, 9, 9, 7)
    for size in reversed(sizes):
        colour = cv2.pyrUp(colour, dstsize=size)
    progress(0.8, "ink lines")
    grey = cv2.medianBlur(grey_cv(base), median_ksize)
    ink = cv2.adaptiveThreshold(
        grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block_size, c
    )
    # colour AND ink: ink is 0 or 255, so masking equals AND with the ink replicated per channel
    out = cv2.bitwise_and(colour, colour, dst=np.zeros_like(colour), mask=ink)
    progress(1.0, "cartoon")
    return join_alpha(from_uint8(out, image.dtype), alpha)


_GAMMA = 0.1  # diffusion step of cartoon_anisotropic (stable up to 1/8 with 8 neighbours)


@operation("artistic.cartoon_anisotropic", title="Cartoon (anisotropic)", menu="Filters/Artistic")
def cartoon_anisotropic(
    image: Image,
    *,
    kappa: Kappa = 20.0,
    niter: Niter = 20,
    levels: Annotated[int, Range(2, 256)] = 8,
    progress: Progress | None = None,
) -> Image:
    """Cartoon from Perona–Malik smoothing, uniform colour levels and dark edges.

    1. Perona–Malik diffusion of the 8-bit colour image (``cv2.ximgproc.anisotropicDiffusion``),
       ``niter`` steps of size 0.1 with conduction ``exp(−(δ/kappa)²)``, δ being the mean
       absolute channel difference to a neighbour in 8-bit levels: texture flattens while edges
       stronger than about ``kappa`` survive;
    2. every channel is quantised to ``levels`` evenly spaced values including black and white,
       ``round(round(v·(levels−1)/255)·max/(levels−1))``;
    3. pixels whose smoothed BT.601 grey has an edge strength ``|Sobel|/4 >= kappa`` (a step of
       at least ``kappa`` levels) are set to 0.

    The diffusion runs at 8 bits (uint16 and float32 are rounded first; red is capped at 254,
    which keeps OpenCV inside its conduction table); the levels are then written in the input's
    dtype. Alpha is carried through untouched. Long-running: reports progress, can be cancelled.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; grey images give a grey cartoon.
    kappa : float
        Edge threshold in 8-bit grey levels, for both the diffusion and the ink lines.
    niter : int
        Number of diffusion steps.
    levels : int
        Number of values per channel after quantisation.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``; each channel takes at most ``levels`` values.
    """
    import cv2

    image = check_image(image)
    progress = token(progress)

    colour_in, alpha = split_alpha(image)
    smooth = perona_malik(
        to_uint8(colour_in), kappa=kappa, niter=niter, gamma=_GAMMA, progress=progress.sub(0, 0.9)
    )
    progress(0.9, "levels and edges")
    steps = levels - 1
    index = np.rint(np.arange(256) * (steps / 255.0))
    table = clip_to_dtype(index * (dtype_max(image.dtype) / steps), image.dtype)
    out = cv2.LUT(smooth, table)
    out[edge_strength(grey_cv(smooth)) >= kappa] = 0
    progress(1.0, "cartoon")
    return join_alpha(out, alpha)
