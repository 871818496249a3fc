"""Pixel helpers shared by every operation family: dtype ↔ [0, 1] conversions, 8-bit round
trips, BT.601 grey, alpha, Labels output and the default progress token.

Each function is written once; where two callers need different numerics (a division or a
multiplication by the reciprocal, float32 or float64 arithmetic, NumPy or OpenCV rounding) both
are here under their own names, because operation tests compare results bit for bit. Images are
``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` arrays of uint8, uint16 or float32 (float in [0, 1]);
"max" is the dtype's full intensity (:func:`~imgstudio.core.types.dtype_max`). OpenCV is
imported inside the functions that use it.
"""

from __future__ import annotations

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.types import dtype_max

#: ITU-R BT.601 luma weights of R, G and B (``basic.grayscale``).
BT601 = (0.299, 0.587, 0.114)


def token(progress: Progress | None) -> Progress:
    """``progress``, or a silent token when an op is called directly without one."""
    return progress or Progress()


# -- channels and alpha -----------------------------------------------------------------------


def colour_part(image: np.ndarray) -> np.ndarray:
    """The colour channels as a view: ``image`` itself when grey, else its first three."""
    return image if image.ndim == 2 else image[..., :3]


def n_colour_channels(image: np.ndarray) -> int:
    """The number of colour channels (alpha excluded): 1 for grey, 3 for RGB(A)."""
    return 1 if image.ndim == 2 else 3


def alpha_of(image: np.ndarray) -> np.ndarray | None:
    """The alpha plane of an RGBA image (a view), or None."""
    return image[..., 3] if image.ndim == 3 and image.shape[2] == 4 else None


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The colour part of ``image`` and its alpha plane, or None without alpha.

    Grey and RGB images are returned as they are (no copy); RGBA is split into a contiguous
    (H, W, 3) copy and a view of its alpha.
    """
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[..., :3]), image[..., 3]
    return image, None


def join_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """``colour`` with ``alpha`` put back as a fourth channel, in ``colour``'s dtype.

    Unchanged when ``alpha`` is None or ``colour`` is grey (a grey result drops the alpha).
    """
    if alpha is None or colour.ndim == 2:
        return colour
    out = np.empty(colour.shape[:2] + (4,), colour.dtype)
    out[..., :3] = colour
    out[..., 3] = alpha
    return out


def as_labels(values: np.ndarray) -> np.ndarray:
    """A boolean or integer (H, W) array as C-contiguous int32 Labels."""
    return np.ascontiguousarray(values, dtype=np.int32)


# -- dtype <-> [0, 1] -------------------------------------------------------------------------


def to_unit(image: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """``image`` as a new float array in [0, 1]: ``image / max``, divided in ``dtype``."""
    dtype = np.dtype(dtype)
    return image.astype(dtype) / dtype.type(dtype_max(image.dtype))


def as_unit(image: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """``image`` as floats in [0, 1], integers multiplied by ``1 / max`` in ``dtype``.

    An image already of ``dtype`` is returned as it is (do not write to it). The product by the
    reciprocal can differ from :func:`to_unit`'s division in the last bit.
    """
    if image.dtype == dtype:
        return image
    out = image.astype(dtype)
    if image.dtype.kind != "f":
        out *= np.dtype(dtype).type(1.0 / dtype_max(image.dtype))
    return out


def from_unit(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Floats in [0, 1] → ``dtype``: clipped, scaled by max in the precision of ``values`` and
    rounded (half to even) for integer dtypes."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.clip(values, 0.0, 1.0).astype(dtype, copy=False)
    top = dtype_max(dtype)
    scaled = values * top
    np.clip(scaled, 0.0, top, out=scaled)
    return np.rint(scaled, out=scaled).astype(dtype)


def from_unit_like(values: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Colour values in [0, 1] (grey or RGB) as :func:`from_unit` in ``image``'s dtype, with
    ``image``'s alpha channel, if any, put back."""
    return join_alpha(from_unit(values, image.dtype), alpha_of(image))


