"""Global threshold segmentation: Otsu and Riddler–Calvard (ISODATA)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imgstudio.core.editor import Editor, HistogramMarker
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, check_image
from imgstudio.ops._pixels import as_labels, grey, token
from imgstudio.ops.binary.threshold import marker_of


def _threshold(
    image: np.ndarray, method: Callable[[np.ndarray], float], progress: Progress | None
) -> np.ndarray:
    progress = token(progress)
    image = check_image(image)
    progress(0.0, "Grey")
    grey_image = grey(image)
    progress(0.6, "Threshold")
    if grey_image.min() == grey_image.max():  # one value: nothing is above a threshold
        return np.zeros(grey_image.shape, np.int32)
    out = as_labels(grey_image > method(grey_image))
    progress(1.0, "Done")
    return out


@operation("segment.otsu", title="Otsu threshold", menu="Segment/Threshold",
           editor=Editor(views=(HistogramMarker(marker_of("otsu")),)))
def otsu(image: Image, *, progress: Progress | None = None) -> Labels:
    """Foreground mask: pixels brighter than Otsu's threshold.

    The threshold maximises the between-class variance of the grey histogram
    (``skimage.filters.threshold_otsu``); a pixel is foreground when ``grey > threshold``.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image. Colour is reduced to the BT.601 luma (as ``basic.grayscale``, in the
        image's dtype); alpha is ignored.

    Returns
    -------
    (H, W) int32 ndarray
        1 = foreground (bright), 0 = background. A constant image gives all 0.
    """
    from skimage.filters import threshold_otsu

    return _threshold(image, threshold_otsu, progress)


@operation("segment.riddler_calvard", title="Riddler–Calvard threshold",
           menu="Segment/Threshold",
           editor=Editor(views=(HistogramMarker(marker_of("isodata")),)))
def riddler_calvard(image: Image, *, progress: Progress | None = None) -> Labels:
    """Foreground mask: pixels brighter than the Riddler–Calvard (ISODATA) threshold.

    The threshold is the fixed point ``t = (mean below t + mean above t) / 2`` of the grey
    histogram (``skimage.filters.threshold_isodata``); a pixel is foreground when
    ``grey > threshold``.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image. Colour is reduced to the BT.601 luma (as ``basic.grayscale``, in the
        image's dtype); alpha is ignored.

    Returns
    -------
    (H, W) int32 ndarray
        1 = foreground (bright), 0 = background. A constant image gives all 0.
    """
    from skimage.filters import threshold_isodata

    return _threshold(image, threshold_isodata, progress)

