"""Basic colour operations: grayscale, colour spaces, quantisation, colour selection."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image
from imgstudio.ops._pixels import clip_to_dtype, grey, to_unit
from imgstudio.ops.basic._common import _require_rgb


@operation("basic.grayscale", title="Grayscale", menu="Image/Colour")
def grayscale(image: Image) -> Image:
    """Convert to grey with the ITU-R BT.601 luma weights (0.299 R + 0.587 G + 0.114 B).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image. A grey image is returned as a copy; the alpha of RGBA is dropped.

    Returns
    -------
    (H, W) ndarray
        Luma, same dtype as ``image`` (rounded for integer dtypes).
    """
    image = check_image(image)
    return image.copy() if image.ndim == 2 else grey(image)


_SPACES = ("hsv", "lab", "luv", "xyz", "ycrcb", "ycbcr", "yuv", "yiq", "ypbpr", "hed")


@operation("basic.convert_color", title="Convert colour space", menu="Image/Colour")
def convert_color(
    image: Image,
    *,
    space: Literal[
        "hsv", "lab", "luv", "xyz", "ycrcb", "ycbcr", "yuv", "yiq", "ypbpr", "hed"
    ] = "hsv",
    channel: Annotated[int, Range(-1, 2)] = -1,
) -> Image:
    """Convert RGB to another colour space, each channel scaled to [0, 1] (float32 output).

    Colour-space values are not intensities, so the result is always float32, and each channel
    is mapped linearly onto [0, 1] from the range it takes over the sRGB gamut:

    ======  ============================  ==========================================
    space   channels                      scaling of the ``skimage.color`` values
    ======  ============================  ==========================================
    hsv     H, S, V                       none (already [0, 1])
    lab     L*, a*, b*                    L/100, (a + 128)/255, (b + 128)/255
    luv     L*, u*, v*                    L/100, (u + 134)/354, (v + 140)/262
    xyz     X, Y, Z (D65)                 divided by the white point (0.9505, 1, 1.0888)
    ycrcb   Y, Cr, Cb (BT.601 studio)     divided by 255 (Y in [16, 235]/255)
    ycbcr   Y, Cb, Cr (BT.601 studio)     divided by 255
    yuv     Y, U, V                       (v - lo)/(hi - lo), lo/hi from the matrix
    yiq     Y, I, Q                       (v - lo)/(hi - lo), lo/hi from the matrix
    ypbpr   Y, Pb, Pr                     Y, Pb + 0.5, Pr + 0.5
    hed     haematoxylin, eosin, DAB      divided by the largest optical density
    ======  ============================  ==========================================

    (lab and luv use the same offsets as OpenCV's 8-bit conversions.) Results are clipped to
    [0, 1] against rounding.

    Parameters
    ----------
    image : (H, W, 3|4) ndarray
        RGB image; alpha is ignored. Grey images raise ``ValueError``.
    space : str
        Target colour space.
    channel : int
        -1 returns all three channels; 0, 1 or 2 returns just that channel as a grey image.

    Returns
    -------
    (H, W, 3) or (H, W) float32 ndarray
    """
    from skimage import color
    from skimage.color import colorconv

    image = check_image(image)
    rgb = to_unit(_require_rgb(image))
    if space not in _SPACES:
        raise ValueError(f"space must be one of {', '.join(_SPACES)}; got {space!r}")

    def linear(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # bounds of  matrix @ rgb  over the unit cube: sum of negative / positive entries
        return np.minimum(matrix, 0).sum(axis=1), np.maximum(matrix, 0).sum(axis=1)

    if space == "hsv":
        raw, lo, hi = color.rgb2hsv(rgb), np.zeros(3), np.ones(3)
    elif space == "lab":
        raw, lo, hi = color.rgb2lab(rgb), np.array([0, -128, -128]), np.array([100, 127, 127])
    elif space == "luv":
        raw, lo, hi = color.rgb2luv(rgb), np.array([0, -134, -140]), np.array([100, 220, 122])
    elif space == "xyz":
        raw, lo, hi = color.rgb2xyz(rgb), *linear(colorconv.xyz_from_rgb)
    elif space in ("ycbcr", "ycrcb"):
        raw, lo, hi = color.rgb2ycbcr(rgb), np.zeros(3), np.full(3, 255.0)
        if space == "ycrcb":
            raw = raw[..., [0, 2, 1]]
    elif space == "yuv":
        raw, lo, hi = color.rgb2yuv(rgb), *linear(colorconv.yuv_from_rgb)
    elif space == "yiq":
        raw, lo, hi = color.rgb2yiq(rgb), *linear(colorconv.yiq_from_rgb)
    elif space == "ypbpr":
        raw, lo, hi = color.rgb2ypbpr(rgb), *linear(colorconv.ypbpr_from_rgb)
    else:  # hed: optical densities in [0, 1] times hed_from_rgb (stains = od @ matrix)
        raw, lo, hi = color.rgb2hed(rgb), np.zeros(3), np.maximum(colorconv.hed_from_rgb, 0).sum(0)
    out = np.clip((raw - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    return out if channel == -1 else np.ascontiguousarray(out[..., channel])


@operation("basic.quantize", title="Quantize colours", menu="Image/Colour")
def quantize(
    image: Image,
    *,
    colors: Annotated[int, Range(2, 256)] = 8,
) -> Image:
    """Reduce the image to at most N colours with k-means clustering.

    k-means (scikit-learn, ``random_state=0``, so the result is deterministic) is fitted on at
    most 20,000 pixels drawn with a fixed seed; every pixel then takes its nearest centre.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; grey images are quantised in intensity, alpha is kept as is.
    colors : int
        Largest number of distinct colours in the result.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``, with at most ``colors`` distinct colours.
    """
    from sklearn.cluster import KMeans

    image = check_image(image)
    color_part = image[..., :3] if image.ndim == 3 else image[..., None]
    pixels = color_part.reshape(-1, color_part.shape[-1]).astype(np.float32)
    rng = np.random.default_rng(0)
    sample = (
        pixels if len(pixels) <= 20_000 else pixels[rng.choice(len(pixels), 20_000, replace=False)]
    )
    distinct = len(np.unique(sample, axis=0))
    k = min(colors, distinct)  # fewer distinct values than clusters would make k-means warn
    km = KMeans(n_clusters=k, n_init=1, random_state=0).fit(sample)
    centres = clip_to_dtype(km.cluster_centers_, image.dtype)
    quantised = centres[km.predict(pixels)].reshape(color_part.shape)
    out = image.copy()
    if image.ndim == 2:
        out[...] = quantised[..., 0]
    else:
        out[..., :3] = quantised
    return out


# -- tone -------------------------------------------------------------------------------------


@operation("basic.color_mask", title="Select by colour", menu="Select")
def color_mask(
    image: Image,
    *,
    hue_min: Annotated[float, Range(0.0, 360.0)] = 0.0,
    hue_max: Annotated[float, Range(0.0, 360.0)] = 30.0,
    sat_min: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.3,
    val_min: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.2,
) -> Labels:
    """Mask of the pixels whose HSV colour lies in a hue range with enough saturation and value.

    Hue, saturation and value come from ``skimage.color.rgb2hsv``; a pixel is selected when
    ``hue_min <= hue <= hue_max`` (in degrees; when ``hue_min > hue_max`` the range wraps
    through red, e.g. 340..20), ``saturation >= sat_min`` and ``value >= val_min``.

    Parameters
    ----------
    image : (H, W, 3|4) ndarray
        RGB image; alpha is ignored. Grey images raise ``ValueError``.
    hue_min, hue_max : float
        Hue range in degrees, 0-360.
    sat_min : float
        Smallest saturation, 0-1.
    val_min : float
        Smallest value (brightness), 0-1.

    Returns
    -------
    (H, W) uint8 ndarray
        Labels: 1 for selected pixels, 0 elsewhere.
    """
    from skimage.color import rgb2hsv

    image = check_image(image)
    hsv = rgb2hsv(to_unit(_require_rgb(image)))
    hue = hsv[..., 0] * 360.0
    if hue_min <= hue_max:
        in_hue = (hue >= hue_min) & (hue <= hue_max)
    else:
        in_hue = (hue >= hue_min) | (hue <= hue_max)
    selected = in_hue & (hsv[..., 1] >= sat_min) & (hsv[..., 2] >= val_min)
    return selected.astype(np.uint8)
