"""Colour clustering: k-means, Gaussian mixtures (EM, optionally seeded), fuzzy c-means, mean shift.

Clustering models are fitted on at most ``FIT_SAMPLE`` pixels drawn with the op's ``seed`` and
then label every pixel in chunks (progress is reported and Cancel honoured between chunks).
Colour features are the RGB (or grey) values scaled to [0, 1]; alpha is ignored.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np

from imgstudio.core.editor import Editor, Seeds
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, Result, Table, check_image, dtype_max
from imgstudio.ops._params import Seed
from imgstudio.ops._pixels import as_labels, colour_part, from_uint8, to_uint8, to_unit, token
from imgstudio.ops.segment._common import (
    FIT_SAMPLE,
    chunks,
    distinct_count,
    layer,
    map_chunks,
    pixels,
    sample_rows,
    seed_classes,
)

#: Added to the GMM covariances' diagonal (features in [0, 1]): keeps flat colour regions,
#: whose empirical covariance is ~0, from giving degenerate components.
GMM_REG_COVAR = 1e-4


def _fit_sample(rows: np.ndarray, seed: int) -> np.ndarray:
    idx = sample_rows(len(rows), FIT_SAMPLE, np.random.default_rng(seed))
    return rows if idx is None else rows[idx]


@contextlib.contextmanager
def _sklearn_quiet(single_blas_thread: bool = False) -> Iterator[None]:
    """Silence scikit-learn's ConvergenceWarning (a fit that stops at max_iter is still used).

    With ``single_blas_thread`` BLAS runs on one thread meanwhile, as scikit-learn's own KMeans
    does: GaussianMixture makes thousands of 3×3 LAPACK calls, which a threaded BLAS on a busy
    CPU turns from microseconds into tens of milliseconds each.
    """
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if single_blas_thread:
            with threadpool_limits(limits=1, user_api="blas"):
                yield
        else:
            yield


# -- k-means ---------------------------------------------------------------------------------


@operation("segment.kmeans", title="K-means", menu="Segment/Cluster")
def kmeans(
    image: Image,
    *,
    k: Annotated[int, Range(2, 64)] = 4,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> Labels:
    """Cluster pixel colours with k-means; one label per cluster.

    ``sklearn.cluster.KMeans(n_clusters=k, n_init=1, random_state=seed)`` is fitted on at most
    20,000 pixels (drawn with ``seed``) and ``predict`` labels every pixel. When the sample has
    fewer distinct colours than ``k``, that many clusters are used.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; RGB (or grey) values in [0, 1] are the features, alpha is ignored.
    k : int
        Number of clusters.
    seed : int
        Seed of the pixel sample and of the k-means++ initialisation.

    Returns
    -------
    (H, W) int32 ndarray
        Cluster labels 1..k, in scikit-learn's cluster order.
    """
    from sklearn.cluster import KMeans

    progress = token(progress)
    image = check_image(image)
    rows = pixels(image)
    fit = to_unit(_fit_sample(rows, seed))
    n = min(k, distinct_count(fit))
    progress(0.05, "Fitting")
    with _sklearn_quiet():
        model = KMeans(n_clusters=n, n_init=1, random_state=seed).fit(fit)
    progress(0.2, "Labelling")
    labels = map_chunks(
        len(rows), lambda s: model.predict(to_unit(rows[s])), progress.sub(0.2, 1.0),
        "Labelling",
    )
    return as_labels(labels.reshape(image.shape[:2]) + 1)


# -- Gaussian mixtures -----------------------------------------------------------------------

_SPACES = ("rgb", "ycrcb", "lab", "hsv")


def colour_features(rows: np.ndarray, space: str) -> np.ndarray:
    """(n, C) raw pixel rows -> float64 features in [0, 1] in colour ``space`` (via OpenCV).

    Grey rows (C = 1) are the intensity whatever ``space``. ycrcb: Y, Cr, Cb as OpenCV's float
    conversion gives them (already in [0, 1]); lab: L/100, (a + 128)/255, (b + 128)/255;
    hsv: H/360, S, V.
    """
    import cv2

    rgb = to_unit(rows, np.float32)
    if rows.shape[1] == 1 or space == "rgb":
        return rgb.astype(np.float64)
    code = {"ycrcb": cv2.COLOR_RGB2YCrCb, "lab": cv2.COLOR_RGB2Lab, "hsv": cv2.COLOR_RGB2HSV}
    out = cv2.cvtColor(rgb.reshape(-1, 1, 3), code[space]).reshape(-1, 3).astype(np.float64)
    if space == "lab":
        out = (out + [0.0, 128.0, 128.0]) / [100.0, 255.0, 255.0]
    elif space == "hsv":
        out[:, 0] /= 360.0
    return out


def _gmm(n: int, seed: int, data: np.ndarray):
    from sklearn.mixture import GaussianMixture

    if len(data) < 2:  # EM needs two samples: a single pixel is one component, twice over
        data = np.repeat(data, 2, axis=0)
    return GaussianMixture(
        n_components=min(n, distinct_count(data)), covariance_type="full",
        reg_covar=GMM_REG_COVAR, random_state=seed,
    ).fit(data)


# With seeds, one mixture is fitted per seed class from seeds anywhere in the image.
@operation("segment.gmm", title="Gaussian mixture", menu="Segment/Cluster",
           editor=Editor(preview_pixels=250_000))
def gmm(
    image: Image,
    seeds: Annotated[Labels | None, Seeds()] = None,
    *,
    n_components: Annotated[int, Range(1, 16)] = 3,
    color_space: Literal["ycrcb", "rgb", "lab", "hsv"] = "ycrcb",
    seed: Seed = 0,
    progress: Progress | None = None,
) -> Labels:
    """Segment by colour with Gaussian mixture models (EM), unsupervised or from seed strokes.

    Without ``seeds``: ``sklearn.mixture.GaussianMixture(n_components, covariance_type="full",
    reg_covar=1e-4, random_state=seed)`` is fitted on at most 20,000 pixels and every pixel
    gets its most probable component (labels 1..n_components).

    With ``seeds`` (e.g. 1 = skin, 2 = not skin): one mixture of ``n_components`` per seed
    class is fitted on that class's seed pixels, and every pixel gets the class whose mixture
    gives it the highest likelihood (equal priors); seed pixels keep their own class.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; alpha is ignored. Grey images use the intensity (``color_space`` is then
        unused).
    seeds : (H, W) Labels, optional
        Strokes, one positive value per class, 0 = to be labelled; at least two classes.
    n_components : int
        Gaussians per mixture (fewer if the pixels have fewer distinct colours).
    color_space : str
        Features (OpenCV conversion of RGB in [0, 1], each channel scaled to [0, 1]): ``ycrcb``
        (separates brightness from chroma; the classic choice for skin), ``rgb``, ``lab``,
        ``hsv``.
    seed : int
        Seed of the pixel sample and of EM's initialisation.

    Returns
    -------
    (H, W) int32 ndarray
        Component labels 1..n (unsupervised) or the seed class values.
    """
    progress = token(progress)
    image = check_image(image)
    if color_space not in _SPACES:
        raise ValueError(f"color_space must be one of {', '.join(_SPACES)}; got {color_space!r}")
    rows = pixels(image)

    def features(part: np.ndarray) -> np.ndarray:
        return colour_features(part, color_space)

    if seeds is None:
        with _sklearn_quiet(single_blas_thread=True):
            progress(0.02, "Fitting")
            model = _gmm(n_components, seed, features(_fit_sample(rows, seed)))
            progress(0.3, "Labelling")
            labels = map_chunks(
                len(rows), lambda s: model.predict(features(rows[s])) + 1,
                progress.sub(0.3, 1.0), "Labelling",
            )
        return as_labels(labels.reshape(image.shape[:2]))

    flat = layer(seeds, image, "seeds").ravel()
    classes = seed_classes(flat, "classes")
    with _sklearn_quiet(single_blas_thread=True):
        labels = _gmm_classify(rows, flat, classes, n_components, seed, features, progress)
    return as_labels(labels.reshape(image.shape[:2]))


def _gmm_classify(rows, flat, classes, n_components, seed, features, progress) -> np.ndarray:
    """One mixture per seed class; every pixel to the most likely class, seeds keep theirs."""
    progress(0.02, "Fitting")
    models = []
    for i, value in enumerate(classes):
        members = rows[flat == value]
        models.append(_gmm(n_components, seed, features(_fit_sample(members, seed))))
        progress(0.3 * (i + 1) / len(classes), f"Fitting class {value}")

    def classify(part: slice) -> np.ndarray:
        x = features(rows[part])
        scores = np.stack([m.score_samples(x) for m in models], axis=1)
        return classes[np.argmax(scores, axis=1)]

    labels = map_chunks(len(rows), classify, progress.sub(0.3, 1.0), "Labelling")
    return np.where(flat > 0, flat, labels)


# -- fuzzy c-means ---------------------------------------------------------------------------

FCM_MAX_ITER = 300
FCM_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class FuzzyCMeansResult(Result):
    """Hard labels (largest membership), that membership per pixel, and the cluster centres."""

    labels: Labels
    membership: Image
    centres: Table


def _fcm_memberships(d2: np.ndarray, m: float) -> np.ndarray:
    """u_ij = 1 / sum_k (d_ij / d_ik)^(2/(m-1)) from squared distances (n, c), stably."""
    d2 = np.maximum(d2, 1e-12)
    ratio = d2.min(axis=1, keepdims=True) / d2  # in (0, 1]: no overflow for m close to 1
    w = ratio ** (1.0 / (m - 1.0))
    return w / w.sum(axis=1, keepdims=True)


def _sq_dist(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def fuzzy_cmeans_fit(
    x: np.ndarray, clusters: int, m: float, rng: np.random.Generator, progress: Progress
) -> np.ndarray:
    """Bezdek's fuzzy c-means on rows ``x``; returns the centres (clusters, C).

    Alternates u = memberships(centres) and centres = sum(u^m x) / sum(u^m) until no centre
    moves more than ``FCM_TOL`` (or ``FCM_MAX_ITER`` rounds). Starts from distinct rows of x.
    """
    distinct = np.unique(x, axis=0)
    centres = distinct[rng.choice(len(distinct), clusters, replace=False)]
    for it in range(FCM_MAX_ITER):
        um = _fcm_memberships(_sq_dist(x, centres), m) ** m
        new = (um.T @ x) / um.sum(axis=0)[:, None]
        moved = np.abs(new - centres).max()
        centres = new
        if moved < FCM_TOL:
            break
        if it % 10 == 0:
            progress(min(it / 100.0, 0.99), "Fitting")
    return centres


@operation("segment.fuzzy_cmeans", title="Fuzzy c-means", menu="Segment/Cluster")
def fuzzy_cmeans(
    image: Image,
    *,
    clusters: Annotated[int, Range(2, 16)] = 3,
    m: Annotated[float, Range(1.1, 10.0)] = 2.0,
    seed: Seed = 0,
    progress: Progress | None = None,
) -> FuzzyCMeansResult:
    """Cluster pixel colours with fuzzy c-means; labels, membership map and centre table.

    Bezdek's fuzzy c-means (a short numpy implementation: no maintained small library for it
    is in our dependency set) on the RGB or grey values in [0, 1]: memberships
    ``u_ij = 1 / Σ_k (|x_i - c_j| / |x_i - c_k|)^(2/(m-1))`` and centres
    ``c_j = Σ_i u_ij^m x_i / Σ_i u_ij^m`` alternate until the centres move less than 1e-6
    (at most 300 rounds), fitted on at most 20,000 pixels drawn with ``seed``; then every
    pixel gets its memberships to the final centres.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; alpha is ignored.
    clusters : int
        Number of clusters (fewer if the sample has fewer distinct colours).
    m : float
        Fuzziness exponent (> 1); near 1 behaves like k-means, larger = softer memberships.
    seed : int
        Seed of the pixel sample and of the initial centres.

    Returns
    -------
    FuzzyCMeansResult
        ``labels``: (H, W) int32, the cluster of largest membership, 1 = darkest centre
        (clusters sorted by the mean of their centre's channels); ``membership``: (H, W)
        float32, that largest membership (1/clusters = undecided, 1 = certain);
        ``centres``: Table with columns ``cluster``, the centre in the image's intensity units
        (``value`` for grey, ``r``, ``g``, ``b`` for colour) and ``fraction`` (share of pixels
        with that label).
    """
    progress = token(progress)
    image = check_image(image)
    rows = pixels(image)
    rng = np.random.default_rng(seed)
    idx = sample_rows(len(rows), FIT_SAMPLE, rng)
    x = to_unit(rows if idx is None else rows[idx])
    n = min(clusters, distinct_count(x))
    centres = fuzzy_cmeans_fit(x, n, m, rng, progress.sub(0.0, 0.5))
    centres = centres[np.argsort(centres.mean(axis=1), kind="stable")]
    labels = np.empty(len(rows), np.int32)
    best = np.empty(len(rows), np.float32)
    sub = progress.sub(0.5, 1.0)
    for part in chunks(len(rows), 1 << 16):
        u = _fcm_memberships(_sq_dist(to_unit(rows[part]), centres), m)
        labels[part] = np.argmax(u, axis=1) + 1
        best[part] = u.max(axis=1)
        sub(part.stop / len(rows), "Memberships")
    top = dtype_max(image.dtype)
    names = ["value"] if rows.shape[1] == 1 else ["r", "g", "b"]
    counts = np.bincount(labels, minlength=n + 1)[1:]
    columns: dict[str, list] = {"cluster": list(range(1, n + 1))}
    for j, name in enumerate(names):
        columns[name] = [float(v) for v in centres[:, j] * top]
    columns["fraction"] = [float(c) for c in counts / len(rows)]
    return FuzzyCMeansResult(
        labels=as_labels(labels.reshape(image.shape[:2])),
        membership=best.reshape(image.shape[:2]),
        centres=Table(columns),
    )


# -- mean shift ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MeanShiftResult(Result):
    """Flat-colour regions and the mean-shift filtered image."""

    labels: Labels
    image: Image


def _tolerant_regions(colours: np.ndarray, tolerance: int) -> np.ndarray:
    """Connected components of the 4-neighbour graph whose edges join pixels differing by at
    most ``tolerance`` in every channel; labels from 1 in raster order of first pixels."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    h, w = colours.shape[:2]
    values = colours.astype(np.int16)
    index = np.arange(h * w, dtype=np.int32).reshape(h, w)
    heads, tails = [], []
    for a, b, ia, ib in (
        (values[:, :-1], values[:, 1:], index[:, :-1], index[:, 1:]),
        (values[:-1], values[1:], index[:-1], index[1:]),
    ):
        joined = np.abs(a - b).max(axis=-1) <= tolerance
        heads.append(ia[joined])
        tails.append(ib[joined])
    heads, tails = np.concatenate(heads), np.concatenate(tails)
    graph = coo_matrix((np.ones(len(heads), np.int8), (heads, tails)), shape=(h * w, h * w))
    # scipy numbers components in order of their smallest node, i.e. raster order
    _, labels = connected_components(graph.tocsr(), directed=False)
    return labels.reshape(h, w) + 1


@operation("segment.mean_shift", title="Mean shift", menu="Segment/Cluster")
def mean_shift(
    image: Image,
    *,
    spatial_radius: Annotated[int, Range(1, 100)] = 20,
    color_radius: Annotated[float, Range(1.0, 255.0)] = 30.0,
    tolerance: Annotated[int, Range(0, 64)] = 0,
    progress: Progress | None = None,
) -> MeanShiftResult:
    """Mean-shift filtering (cv2.pyrMeanShiftFiltering), then one label per flat colour region.

    Every pixel moves to the mode of the colours within ``spatial_radius`` pixels and
    ``color_radius`` colour units (OpenCV, 8-bit, ``maxLevel=1``); the connected regions of
    identical filtered colour (4-connectivity, ``skimage.measure.label``) are the labels. The
    filtered image is flat inside objects but not exactly at their edges (nor where modes differ
    by a unit or two), so photos give many small regions along edges; ``tolerance`` > 0 joins
    4-neighbours whose filtered colours differ by at most that much in every channel (what
    OpenCV's mean-shift segmentation sample does with ``floodFill``).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image, processed as 8-bit RGB (grey is replicated; alpha is carried through).
    spatial_radius : int
        Spatial window radius in pixels (the run time grows with its square).
    color_radius : float
        Colour window radius in 8-bit units.
    tolerance : int
        Largest per-channel difference (8-bit units) between neighbouring pixels of one region;
        0 = regions of exactly equal colour.

    Returns
    -------
    MeanShiftResult
        ``labels``: (H, W) int32 regions from 1 in raster order; ``image``: the filtered image
        in the input's shape and dtype (8-bit precision).
    """
    import cv2
    from skimage.measure import label

    progress = token(progress)
    image = check_image(image)
    rgb = to_uint8(colour_part(image), np.float64)
    bgr = np.ascontiguousarray(
        cv2.cvtColor(rgb, cv2.COLOR_GRAY2BGR) if rgb.ndim == 2 else rgb[..., ::-1]
    )
    progress(0.02, "Mean shift")
    filtered = cv2.pyrMeanShiftFiltering(bgr, float(spatial_radius), float(color_radius))
    progress(0.9, "Labelling")
    if tolerance > 0:
        labels = _tolerant_regions(filtered, int(tolerance))
    else:
        packed = (filtered[..., 2].astype(np.int32) << 16)
        packed |= filtered[..., 1].astype(np.int32) << 8
        packed |= filtered[..., 0]
        labels = label(packed, background=-1, connectivity=1)
    if image.ndim == 2:
        out = np.ascontiguousarray(from_uint8(filtered[..., 0], image.dtype))
    else:
        out = image.copy()
        out[..., :3] = from_uint8(filtered[..., ::-1], image.dtype)
    progress(1.0, "Done")
    return MeanShiftResult(labels=as_labels(labels), image=out)
