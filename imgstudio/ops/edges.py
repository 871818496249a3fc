"""Edge detection: Canny, Marr–Hildreth, wavelet details, Sobel and Laplacian of Gaussian.

Every operation works on the grey level of the image (ITU-R BT.601 luma of RGB, alpha
ignored) on the [0, 1] scale, so parameters mean the same for uint8, uint16 and float32
inputs. Edge maps are Labels (0/1) or float32 images, as each docstring says. SciPy,
scikit-image and PyWavelets are imported inside the functions.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image
from imgstudio.ops._params import Wavelet
from imgstudio.ops._pixels import grey_unit, token

_SIGMA = Annotated[float, Range(0.3, 30.0, step=0.1)]


@operation("edges.canny", title="Canny", menu="Filters/Edges")
def canny(
    image: Image,
    *,
    sigma: Annotated[float, Range(0.0, 30.0, step=0.1)] = 1.0,
    low: Annotated[float, Range(0.0, 10.0, step=0.01)] | None = None,
    high: Annotated[float, Range(0.0, 10.0, step=0.01)] | None = None,
    progress: Progress | None = None,
) -> Labels:
    """Canny edges: Gaussian smoothing, Sobel gradient, non-maximum suppression, hysteresis.

    Equals ``skimage.feature.canny(grey, sigma, low, high)`` on the grey image in [0, 1].

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    sigma : float
        Standard deviation of the Gaussian smoothing, in pixels.
    low : float or None
        Lower hysteresis threshold on the gradient magnitude of the smoothed [0, 1] image
        (scipy's unnormalised Sobel: a sharp unit step gives up to 4). None: 0.1.
    high : float or None
        Upper hysteresis threshold, at least ``low``. None: 0.2.

    Returns
    -------
    (H, W) ndarray of int32
        1 on edge pixels, 0 elsewhere.
    """
    from skimage import feature

    image = check_image(image)
    lo = 0.1 if low is None else low
    hi = 0.2 if high is None else high
    if lo > hi:
        raise ValueError(f"low must not exceed high ({hi}); got {lo}")
    progress = token(progress)
    progress(0.0, "Canny edges")
    edges = feature.canny(grey_unit(image), sigma=sigma, low_threshold=lo, high_threshold=hi)
    progress(1.0, "Canny edges")
    return edges.astype(np.int32)


def _laplacian_of_gaussian(x: np.ndarray, sigma: float, progress: Progress) -> np.ndarray:
    """``scipy.ndimage.gaussian_laplace(x, sigma)``, one axis at a time with progress."""
    from scipy import ndimage

    out = ndimage.gaussian_filter(x, sigma, order=(2, 0))
    progress(0.5, "Laplacian of Gaussian")
    out += ndimage.gaussian_filter(x, sigma, order=(0, 2))
    return out


def _along(axis: int, start: int, stop: int | None) -> tuple[slice, slice]:
    """Slices taking ``start:stop`` along ``axis`` of a 2-D array and everything along the other."""
    index = [slice(None), slice(None)]
    index[axis] = slice(start, stop)
    return index[0], index[1]


@operation("edges.marr_hildreth", title="Marr–Hildreth", menu="Filters/Edges")
def marr_hildreth(
    image: Image,
    *,
    sigma: _SIGMA = 2.0,
    threshold: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.0,
    progress: Progress | None = None,
) -> Labels:
    """Marr–Hildreth edges: zero crossings of the Laplacian of Gaussian, thresholded on slope.

    ``L = scipy.ndimage.gaussian_laplace(grey, sigma)``. A pixel and a 4-neighbour form a zero
    crossing when ``L`` has strictly opposite signs there and ``|L(p) - L(q)|`` (the slope
    across the crossing) exceeds ``threshold × max |L|``; the one of the two closer to zero
    (smaller ``|L|``) is marked, so edges are one pixel thick and within half a pixel of the
    crossing. A pixel where ``L`` is exactly 0 between opposite signs (left/right or up/down)
    is marked as well. Values below ``1e-9 × max |L|`` count as 0, so flat regions give no
    edges.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    sigma : float
        Standard deviation of the Gaussian, in pixels.
    threshold : float
        Minimum slope across a crossing, as a fraction of the largest ``|L|``; 0 keeps every
        zero crossing.

    Returns
    -------
    (H, W) ndarray of int32
        1 on edge pixels, 0 elsewhere.
    """
    image = check_image(image)
    progress = token(progress)
    progress(0.0, "Laplacian of Gaussian")
    lap = _laplacian_of_gaussian(grey_unit(image), sigma, progress.sub(0.0, 0.9))
    peak = float(np.abs(lap).max())
    edges = np.zeros(lap.shape, dtype=bool)
    if peak > 0:
        lap[np.abs(lap) < 1e-9 * peak] = 0.0
        slope = threshold * peak
        sign = np.sign(lap)
        mag = np.abs(lap)
        for axis in (0, 1):
            a, b = _along(axis, 0, -1), _along(axis, 1, None)  # each pixel and its next
            cross = (sign[a] * sign[b] < 0) & (np.abs(lap[a] - lap[b]) > slope)
            edges[a] |= cross & (mag[a] <= mag[b])
            edges[b] |= cross & (mag[b] <= mag[a])
            prev, mid, nxt = _along(axis, 0, -2), _along(axis, 1, -1), _along(axis, 2, None)
            edges[mid] |= ((sign[mid] == 0) & (sign[prev] * sign[nxt] < 0)
                           & (np.abs(lap[prev] - lap[nxt]) > slope))
    progress(1.0, "Marr–Hildreth edges")
    return edges.astype(np.int32)


@operation("edges.wavelet", title="Wavelet edges", menu="Filters/Edges")
def wavelet(
    image: Image,
    *,
    wavelet: Wavelet = "haar",
    level: Annotated[int, Range(1, 8)] = 1,
    progress: Progress | None = None,
) -> Image:
    """Edges as the image rebuilt from its wavelet detail coefficients only (float32 output).

    ``c = pywt.wavedec2(grey, wavelet, level=level)`` (``mode="symmetric"``), the approximation
    ``c[0]`` set to zero, ``pywt.waverec2(c, wavelet)`` cropped to the image size. The result
    is the high-pass part of the grey image (the image minus its level-``level`` approximation)
    and is signed.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    wavelet : str
        Discrete wavelet (PyWavelets name).
    level : int
        Decomposition depth; at most ``pywt.dwt_max_level`` for the image's smaller side.

    Returns
    -------
    (H, W) ndarray of float32
        Signed detail image on the [0, 1] intensity scale (values may be negative).
    """
    import pywt

    image = check_image(image)
    deepest = pywt.dwt_max_level(min(image.shape[:2]), pywt.Wavelet(wavelet).dec_len)
    if level > deepest:
        raise ValueError(f"level must be at most {deepest} for a {wavelet} decomposition of "
                         f"this image ({image.shape[1]}×{image.shape[0]}); got {level}")
    progress = token(progress)
    progress(0.0, "Wavelet edges")
    x = grey_unit(image)
    coeffs = pywt.wavedec2(x, wavelet, mode="symmetric", level=level)
    coeffs[0] = np.zeros_like(coeffs[0])
    progress(0.5, "Wavelet edges")
    details = pywt.waverec2(coeffs, wavelet, mode="symmetric")[: x.shape[0], : x.shape[1]]
    progress(1.0, "Wavelet edges")
    return np.ascontiguousarray(details, dtype=np.float32)


@operation("edges.sobel", title="Sobel", menu="Filters/Edges")
def sobel(
    image: Image,
    *,
    direction: Literal["magnitude", "horizontal", "vertical"] = "magnitude",
    progress: Progress | None = None,
) -> Image:
    """Sobel gradient: magnitude, or the horizontal-edge or vertical-edge response (float32).

    ``skimage.filters.sobel`` / ``sobel_h`` / ``sobel_v`` on the grey image in [0, 1]
    (normalised kernels, mirror boundary).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    direction : {"magnitude", "horizontal", "vertical"}
        ``magnitude``: sqrt((h² + v²) / 2), in [0, 1]. ``horizontal``: responds to horizontal
        edges (the vertical derivative, ``sobel_h``); ``vertical``: to vertical edges
        (``sobel_v``); both signed, in [-1, 1].

    Returns
    -------
    (H, W) ndarray of float32
        The response on the [0, 1] intensity scale.
    """
    from skimage import filters

    image = check_image(image)
    func = {"magnitude": filters.sobel, "horizontal": filters.sobel_h,
            "vertical": filters.sobel_v}[direction]
    progress = token(progress)
    progress(0.0, "Sobel")
    out = func(grey_unit(image)).astype(np.float32)
    progress(1.0, "Sobel")
    return out


@operation("edges.log", title="Laplacian of Gaussian", menu="Filters/Edges")
def log(
    image: Image,
    *,
    sigma: _SIGMA = 2.0,
    progress: Progress | None = None,
) -> Image:
    """Laplacian of Gaussian of the grey image (float32, signed).

    Equals ``scipy.ndimage.gaussian_laplace(grey, sigma)`` (mirror boundary) on the grey image
    in [0, 1]; not scale-normalised. Bright blobs of radius about σ√2 give a strong negative
    response, dark ones a positive one.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    sigma : float
        Standard deviation of the Gaussian, in pixels.

    Returns
    -------
    (H, W) ndarray of float32
        The Laplacian of Gaussian (signed).
    """
    image = check_image(image)
    progress = token(progress)
    progress(0.0, "Laplacian of Gaussian")
    out = _laplacian_of_gaussian(grey_unit(image), sigma, progress)
    progress(1.0, "Laplacian of Gaussian")
    return out.astype(np.float32)
