"""classify.gabor_texture: label textures from painted samples with a Gabor filter bank."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.editor import Editor, Seeds
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image, check_labels
from imgstudio.ops._pixels import as_labels, grey_unit, token

#: Shown when the op is chosen: what to paint.
GABOR_TEXTURE_HINT = ("Gabor textures: paint a few strokes on a labels layer (New Labels Layer, "
                      "Brush) inside each texture, one label value per texture (at least two); "
                      "every pixel gets the label of the texture it looks most like")
#: Rows of the feature table classified at once (bounds the distance table's memory).
_CHUNK = 1 << 18


def gabor_bank(frequencies: tuple[float, ...], orientations: int) -> list[tuple[float, float, np.ndarray]]:
    """``(frequency, theta, complex kernel)`` for every frequency and orientation.

    ``skimage.filters.gabor_kernel(frequency, theta)`` (bandwidth 1 octave) at the angles
    ``k·π / orientations``; the real part's mean is removed so that a flat area responds 0.
    """
    from skimage.filters import gabor_kernel

    bank = []
    for frequency in frequencies:
        for k in range(orientations):
            theta = k * np.pi / orientations
            kernel = gabor_kernel(frequency, theta=theta)
            kernel = (kernel.real - kernel.real.mean()) + 1j * kernel.imag
            bank.append((float(frequency), float(theta), kernel))
    return bank


def gabor_energy(grey: np.ndarray, kernel: np.ndarray, window: int) -> np.ndarray:
    """Local energy: the modulus of the complex Gabor response, averaged over a
    ``window × window`` box (borders mirrored), as float32."""
    import cv2

    re = cv2.filter2D(grey, cv2.CV_32F, np.ascontiguousarray(kernel.real, np.float32),
                      borderType=cv2.BORDER_REFLECT)
    im = cv2.filter2D(grey, cv2.CV_32F, np.ascontiguousarray(kernel.imag, np.float32),
                      borderType=cv2.BORDER_REFLECT)
    modulus = cv2.magnitude(re, im)
    return cv2.boxFilter(modulus, -1, (window, window), borderType=cv2.BORDER_REFLECT)


def _check(image: np.ndarray, samples: np.ndarray, frequencies, orientations: int,
           window: int) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    image = check_image(image)
    samples = check_labels(samples, "samples")
    if samples.shape != image.shape[:2]:
        raise ValueError(f"samples must have the image's size {image.shape[:2]}; "
                         f"got {samples.shape}")
    if samples.dtype != bool and samples.size and samples.min() < 0:
        raise ValueError(f"samples must be >= 0 (0 = not painted); got {samples.min()}")
    try:
        freqs = tuple(float(f) for f in frequencies)
    except (TypeError, ValueError):
        raise ValueError(f"frequencies must be a list of numbers; got {frequencies!r}") from None
    if not freqs or not all(0.0 < f <= 0.5 for f in freqs):
        raise ValueError(f"frequencies must be in (0, 0.5] cycles per pixel; got {frequencies!r}")
    if int(orientations) != orientations or orientations < 1:
        raise ValueError(f"orientations must be an integer >= 1; got {orientations!r}")
    if int(window) != window or window < 1:
        raise ValueError(f"window must be an integer >= 1; got {window!r}")
    classes = np.unique(samples)
    classes = classes[classes > 0]
    if len(classes) == 0:
        raise ValueError("samples is empty: paint at least two textures (non-zero labels)")
    if len(classes) < 2:
        raise ValueError(f"samples must contain at least two labels (textures); got only "
                         f"{int(classes[0])}")
    if classes.max() > np.iinfo(np.int32).max:
        raise ValueError(f"samples values must fit in int32; got {classes.max()}")
    return image, classes, freqs


@operation("classify.gabor_texture", title="Texture classes (Gabor)", menu="Analyze/Classify",
           editor=Editor(preview="apply"))
def gabor_texture(
    image: Image,
    samples: Annotated[Labels, Seeds(GABOR_TEXTURE_HINT)],
    *,
    frequencies: Annotated[tuple[float, ...], Range(0.02, 0.5)] = (0.1, 0.2, 0.3),
    orientations: Annotated[int, Range(1, 16)] = 4,
    window: Annotated[int, Range(3, 255)] = 33,
    progress: Progress | None = None,
) -> Labels:
    """Label each pixel with the painted texture whose Gabor energies its neighbourhood matches.

    1. Features: the grey image (BT.601 luma in [0, 1]) is filtered by a bank of complex Gabor
       kernels (``skimage.filters.gabor_kernel``, one per frequency and orientation
       ``k·π / orientations``, real part made zero-mean, convolved with OpenCV, borders
       mirrored); each feature is the local energy, the response's modulus averaged over a
       ``window × window`` box, so a pixel is described by the patch around it.
    2. Classes: every label value painted in ``samples`` is a class; its centroid is the mean
       feature vector of its painted pixels. Features are scaled by their pooled within-class
       standard deviation over the samples (so that no frequency dominates by its units), and
       each pixel takes the nearest centroid (Euclidean).
    3. Patches: each pixel then takes the class most pixels of its ``window × window`` patch
       were given (a majority vote), which removes isolated misclassified spots.

    Texture boundaries are blurred over about half a window; a larger window gives steadier
    classes inside large regions.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; colour is reduced to grey, alpha is ignored.
    samples : (H, W) Labels
        Painted sample regions: 0 = not painted, each positive value one texture (at least
        two).
    frequencies : tuple of float
        Gabor frequencies in cycles per pixel (0.1 = a period of 10 pixels), up to 0.5.
    orientations : int
        Filter orientations per frequency, evenly spread over 180°.
    window : int
        Side in pixels of the patch over which energies are averaged and classes voted.
    progress : Progress, optional
        Progress per filter and cancellation between filters.

    Returns
    -------
    (H, W) int32 ndarray
        The ``samples`` value of each pixel's texture (every pixel is labelled).
    """
    import cv2

    image, classes, freqs = _check(image, samples, frequencies, orientations, window)
    progress = token(progress)
    window = int(window)
    grey = np.ascontiguousarray(grey_unit(image, np.float32), dtype=np.float32)
    h, w = grey.shape
    bank = gabor_bank(freqs, int(orientations))
    features = np.empty((h * w, len(bank)), np.float32)
    for j, (frequency, theta, kernel) in enumerate(bank):
        progress(0.8 * j / len(bank),
                 f"Gabor filter {j + 1}/{len(bank)} (f={frequency:g}, θ={np.degrees(theta):.0f}°)")
        features[:, j] = gabor_energy(grey, kernel, window).ravel()
    progress(0.8, "classifying")
    flat = np.asarray(samples).ravel()
    rows = [features[flat == c].astype(np.float64) for c in classes]
    centroids = np.array([r.mean(axis=0) for r in rows])
    spread = np.concatenate([r - m for r, m in zip(rows, centroids, strict=True)]).std(axis=0)
    scale = np.where(spread > 0, 1.0 / np.where(spread > 0, spread, 1.0), 1.0)
    centroids_s = (centroids * scale).astype(np.float32)
    c_norm = (centroids_s.astype(np.float64) ** 2).sum(axis=1)
    nearest = np.empty(h * w, np.int32)
    for start in range(0, h * w, _CHUNK):
        part = features[start:start + _CHUNK] * scale.astype(np.float32)
        # |x - c|² without |x|² (the same for every class): |c|² - 2 x·c
        d = c_norm[None, :] - 2.0 * (part @ centroids_s.T).astype(np.float64)
        nearest[start:start + _CHUNK] = d.argmin(axis=1)
        progress.check()
    nearest = nearest.reshape(h, w)
    progress(0.9, "patch vote")
    best = np.full((h, w), -1.0, np.float32)
    voted = np.zeros((h, w), np.int32)
    for k in range(len(classes)):
        share = cv2.boxFilter((nearest == k).astype(np.float32), -1, (window, window),
                              borderType=cv2.BORDER_REFLECT)
        better = share > best  # ties keep the lower class index
        voted[better] = k
        best[better] = share[better]
    progress(1.0, f"{len(classes)} textures")
    return as_labels(classes.astype(np.int64)[voted])
