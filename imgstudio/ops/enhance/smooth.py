"""Local smoothing and sharpening filters: Gaussian, median, bilateral, unsharp mask.

Each is one OpenCV / SciPy / scikit-image call on the colour channels (alpha is carried through
untouched). Large jobs run in horizontal strips with overlapping halos (exactly the same
result) so that they report progress and can be cancelled.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image, dtype_max
from imgstudio.ops._pixels import as_unit, join_alpha, split_alpha, token
from imgstudio.ops.enhance._common import in_strips


def _cap_float(out: np.ndarray) -> np.ndarray:
    """Clamp a float32 result of a positive-weight filter to 1 (kernel sums can be 1 + 1 ulp)."""
    if out.dtype.kind == "f" and out.size and out.max() > 1.0:
        np.minimum(out, 1.0, out=out)
    return out


@operation("enhance.gaussian", title="Gaussian blur", menu="Filters/Blur")
def gaussian(
    image: Image,
    *,
    sigma: Annotated[float, Range(0.0, 50.0, step=0.1)] = 1.0,
    progress: Progress | None = None,
) -> Image:
    """Blur with a Gaussian of standard deviation sigma pixels (cv2.GaussianBlur).

    The kernel size is OpenCV's choice for ``ksize=(0, 0)`` (±3 sigma for uint8, ±4 sigma for
    uint16/float32) and the border is mirrored (``BORDER_REFLECT_101``); the result is bit
    for bit ``cv2.GaussianBlur(image, (0, 0), sigma)``. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    sigma : float
        Standard deviation in pixels; 0 returns a copy.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Blurred image, same shape and dtype.
    """
    import cv2

    image = check_image(image)
    if sigma == 0:
        return image.copy()
    colour, alpha = split_alpha(image)
    radius = int(sigma * (3 if image.dtype == np.uint8 else 4)) + 1  # >= OpenCV's ksize // 2
    out = in_strips(
        colour,
        lambda x: cv2.GaussianBlur(x, (0, 0), sigma),
        halo=radius,
        cost=_GAUSS_NS_PER_TAP.get(image.dtype.name, 0.55) * (2 * radius + 1),
        progress=token(progress),
        message="Gaussian blur",
    )
    return join_alpha(_cap_float(out), alpha)


#: cv2.GaussianBlur's time per value and kernel tap (both passes), measured on one core of
#: this project's 2-core machines at σ = 2…30 on 12 MP, the largest seen per dtype: a whole
#: image estimated under ``STRIP_WORK`` runs in one call, larger work in strips (cancel,
#: progress). 12 MP uint8 at σ = 8 is one call (85 ms); uint16 at σ = 8 goes in strips.
_GAUSS_NS_PER_TAP = {"uint8": 0.08, "float32": 0.2, "uint16": 0.55}


@operation("enhance.median", title="Median", menu="Filters/Denoise")
def median(
    image: Image,
    *,
    ksize: Annotated[int, Range(1, 99, step=2)] = 5,
    progress: Progress | None = None,
) -> Image:
    """Replace each pixel by the median of its ksize × ksize neighbourhood.

    uint8 images, and every dtype for ``ksize`` 3 or 5, use ``cv2.medianBlur``. OpenCV supports
    larger windows only for uint8, so uint16 and float32 images with ``ksize`` > 5 use
    ``scipy.ndimage.median_filter`` with the same replicated border (``mode="nearest"``) — the
    same result, but its cost grows with ksize²: about 6 s per megapixel and channel for
    ksize 31 on one core. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    ksize : int
        Odd window size in pixels; 1 returns a copy.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Filtered image, same shape and dtype.
    """
    import cv2

    image = check_image(image)
    if ksize % 2 == 0:
        raise ValueError(f"ksize must be a positive odd number; got {ksize}")
    if ksize == 1:
        return image.copy()
    colour, alpha = split_alpha(image)
    if colour.dtype == np.uint8 or ksize <= 5:

        def fn(x: np.ndarray) -> np.ndarray:
            return cv2.medianBlur(x, ksize)

        cost = 0.5 * ksize  # OpenCV's median is O(ksize) per pixel, ~0.5 ns per unit
    else:
        from scipy import ndimage

        size = (ksize, ksize) + (1,) * (colour.ndim - 2)

        def fn(x: np.ndarray) -> np.ndarray:
            return ndimage.median_filter(x, size=size, mode="nearest")

        cost = 25.0 * ksize * ksize  # selection over the window
    out = in_strips(colour, fn, halo=ksize // 2, cost=cost, progress=token(progress),
                    message="Median")
    return join_alpha(out, alpha)


@operation("enhance.bilateral", title="Bilateral", menu="Filters/Denoise")
def bilateral(
    image: Image,
    *,
    d: Annotated[int, Range(1, 31)] = 9,
    sigma_color: Annotated[float, Range(0.1, 500.0)] = 75.0,
    sigma_space: Annotated[float, Range(0.1, 500.0)] = 75.0,
    progress: Progress | None = None,
) -> Image:
    """Edge-preserving smoothing: average neighbours weighted by distance and colour difference.

    ``cv2.bilateralFilter``. ``sigma_color`` is in 8-bit grey levels for every dtype (it is
    divided by 255 for float32 images; uint16 images are filtered as float32 in [0, 1] and
    rounded back). Colour images use the Euclidean RGB distance, which does not depend on the
    channel order, so no BGR conversion is made. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    d : int
        Diameter of the neighbourhood in pixels (the window is ``2 * (d // 2) + 1`` wide).
    sigma_color : float
        Range sigma in 8-bit grey levels: larger values mix more different colours.
    sigma_space : float
        Spatial sigma in pixels.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Filtered image, same shape and dtype.
    """
    import cv2

    image = check_image(image)
    colour, alpha = split_alpha(image)
    if colour.dtype == np.uint8:
        work, sc = colour, sigma_color
    else:
        work, sc = as_unit(colour), sigma_color / 255.0
    out = in_strips(
        work,
        lambda x: cv2.bilateralFilter(x, d, sc, sigma_space),
        halo=d // 2,
        cost=0.7 * (d // 2 * 2 + 1) ** 2,
        progress=token(progress),
        message="Bilateral filter",
    )
    if image.dtype == np.uint16:
        out *= 65535.0
        out = np.rint(out, out=out).astype(np.uint16)
    return join_alpha(_cap_float(out), alpha)


@operation("enhance.unsharp_mask", title="Unsharp mask", menu="Filters/Sharpen")
def unsharp_mask(
    image: Image,
    *,
    radius: Annotated[float, Range(0.0, 50.0, step=0.1)] = 1.0,
    amount: Annotated[float, Range(0.0, 10.0, step=0.1)] = 1.0,
    progress: Progress | None = None,
) -> Image:
    """Sharpen: image + amount · (image − Gaussian(image, radius)), clipped to the range.

    ``skimage.filters.unsharp_mask`` (Gaussian with ``mode="reflect"``, colour channels
    independently); its float result is rounded back to the input dtype. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    radius : float
        Sigma of the Gaussian blur in pixels.
    amount : float
        Strength of the sharpening; 0 returns the image unchanged.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Sharpened image, same shape and dtype.
    """
    from skimage.filters import unsharp_mask as sk_unsharp

    image = check_image(image)
    colour, alpha = split_alpha(image)
    axis = 2 if colour.ndim == 3 else None  # not -1: skimage 0.26 then slices axis 0
    dtype = image.dtype
    top = dtype_max(dtype)

    def fn(x: np.ndarray) -> np.ndarray:
        res = sk_unsharp(x, radius=radius, amount=amount, channel_axis=axis)
        if dtype.kind == "f":
            return res.astype(dtype, copy=False)
        res *= top  # already clipped to [0, 1] by skimage
        return np.rint(res, out=res).astype(dtype)

    halo = int(4.0 * radius + 0.5) + 1  # scipy's Gaussian support at truncate=4
    out = in_strips(colour, fn, halo=halo, cost=20.0 + 3.0 * (2 * halo + 1),
                    progress=token(progress),
                    message="Unsharp mask")
    return join_alpha(out, alpha)
