"""Watershed segmentation (scikit-image and SimpleITK) and the helpers that make its markers.

:func:`propose_markers` is what ``segment.watershed`` uses when no markers are given (also the
operation ``segment.watershed_markers``, whose result the user can edit as a labels layer);
:func:`~imgstudio.core.selection.markers_from_points` (small discs around click-placed points,
the editor's Layer → Points to Markers) is re-exported here.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.editor import Editor, Seeds, Without
from imgstudio.core.progress import Progress
from imgstudio.core.selection import markers_from_points  # noqa: F401 - the segment API
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image
from imgstudio.ops._params import Level8
from imgstudio.ops._pixels import as_labels, grey, grey_8bit, to_unit, token
from imgstudio.ops._sitk import run_sitk
from imgstudio.ops.segment._common import layer


def _foreground(grey: np.ndarray) -> np.ndarray:
    """Binary foreground: ``grey > min`` for a two-valued image, else ``grey > Otsu``."""
    from skimage.filters import threshold_otsu

    lo, hi = grey.min(), grey.max()
    if lo == hi or np.all((grey == lo) | (grey == hi)):
        return grey > lo
    return grey > threshold_otsu(grey)


def _distance_markers(
    image: np.ndarray, min_distance: int, footprint: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(markers, distance, foreground) of the automatic watershed."""
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max

    foreground = _foreground(grey(image))
    distance = ndi.distance_transform_edt(foreground)
    components, count = ndi.label(foreground)
    peaks = peak_local_max(
        distance,
        min_distance=min_distance,
        footprint=np.ones((footprint, footprint), bool),
        labels=components,
        exclude_border=False,
    )
    # every connected component gets a marker, even one without a strict local maximum
    # (e.g. a flat ridge): the position of its largest distance
    covered = np.zeros(count + 1, bool)
    covered[components[tuple(peaks.T)]] = True
    missing = np.flatnonzero(~covered[1:]) + 1
    if len(missing):
        extra = np.array(ndi.maximum_position(distance, components, missing), dtype=int)
        peaks = np.vstack([peaks.reshape(-1, 2), extra.reshape(-1, 2)])
    peaks = peaks[np.lexsort((peaks[:, 1], peaks[:, 0]))] if len(peaks) else peaks
    markers = np.zeros(foreground.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    return markers, distance, foreground


def propose_markers(image: Image, *, min_distance: int = 20, footprint: int = 3) -> Labels:
    """Markers the automatic watershed would use: one labelled pixel per distance peak.

    The image is binarised (``grey > min`` if it has only two values, else Otsu), its Euclidean
    distance transform is computed and the peaks of that distance
    (``skimage.feature.peak_local_max`` with ``min_distance``, a ``footprint`` × ``footprint``
    window, per connected component of the foreground, border peaks included) become the
    markers 1..n in raster order. A component without a strict peak gets one at its largest
    distance, so every foreground component is reached.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; colour is reduced to the BT.601 luma, alpha is ignored.
    min_distance : int
        Smallest distance in pixels between two markers (Chebyshev).
    footprint : int
        Side of the square window in which a peak must be the maximum.

    Returns
    -------
    (H, W) int32 ndarray
        0 everywhere except one pixel per marker.
    """
    image = check_image(image)
    if min_distance < 1:
        raise ValueError(f"min_distance must be >= 1; got {min_distance}")
    if footprint < 1:
        raise ValueError(f"footprint must be >= 1; got {footprint}")
    return _distance_markers(image, min_distance, footprint)[0]


WATERSHED_HINT = ('Watershed from markers floods every pixel from some marker: paint one more label on the background too, or the background joins an object')

#: The markers a watershed floods from (painted seeds; none: automatic markers).
_MARKERS = Annotated[Labels | None, Seeds(WATERSHED_HINT)]
#: The automatic markers' parameters (:func:`propose_markers`).
_MIN_DISTANCE = Annotated[int, Range(1, 1000)]
_FOOTPRINT = Annotated[int, Range(1, 101)]


# With markers the flooding reaches from every marker: previews then use the whole layer.
# min_distance and footprint only shape the automatic markers: the form hides them with markers.
@operation("segment.watershed", title="Watershed", menu="Segment/Watershed",
           editor=Editor(preview_pixels=1_000_000,
                         applies={"min_distance": Without("markers"),
                                  "footprint": Without("markers")}))
def watershed(
    image: Image,
    markers: _MARKERS = None,
    *,
    min_distance: _MIN_DISTANCE = 20,
    compactness: Annotated[float, Range(0.0, 1000.0)] = 0.0,
    footprint: _FOOTPRINT = 3,
    progress: Progress | None = None,
) -> Labels:
    """Split objects with the watershed: automatic distance-peak markers, or your markers.

    Without ``markers`` (separates touching round objects): the image is binarised (``grey >
    min`` if it has only two values, else Otsu), the peaks of its distance transform become
    markers (see :func:`propose_markers`) and ``skimage.segmentation.watershed(-distance,
    markers, mask=foreground, compactness=compactness)`` floods the foreground; the background
    stays 0.

    With ``markers``: ``skimage.segmentation.watershed`` floods the Sobel gradient magnitude of
    the grey image (in [0, 1]) from the given markers; every pixel gets the value of the marker
    that reaches it, so paint one marker for the background too. ``min_distance`` and
    ``footprint`` are then unused (the editor hides them while markers are chosen).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; colour is reduced to the BT.601 luma, alpha is ignored.
    markers : (H, W) Labels, optional
        Seed regions, one value per object (0 = to be flooded).
    min_distance : int
        Automatic markers: smallest distance in pixels between two object centres.
    compactness : float
        0 = classic watershed; larger values give more regular, compact regions.
    footprint : int
        Automatic markers: side of the square window in which a distance peak must be the
        maximum.

    Returns
    -------
    (H, W) int32 ndarray
        One label per object (the marker values when markers are given), 0 = background.
    """
    from skimage.filters import sobel
    from skimage.segmentation import watershed as sk_watershed

    progress = token(progress)
    image = check_image(image)
    progress(0.0, "Markers")
    if markers is not None:
        seeds = layer(markers, image, "markers")
        if not seeds.any():
            raise ValueError("markers is empty: paint at least one marker (non-zero value)")
        gradient = sobel(to_unit(grey(image)))
        progress(0.3, "Flooding")
        out = sk_watershed(gradient, seeds, compactness=compactness)
    else:
        seeds, distance, foreground = _distance_markers(image, min_distance, footprint)
        progress(0.5, "Flooding")
        if not seeds.any():
            out = np.zeros(foreground.shape, np.int32)
        else:
            out = sk_watershed(-distance, seeds, mask=foreground, compactness=compactness)
    progress(1.0, "Done")
    return as_labels(out)


@operation("segment.watershed_markers", title="Propose watershed markers", menu="Segment/Watershed")
def watershed_markers(
    image: Image,
    *,
    min_distance: _MIN_DISTANCE = 20,
    footprint: _FOOTPRINT = 3,
    progress: Progress | None = None,
) -> Labels:
    """Markers for the watershed: one labelled pixel per distance-transform peak.

    Exactly the markers ``segment.watershed`` uses without a markers layer (see
    :func:`propose_markers`). Edit them and pass them back as ``markers``; that path floods the
    image gradient everywhere, so also paint a marker (a new value) on the background.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; colour is reduced to the BT.601 luma, alpha is ignored.
    min_distance : int
        Smallest distance in pixels between two markers.
    footprint : int
        Side of the square window in which a peak must be the maximum.

    Returns
    -------
    (H, W) int32 ndarray
        Markers 1..n in raster order, 0 elsewhere.
    """
    progress = token(progress)
    progress(0.0, "Distance peaks")
    out = propose_markers(image, min_distance=min_distance, footprint=footprint)
    progress(1.0, "Done")
    return out


@operation("segment.sitk_watershed", title="Watershed (SimpleITK)", menu="Segment/Watershed",
           editor=Editor(preview_pixels=1_000_000))
def sitk_watershed(
    image: Image,
    markers: _MARKERS = None,
    *,
    level: Level8 = 1.0,
    fully_connected: bool = False,
    progress: Progress | None = None,
) -> Labels:
    """Morphological watershed of the gradient magnitude (SimpleITK), optionally from markers.

    The grey image is scaled to [0, 255] (whatever its dtype) and its gradient magnitude
    (``SimpleITK.GradientMagnitude``) is flooded by ``SimpleITK.MorphologicalWatershed(level,
    markWatershedLine=False, fullyConnected)``, or by
    ``MorphologicalWatershedFromMarkers(markWatershedLine=False, fullyConnected)`` when
    ``markers`` are given. No watershed lines are drawn: every pixel gets a region.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; colour is reduced to the BT.601 luma, alpha is ignored.
    markers : (H, W) Labels, optional
        Seed regions (0 = to be flooded); ``level`` is then unused.
    level : float
        Minima shallower than this (gradient of the 8-bit-scaled image) are merged; higher =
        fewer regions.
    fully_connected : bool
        Use 8-connectivity instead of 4.

    Returns
    -------
    (H, W) int32 ndarray
        Region labels from 1 (the marker values when markers are given).
    """
    import SimpleITK as sitk

    progress = token(progress)
    image = check_image(image)
    seeds = None
    if markers is not None:
        seeds = layer(markers, image, "markers")
        if not seeds.any():
            raise ValueError("markers is empty: paint at least one marker (non-zero value)")
    progress(0.0, "Gradient")
    gradient = run_sitk(
        sitk.GradientMagnitudeImageFilter(), (sitk.GetImageFromArray(grey_8bit(image)),),
        progress.sub(0.0, 0.2), "Gradient",
    )
    if seeds is None:
        flood = sitk.MorphologicalWatershedImageFilter()
        flood.SetLevel(float(level))
        inputs = (gradient,)
    else:
        flood = sitk.MorphologicalWatershedFromMarkersImageFilter()
        marker_image = sitk.GetImageFromArray(seeds)
        marker_image.CopyInformation(gradient)
        inputs = (gradient, marker_image)
    flood.SetMarkWatershedLine(False)
    flood.SetFullyConnected(bool(fully_connected))
    out = run_sitk(flood, inputs, progress.sub(0.2, 1.0), "Flooding")
    return as_labels(sitk.GetArrayFromImage(out))