def from_unit_cv(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float32 values in [0, 1] → ``dtype`` in one saturating OpenCV pass.

    Like :func:`from_unit`, but the product by max is formed in double precision before the
    rounding (half to even), so a float32 value just off a half level rounds by its exact
    product; float dtypes are clipped.
    """
    import cv2

    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.clip(values, 0.0, 1.0).astype(dtype, copy=False)
    # one saturating OpenCV pass (= clip, scale, rint, cast) on a single-channel 2-D view
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(values.shape[0], -1)
    depth = cv2.CV_8U if dtype == np.uint8 else cv2.CV_16U
    return cv2.multiply(flat, dtype_max(dtype), dtype=depth).reshape(values.shape)


def clip_to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float ``values`` in the intensity units of ``dtype`` (0..255, 0..65535 or 0..1) as
    ``dtype``: clipped to its range, rounded (half to even) for integer dtypes."""
    top = dtype_max(dtype)
    if np.dtype(dtype).kind == "f":
        return np.clip(values, 0.0, top).astype(dtype, copy=False)
    return np.clip(np.rint(values), 0.0, top).astype(dtype)


def to_8bit_units(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``values`` in the intensity units of ``dtype`` as float64 on the 8-bit scale (0..255)."""
    return np.asarray(values, dtype=np.float64) * (255.0 / dtype_max(dtype))


def from_8bit_level(value: float, dtype: np.dtype) -> float:
    """A level given in 8-bit units (0..255) in the intensity units of ``dtype``."""
    return float(value) * dtype_max(dtype) / 255.0


def warped_like(warped: np.ndarray, image: np.ndarray) -> np.ndarray:
    """An OpenCV resampling of ``image`` back in its layout: the channel axis OpenCV drops
    for one channel restored, floats clipped to [0, 1], ``image``'s dtype."""
    if image.ndim == 3 and warped.ndim == 2:
        warped = warped[..., None]
    if image.dtype.kind == "f":
        warped = np.clip(warped, 0.0, 1.0)
    return warped.astype(image.dtype, copy=False)


# -- 8-bit round trips ------------------------------------------------------------------------


def to_uint8(image: np.ndarray, work: type = np.float32) -> np.ndarray:
    """``image`` as uint8, rounded (half to even) to the nearest 8-bit level and clipped.

    The product by ``255 / max`` is computed in ``work`` precision: float32 (the same levels as
    ``cv2.convertScaleAbs``) or float64. A uint8 image is returned as it is (not copied).
    """
    if image.dtype == np.uint8:
        return image
    scaled = image.astype(work) * np.dtype(work).type(255.0 / dtype_max(image.dtype))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def from_uint8(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """An 8-bit result in ``dtype``: ×257 for uint16 (exact), /255 for float32; uint8 is
    returned as it is (not copied)."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return image
    if dtype == np.uint16:
        return image.astype(np.uint16) * np.uint16(257)
    return image.astype(np.float32) / np.float32(255.0)


def rgb_uint8(image: np.ndarray) -> np.ndarray:
    """``image`` as a contiguous (H, W, 3) uint8 RGB array (grey repeated, alpha dropped)."""
    values = to_uint8(image)
    if values.ndim == 2:
        values = np.repeat(values[..., None], 3, axis=2)
    return np.ascontiguousarray(values[..., :3])


# -- BT.601 grey ------------------------------------------------------------------------------


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of the first three channels of a float (..., 3|4) array, as a matrix
    product in the array's precision."""
    return rgb[..., :3] @ np.array(BT601, dtype=rgb.dtype)


def luma_sum(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of a float (..., 3|4) array as ``0.299 R + 0.587 G + 0.114 B``, summed
    channel by channel in the array's precision (not always equal to :func:`luma`)."""
    wr, wg, wb = BT601
    return wr * rgb[..., 0] + wg * rgb[..., 1] + wb * rgb[..., 2]


def grey_float(image: np.ndarray) -> np.ndarray:
    """The unrounded BT.601 luma (a grey image's values) as float64 in the image's units."""
    if image.ndim == 2:
        return image.astype(np.float64)
    return luma(image[..., :3].astype(np.float64))


def grey(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in the image's own dtype, rounded for integers (``basic.grayscale``); a grey
    image is returned as it is (not copied)."""
    if image.ndim == 2:
        return image
    return clip_to_dtype(grey_float(image), image.dtype)


def grey_8bit(image: np.ndarray) -> np.ndarray:
    """:func:`grey` (rounded in the image's dtype) as float32 on the 8-bit scale (0..255)."""
    return to_8bit_units(grey(image), image.dtype).astype(np.float32)


def grey_unit(image: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """BT.601 luma of :func:`to_unit` of the image: floats of ``dtype`` in [0, 1], unrounded."""
    x = to_unit(image, dtype)
    return x if x.ndim == 2 else luma(x)


def grey_cv(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in the image's own dtype with ``cv2.cvtColor`` (OpenCV's fixed-point rounding
    for integers); a grey image is returned as it is."""
    import cv2

    if image.ndim == 2:
        return image
    code = cv2.COLOR_RGBA2GRAY if image.shape[2] == 4 else cv2.COLOR_RGB2GRAY
    return cv2.cvtColor(image, code)


def grey_unit_cv(image: np.ndarray) -> np.ndarray:
    """BT.601 luma as float32 in [0, 1]: ``cv2.cvtColor`` of the float32 values, then scaled
    by ``1 / max`` (no 8-bit rounding)."""
    import cv2

    work = image.astype(np.float32)
    if image.ndim == 3:
        code = cv2.COLOR_RGBA2GRAY if image.shape[2] == 4 else cv2.COLOR_RGB2GRAY
        work = cv2.cvtColor(work, code)
    if image.dtype.kind != "f":
        work *= np.float32(1.0 / dtype_max(image.dtype))
    return work
