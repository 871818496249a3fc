"""Global and adaptive thresholding: grey image → 0/1 mask (Labels)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import numpy as np

from imgstudio.core.editor import Editor, HistogramMarker
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image
from imgstudio.ops._params import Level8
from imgstudio.ops._pixels import as_labels, from_8bit_level, grey, token

ThresholdMethod = Literal["otsu", "isodata", "li", "yen", "triangle", "mean", "manual"]
METHODS: tuple[str, ...] = ("otsu", "isodata", "li", "yen", "triangle", "mean", "manual")


def _threshold_of(g: np.ndarray, method: str, value: float) -> float:
    """The threshold of grey image ``g`` in its intensity units (see :func:`threshold_value`)."""
    import skimage.filters

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if method == "manual":
        if not 0.0 <= float(value) <= 255.0:
            raise ValueError(f"value must be in [0, 255] (8-bit units); got {value!r}")
        return from_8bit_level(value, g.dtype)
    lo, hi = g.min(), g.max()
    if lo == hi:
        # One grey level: nothing to separate (scikit-image warns or divides by zero here).
        return float(lo)
    try:
        return float(getattr(skimage.filters, f"threshold_{method}")(g))
    except IndexError:
        # threshold_isodata finds no level on some float images with very few grey levels.
        raise ValueError(
            f"method {method} finds no threshold for this image (too few grey levels); "
            "use otsu or manual"
        ) from None


def threshold_value(image: np.ndarray, method: str = "otsu", value: float = 128.0) -> float:
    """The threshold ``binary.threshold`` uses, in the grey image's intensity units.

    For the GUI to mark it on the histogram: 0..255 for uint8, 0..65535 for uint16, 0..1 for
    float32. ``image`` and the arguments are as for :func:`threshold`.
    """
    image = check_image(image)
    return _threshold_of(grey(image), method, value)


def marker_of(method: str | None) -> Callable[[np.ndarray, Mapping[str, Any]], float]:
    """The histogram marker of a global threshold: :func:`threshold_value` of the image
    with ``method`` (None: the form's ``method``) and the form's ``value``, in the grey
    image's units."""

    def value(image: np.ndarray, params: Mapping[str, Any]) -> float:
        chosen = method or str(params.get("method", "otsu"))
        return threshold_value(image, chosen, float(params.get("value", 128.0)))

    return value


@operation("binary.threshold", title="Threshold", menu="Binary/Threshold",
           editor=Editor(views=(HistogramMarker(marker_of(None)),)))
def threshold(
    image: Image,
    *,
    method: ThresholdMethod = "otsu",
    value: Level8 = 128.0,
) -> Labels:
    """Global threshold: 1 where the grey level is above the threshold, else 0.

    The grey image is the BT.601 luma of RGB(A) (as ``basic.grayscale``, alpha ignored) in the
    image's own dtype; the result is ``grey > t`` with ``t`` from
    ``skimage.filters.threshold_<method>(grey)``. :func:`threshold_value` returns ``t``.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        uint8, uint16 or float32 image.
    method : str
        otsu (between-class variance), isodata (Ridler–Calvard iterative selection), li
        (minimum cross-entropy), yen, triangle, mean (the mean grey level) or manual
        (``value``). On a constant image every method gives that level (an empty mask).
    value : float
        Manual threshold in 8-bit units (0..255), scaled to the dtype: × 257 for uint16,
        / 255 for float32. Only used by ``method="manual"``.

    Returns
    -------
    (H, W) int32 ndarray
        Mask: 1 above the threshold, 0 elsewhere.
    """
    image = check_image(image)
    g = grey(image)
    return as_labels(g > _threshold_of(g, method, value))


@operation("binary.adaptive_threshold", title="Adaptive threshold", menu="Binary/Threshold")
def adaptive_threshold(
    image: Image,
    *,
    block_size: Annotated[int, Range(3, 1001, step=2)] = 35,
    offset: Annotated[float, Range(-255.0, 255.0)] = 0.0,
    progress: Progress | None = None,
) -> Labels:
    """Local threshold: 1 where the grey level is above its Gaussian-weighted neighbourhood mean.

    ``grey > skimage.filters.threshold_local(grey, block_size, offset=offset)`` with the
    default Gaussian method and reflected borders; grey is the BT.601 luma (as
    ``basic.grayscale``) in the image's dtype.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        uint8, uint16 or float32 image; alpha is ignored.
    block_size : int
        Odd size of the neighbourhood in pixels (the Gaussian's sigma is (block_size - 1) / 6).
    offset : float
        Subtracted from the local mean, in 8-bit units (scaled like ``binary.threshold``'s
        value): positive values lower the threshold and mark more pixels.

    Returns
    -------
    (H, W) int32 ndarray
        Mask: 1 above the local threshold, 0 elsewhere.
    """
    import skimage.filters

    image = check_image(image)
    if block_size % 2 == 0:
        raise ValueError(f"block_size must be odd; got {block_size}")
    progress = token(progress)
    progress(0.0, "Grey levels")
    g = grey(image)
    progress(0.3, "Local thresholds")
    local = skimage.filters.threshold_local(g, block_size,
                                            offset=from_8bit_level(offset, g.dtype))
    progress(0.9, "Comparing")
    return as_labels(g > local)
