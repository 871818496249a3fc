"""Basic tone operations: invert, brightness/contrast, gamma, levels."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image, dtype_max
from imgstudio.ops._params import Level8
from imgstudio.ops.basic._common import _tone


@operation("basic.invert", title="Invert", menu="Image/Adjust")
def invert(image: Image) -> Image:
    """Invert intensities: max - x (max = 255, 65535 or 1.0); alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.

    Returns
    -------
    ndarray
        Negative of ``image``, same shape and dtype.
    """
    image = check_image(image)
    top = image.dtype.type(dtype_max(image.dtype))
    if image.ndim == 3 and image.shape[2] == 4:
        out = image.copy()
        np.subtract(top, image[..., :3], out=out[..., :3])
        return out
    return np.subtract(top, image)




@operation("basic.brightness_contrast", title="Brightness / contrast", menu="Image/Adjust")
def brightness_contrast(
    image: Image,
    *,
    brightness: Annotated[float, Range(-1.0, 1.0, step=0.01)] = 0.0,
    contrast: Annotated[float, Range(0.0, 10.0, step=0.05)] = 1.0,
) -> Image:
    """Scale contrast about mid-grey and shift brightness: (x - mid)·contrast + mid + b·max.

    ``max`` is 255, 65535 or 1.0 and ``mid = max / 2``; the result is clipped to the dtype's
    range (and rounded for integer dtypes). Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    brightness : float
        Shift as a fraction of the full range, in [-1, 1].
    contrast : float
        Gain around mid-grey; 1 leaves the image unchanged, 0 makes it flat grey.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    image = check_image(image)
    top = dtype_max(image.dtype)
    offset = top / 2 * (1.0 - contrast) + brightness * top  # the formula above, expanded
    return _tone(image, lambda x: x * contrast + offset)


@operation("basic.gamma", title="Gamma", menu="Image/Adjust")
def gamma(
    image: Image,
    *,
    gamma: Annotated[float, Range(0.01, 10.0, step=0.01)] = 1.0,
) -> Image:
    """Gamma correction max·(x/max)^(1/gamma): gamma > 1 brightens, gamma < 1 darkens.

    The convention is that of the gamma slider of levels dialogs (and of ``basic.levels``);
    it equals ``skimage.exposure.adjust_gamma(image, 1 / gamma)``. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    gamma : float
        Gamma, > 0; 1 leaves the image unchanged.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image`` (rounded for integer dtypes).
    """
    image = check_image(image)
    top = dtype_max(image.dtype)
    return _tone(image, lambda x: top * (x / top) ** (1.0 / gamma))


@operation("basic.levels", title="Levels", menu="Image/Adjust")
def levels(
    image: Image,
    *,
    black: Level8 = 0.0,
    white: Level8 = 255.0,
    gamma: Annotated[float, Range(0.01, 10.0, step=0.01)] = 1.0,
) -> Image:
    """Stretch the input range [black, white] to the full range, then apply a gamma.

    ``out = clip((x - b) / (w - b), 0, 1) ** (1 / gamma) * max`` where ``b`` and ``w`` are
    ``black`` and ``white`` scaled from 8-bit levels to the image's range (``black / 255 *
    max``), so the same settings work for uint8, uint16 and float images. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    black : float
        Input level that becomes black, in 8-bit units (0-255).
    white : float
        Input level that becomes white, in 8-bit units; must be greater than ``black``.
    gamma : float
        Mid-tone gamma; > 1 brightens, < 1 darkens.

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``.
    """
    image = check_image(image)
    if not white > black:
        raise ValueError(f"white must be greater than black ({black!r}); got {white!r}")
    top = dtype_max(image.dtype)
    lo, hi = black / 255.0 * top, white / 255.0 * top
    # a span below float32's smallest normal number would divide by 0 in a float image's curve
    span = max(hi - lo, float(np.finfo(np.float32).tiny))
    return _tone(image, lambda x: np.clip((x - lo) / span, 0.0, 1.0) ** (1.0 / gamma) * top)


# -- geometry ---------------------------------------------------------------------------------
