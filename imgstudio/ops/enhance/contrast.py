"""Histogram operations: equalisation, CLAHE, histogram matching.

Colour images are equalised on the lightness L of CIE Lab (``cv2.cvtColor``), which changes
contrast without shifting hues; alpha is carried through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import numpy as np

from imgstudio.core.editor import Editor, HistogramOverlay
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Range, check_image, dtype_max
from imgstudio.ops._pixels import as_unit, from_unit, join_alpha, split_alpha, token


def _on_lightness(colour: np.ndarray, fn: Callable[[np.ndarray], np.ndarray],
                  progress: Progress, message: str) -> np.ndarray:
    """Apply ``fn`` to the lightness of an RGB image and convert back to RGB.

    uint8 images go through OpenCV's 8-bit Lab (``fn`` gets and returns L as uint8, 0-255);
    uint16 and float32 images through float Lab, ``fn`` getting and returning L scaled to
    uint16 (0-65535) so that no precision is lost.
    """
    import cv2

    progress(0.0, message)
    if colour.dtype == np.uint8:
        lab = cv2.cvtColor(colour, cv2.COLOR_RGB2Lab)
        progress(0.3, message)
        lab[..., 0] = fn(np.ascontiguousarray(lab[..., 0]))
        progress(0.7, message)
        return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    lab = cv2.cvtColor(as_unit(colour), cv2.COLOR_RGB2Lab)
    lightness = from_unit(lab[..., 0] / 100.0, np.uint16)
    progress(0.3, message)
    lab[..., 0] = fn(lightness) * np.float32(100.0 / 65535.0)
    progress(0.6, message)
    return from_unit(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), colour.dtype)


@operation("enhance.histogram_equalize", title="Equalize histogram", menu="Image/Adjust")
def histogram_equalize(image: Image, *, progress: Progress | None = None) -> Image:
    """Spread the intensities so that their histogram becomes flat (global equalisation).

    Grey images: ``skimage.exposure.equalize_hist`` (one bin per value for uint8/uint16, 256
    bins for float32) rounded back to the dtype. Colour images: the same on the lightness L of
    Lab (8-bit Lab for uint8, L as uint16 otherwise), so hues are kept. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Equalised image, same shape and dtype.
    """
    from skimage.exposure import cumulative_distribution, equalize_hist

    image = check_image(image)
    colour, alpha = split_alpha(image)

    def equalize(x: np.ndarray) -> np.ndarray:
        if x.dtype.kind == "f":
            return from_unit(equalize_hist(x), x.dtype)
        # equalize_hist is np.interp(x, bin_centers, cdf): for integers, one lookup table
        cdf, centres = cumulative_distribution(x)
        values = np.arange(int(dtype_max(x.dtype)) + 1, dtype=np.float64)
        return from_unit(np.interp(values, centres, cdf), x.dtype)[x]

    progress = token(progress)
    message = "Equalizing histogram"
    if colour.ndim == 2:
        progress(0.0, message)
        out = equalize(colour)
    else:
        out = _on_lightness(colour, equalize, progress, message)
    progress(1.0, message)
    return join_alpha(out, alpha)


@operation("enhance.clahe", title="CLAHE", menu="Image/Adjust")
def clahe(
    image: Image,
    *,
    clip_limit: Annotated[float, Range(0.0, 100.0, step=0.1)] = 2.0,
    tile: Annotated[int, Range(1, 64)] = 8,
    progress: Progress | None = None,
) -> Image:
    """Contrast-limited adaptive histogram equalisation (cv2.createCLAHE) on a tile grid.

    Grey uint8/uint16 images go straight to OpenCV; float32 ones are rounded to uint16 first.
    Colour images are equalised on the lightness L of Lab (8-bit Lab for uint8; for uint16 and
    float32, L scaled to uint16). With uint16 data OpenCV uses a 65536-bin histogram, and
    ``clip_limit`` is relative to the mean bin count, so the same value clips harder than for
    uint8. Alpha is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    clip_limit : float
        Contrast limit, as a multiple of the mean histogram bin count; 0 disables clipping
        (plain adaptive equalisation).
    tile : int
        Number of tiles along each side of the grid (``tileGridSize=(tile, tile)``); at most
        the image's smaller side.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Equalised image, same shape and dtype.
    """
    import cv2

    image = check_image(image)
    if tile > min(image.shape[:2]):
        raise ValueError(
            f"tile must be between 1 and the image's smaller side ({min(image.shape[:2])}); "
            f"got {tile}"
        )
    engine = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(tile, tile))
    colour, alpha = split_alpha(image)
    progress = token(progress)
    progress(0.0, "CLAHE")
    if colour.ndim == 3:
        out = _on_lightness(colour, engine.apply, progress, "CLAHE")
    elif colour.dtype == np.float32:
        out = as_unit(engine.apply(from_unit(colour, np.uint16)))
    else:
        out = engine.apply(colour)
    progress(1.0, "CLAHE")
    return join_alpha(out, alpha)


# The mapping comes from the whole image's histogram: previews use the whole layer.
@operation("enhance.histogram_match", title="Match histogram", menu="Image/Adjust",
           editor=Editor(preview="whole",
                         views=(HistogramOverlay(inputs=("reference",)),)))
def histogram_match(
    image: Image, reference: Image, *, progress: Progress | None = None
) -> Image:
    """Map each channel's intensities so that its histogram matches the reference layer's.

    The CDF of each channel of ``image`` is mapped onto the CDF of the same channel of
    ``reference`` (``skimage.exposure.match_histograms``, channel by channel as with
    ``channel_axis=-1``), rounded back to the input dtype (skimage itself truncates integer
    colour results, so it can be one level lower). The reference may have another size
    and dtype (it is rescaled to the image's dtype first) but must be grey when the image is
    grey and colour when it is colour; its alpha is ignored, the image's is kept.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Image to adjust.
    reference : (H', W'[, 3|4]) ndarray
        Layer whose histogram is wanted.
    progress : Progress, optional
        Progress and cancellation token.

    Returns
    -------
    ndarray
        Matched image, same shape and dtype as ``image``.
    """
    from skimage.exposure import match_histograms

    image = check_image(image)
    reference = check_image(reference, "reference")
    colour, alpha = split_alpha(image)
    ref, _ = split_alpha(reference)
    if (colour.ndim == 2) != (ref.ndim == 2):
        kinds = {2: "grey", 3: "colour"}
        raise ValueError(
            f"reference must be {kinds[colour.ndim]} like image; got a {kinds[ref.ndim]} "
            f"reference of shape {reference.shape}"
        )
    if ref.dtype != colour.dtype:
        ref = from_unit(as_unit(ref, np.float64), colour.dtype)
    progress = token(progress)
    grey = colour.ndim == 2
    planes = [(colour, ref)] if grey else [(colour[..., c], ref[..., c]) for c in range(3)]
    out = np.empty_like(colour)
    for c, (plane, ref_plane) in enumerate(planes):
        progress(c / len(planes), "Matching histogram")
        matched = match_histograms(plane, ref_plane)  # values of ref_plane, interpolated
        if colour.dtype.kind != "f":
            np.rint(matched, out=matched)
        if grey:
            out[...] = matched
        else:
            out[..., c] = matched
    progress(1.0, "Matching histogram")
    return join_alpha(out, alpha)

