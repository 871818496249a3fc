"""Combining layers: Poisson (seamless) cloning, Laplacian-pyramid blending, focus stacking."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np

from imgstudio.core.editor import Aligned, Editor, Whole
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image, check_labels
from imgstudio.ops._pixels import as_unit, from_unit, luma_sum, split_alpha, to_uint8, token
from imgstudio.ops.enhance._common import check_same_size

_CENTRE = Annotated[int, Range(0, None)]


def _bgr8(x: np.ndarray) -> np.ndarray:
    """A grey or RGB image as 3-channel BGR uint8, as ``cv2.seamlessClone`` wants."""
    import cv2

    x8 = to_uint8(x)
    return cv2.cvtColor(x8, cv2.COLOR_GRAY2BGR if x8.ndim == 2 else cv2.COLOR_RGB2BGR)


def _fit(name: str, centre: int, size: int, extent: int, axis: str) -> int:
    """First destination index of a ``size``-long box centred (OpenCV's way) at ``centre``."""
    start = centre - size // 2
    if start < 0 or start + size > extent:
        lo, hi = size // 2, extent - size + size // 2
        where = f"[{lo}, {hi}]" if lo <= hi else "nowhere"
        raise ValueError(
            f"{name}={centre} puts the {size}-px {axis} of the masked source outside the "
            f"destination ({extent} px); {name} must be in {where}"
        )
    return start


@operation("enhance.seamless_clone", title="Seamless clone", menu="Image/Combine",
           editor=Editor(position=("center_x", "center_y")))
def seamless_clone(
    image: Image,
    source: Image,
    mask: Annotated[Labels | None, Whole()] = None,
    *,
    center_x: _CENTRE | None = None,
    center_y: _CENTRE | None = None,
    mode: Literal["normal", "mixed", "monochrome"] = "normal",
    progress: Progress | None = None,
) -> Image:
    """Paste the masked source into the image with Poisson blending (cv2.seamlessClone).

    The bounding box of the mask (OpenCV ignores the source's outer 1-pixel frame; the box
    must be at least 3×3 px) is centred at (``center_x``, ``center_y``) of the destination
    ``image`` — it starts at ``center - size // 2`` — and must fit inside it; the
    colours inside are solved so that the source's gradients join the destination's border
    seamlessly. ``normal`` keeps the source texture (NORMAL_CLONE), ``mixed`` keeps the
    stronger of the two gradients at each pixel (MIXED_CLONE), ``monochrome`` transfers only
    the source's grey texture (MONOCHROME_TRANSFER). Only the box is sent to OpenCV, which
    gives the same result as the whole image. OpenCV works in 8 bits: for uint16/float32 the
    change it computes on 8-bit copies is added to the full-precision destination, so pixels
    it leaves alone keep their exact values. The source is converted to the destination's
    grey/colour kind and its alpha ignored; the destination's alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Destination.
    source : (h, w[, 3|4]) ndarray
        Image to paste.
    mask : (h, w) ndarray of int, optional
        Region of ``source`` to paste (nonzero); None pastes the whole source.
    center_x : int or None
        Destination column of the centre of the mask's bounding box; None = image centre.
    center_y : int or None
        Destination row of that centre; None = image centre.
    mode : {"normal", "mixed", "monochrome"}
        Cloning flavour.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Destination with the source blended in, same shape and dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    source = check_image(source, "source")
    flags = {"normal": cv2.NORMAL_CLONE, "mixed": cv2.MIXED_CLONE,
             "monochrome": cv2.MONOCHROME_TRANSFER}
    if mode not in flags:
        raise ValueError(f"mode must be one of normal, mixed, monochrome; got {mode!r}")
    src, _ = split_alpha(source)
    if mask is None:
        region = np.ones(src.shape[:2], bool)
    else:
        mask = check_labels(mask, "mask")
        if mask.shape != src.shape[:2]:
            raise ValueError(f"mask must have the size of source {src.shape[:2]}; got {mask.shape}")
        region = mask != 0
    inner = np.zeros_like(region)  # OpenCV clears the outer frame of the mask
    inner[1:-1, 1:-1] = region[1:-1, 1:-1]
    rows, cols = np.flatnonzero(inner.any(axis=1)), np.flatnonzero(inner.any(axis=0))
    if rows.size == 0:
        if mask is None:
            raise ValueError(f"source must be at least 5×5 px; got {src.shape[1]}×{src.shape[0]}")
        raise ValueError("mask selects no pixel inside the outer 1-pixel frame of source")
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    bh, bw = y1 - y0, x1 - x0
    if bh < 3 or bw < 3:  # OpenCV's solver fails on smaller boxes
        if mask is None:
            raise ValueError(f"source must be at least 5×5 px; got {src.shape[1]}×{src.shape[0]}")
        raise ValueError(f"mask's bounding box (inside the 1-pixel frame of source) must be at "
                         f"least 3×3 px; got {bw}×{bh}")
    height, width = image.shape[:2]
    cx = width // 2 if center_x is None else center_x
    cy = height // 2 if center_y is None else center_y
    dx = _fit("center_x", cx, bw, width, "width")
    dy = _fit("center_y", cy, bh, height, "height")
    progress = token(progress)
    progress(0.0, "Seamless clone")

    dst, alpha = split_alpha(image)
    box = (slice(dy, dy + bh), slice(dx, dx + bw))
    patch = src[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1]  # the box and a 1-pixel frame
    patch_mask = inner[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1].astype(np.uint8) * 255
    dst_box = dst[box]
    dst8 = _bgr8(dst_box)
    blended = cv2.seamlessClone(_bgr8(patch), dst8, patch_mask, (bw // 2, bh // 2), flags[mode])
    progress(0.9, "Seamless clone")
    to_dst = cv2.COLOR_BGR2GRAY if dst.ndim == 2 else cv2.COLOR_BGR2RGB
    if dst.dtype == np.uint8:
        result = cv2.cvtColor(blended, to_dst)
    else:
        change = cv2.cvtColor(blended, to_dst).astype(np.float32)
        change -= cv2.cvtColor(dst8, to_dst)
        change *= np.float32(1.0 / 255.0)
        result = from_unit(as_unit(dst_box) + change, dst.dtype)
    out = image.copy()
    if alpha is None:
        out[box] = result
    else:
        out[box + (slice(0, 3),)] = result
    progress(1.0, "Seamless clone")
    return out


def _match_channels(other: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``other`` as float32 in [0, 1] with ``image``'s channels (alpha added opaque or dropped)."""
    if (other.ndim == 2) != (image.ndim == 2):
        raise ValueError(
            f"other must be {'grey' if image.ndim == 2 else 'colour'} like image; got shape "
            f"{other.shape} for image shape {image.shape}"
        )
    unit = as_unit(other)
    if image.ndim == 3 and unit.shape[2] != image.shape[2]:
        if image.shape[2] == 3:
            unit = unit[..., :3]
        else:
            unit = np.dstack([unit, np.ones(unit.shape[:2], np.float32)])
    return unit


@operation("enhance.pyramid_blend", title="Pyramid blend", menu="Image/Combine")
def pyramid_blend(
    image: Image,
    other: Annotated[Image, Aligned()],
    mask: Labels,
    *,
    levels: Annotated[int, Range(1, 12)] = 6,
    progress: Progress | None = None,
) -> Image:
    """Blend two images along a mask with Laplacian pyramids: a seam without a visible edge.

    Each Laplacian level of ``image`` and ``other`` is mixed by the Gaussian pyramid of the
    mask (``cv2.pyrDown``/``cv2.pyrUp``): fine detail switches over a few pixels, coarse shading
    over about ``2**levels`` pixels. Where the mask is 1 the result is ``image``, where it is 0
    ``other`` (away from the seam). ``levels`` is reduced for small images so that the coarsest
    level keeps at least one pixel. ``other`` may have another dtype; it is used with
    ``image``'s channels (its alpha dropped or made opaque); with alpha both alphas are blended.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Image shown where the mask is 1.
    other : (H, W[, 3|4]) ndarray
        Image shown where the mask is 0; same size as ``image``.
    mask : (H, W) ndarray of int
        Nonzero where ``image`` is wanted; same size as ``image``.
    levels : int
        Number of pyramid levels (1 = plain cut along the mask).
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Blended image, same shape and dtype as ``image``.
    """
    import cv2

    image = check_image(image)
    other = check_image(other, "other")
    mask = check_labels(mask, "mask")
    check_same_size("other", other, image)
    check_same_size("mask", mask, image)
    progress = token(progress)
    n = min(levels, int(np.log2(min(image.shape[:2]))) + 1)
    ga, gb, gm = [as_unit(image)], [_match_channels(other, image)], [(mask != 0).astype(np.float32)]
    for i in range(n - 1):
        progress(0.4 * i / n, "Pyramid blend")
        for pyramid in (ga, gb, gm):
            pyramid.append(cv2.pyrDown(pyramid[-1]))
    colour = image.ndim == 3

    def weight(level: int) -> np.ndarray:
        return gm[level][..., None] if colour else gm[level]

    out = gb[-1] + weight(n - 1) * (ga[-1] - gb[-1])
    for i in range(n - 2, -1, -1):
        progress(0.4 + 0.6 * (n - 2 - i) / n, "Pyramid blend")
        size = (ga[i].shape[1], ga[i].shape[0])
        la = ga[i] - cv2.pyrUp(ga[i + 1], dstsize=size)
        lb = gb[i] - cv2.pyrUp(gb[i + 1], dstsize=size)
        la -= lb
        la *= weight(i)
        la += lb  # the blended Laplacian level
        out = cv2.pyrUp(out, dstsize=size)
        out += la
    progress(1.0, "Pyramid blend")
    return from_unit(out, image.dtype)


@operation("enhance.focus_stack", title="Focus stack", menu="Image/Combine")
def focus_stack(
    images: list[Image],
    *,
    sigma: Annotated[float, Range(0.0, 50.0, step=0.5)] = 2.0,
    progress: Progress | None = None,
) -> Image:
    """Extended depth of field: at each pixel, take the layer that is sharpest there.

    Sharpness is the local Laplacian energy: the square of ``cv2.Laplacian`` (3×3) of each
    layer's luma, smoothed by a Gaussian of ``sigma`` pixels. Each output pixel is copied
    unchanged (all channels) from the layer with the highest energy there; ties go to the
    first layer. All layers must have the same shape and dtype.

    Parameters
    ----------
    images : list of (H, W[, 3|4]) ndarray
        The same scene focused at different depths, aligned.
    sigma : float
        Smoothing of the sharpness map in pixels; 0 compares single pixels.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        The all-in-focus composite, same shape and dtype as the layers.
    """
    import cv2

    if not isinstance(images, (list, tuple)) or not images:
        raise ValueError("images must be a non-empty list of images")
    images = [check_image(im, f"images[{i}]") for i, im in enumerate(images)]
    first = images[0]
    for i, im in enumerate(images[1:], start=1):
        if im.shape != first.shape or im.dtype != first.dtype:
            raise ValueError(
                f"images[{i}] must have the shape and dtype of images[0] ({first.shape}, "
                f"{first.dtype}); got {im.shape}, {im.dtype}"
            )
    progress = token(progress)

    def energy(im: np.ndarray) -> np.ndarray:
        unit = as_unit(im)
        lap = cv2.Laplacian(unit if unit.ndim == 2 else luma_sum(unit), cv2.CV_32F, ksize=3)
        lap *= lap
        return cv2.GaussianBlur(lap, (0, 0), sigma) if sigma > 0 else lap

    out = first.copy()
    best = energy(first)
    for i, im in enumerate(images[1:], start=1):
        progress(i / len(images), "Focus stack")
        e = energy(im)
        sharper = e > best
        out[sharper] = im[sharper]
        np.maximum(best, e, out=best)
    progress(1.0, "Focus stack")
    return out

