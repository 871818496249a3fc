"""Superpixels (SLIC) and their merging over a region adjacency graph."""

from __future__ import annotations

from typing import Annotated

import numpy as np

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Labels, Range, check_image
from imgstudio.ops._pixels import as_labels, colour_part, to_8bit_units, token

#: SLIC's parameters, also those of the superpixels ``segment.rag_merge`` starts from.
_N_SEGMENTS = Annotated[int, Range(1, 100_000)]
_COMPACTNESS = Annotated[float, Range(0.001, 1000.0)]


def _slic(image: np.ndarray, n_segments: int, compactness: float) -> np.ndarray:
    from skimage.segmentation import slic as sk_slic

    data = colour_part(image)
    return sk_slic(
        data, n_segments=int(n_segments), compactness=float(compactness), start_label=1,
        channel_axis=-1 if data.ndim == 3 else None,
    )


@operation("segment.slic", title="SLIC superpixels", menu="Segment/Superpixels")
def slic(
    image: Image,
    *,
    n_segments: _N_SEGMENTS = 200,
    compactness: _COMPACTNESS = 10.0,
    progress: Progress | None = None,
) -> Labels:
    """Split the image into compact superpixels of similar colour (SLIC).

    ``skimage.segmentation.slic(image, n_segments, compactness, start_label=1)`` — k-means in
    (colour, x, y) space, in CIELAB for RGB (``channel_axis=-1``), with connectivity enforced.

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; alpha is ignored.
    n_segments : int
        Approximate number of superpixels.
    compactness : float
        Balance of colour and space: higher = squarer superpixels. ~10 suits RGB (CIELAB
        units); grey images are in [0, 1], where ~0.1 is comparable.

    Returns
    -------
    (H, W) int32 ndarray
        Superpixel labels from 1.
    """
    progress = token(progress)
    image = check_image(image)
    progress(0.05, "SLIC")
    out = _slic(image, n_segments, compactness)
    progress(1.0, "Done")
    return as_labels(out)


def rag_mean_color(image: np.ndarray, labels: np.ndarray):
    """``skimage.graph.rag_mean_color(image, labels)`` (connectivity 2, mode "distance"), fast.

    skimage's version visits every pixel in Python (minutes on a 12 MP image); this builds the
    same graph — nodes with ``labels``, ``pixel count``, ``total color``, ``mean color``;
    edges between 8-adjacent regions weighted by the Euclidean distance of their mean colours —
    with numpy. ``image`` is (H, W, 3) float.
    """
    from skimage.graph import RAG

    flat = labels.ravel()
    size = int(flat.max()) + 1
    count = np.bincount(flat, minlength=size)
    total = np.stack(
        [np.bincount(flat, weights=image[..., c].ravel(), minlength=size) for c in range(3)],
        axis=1,
    )
    mean = total / np.maximum(count, 1)[:, None]
    pairs = []
    for a, b in (
        (labels[:, :-1], labels[:, 1:]),
        (labels[:-1, :], labels[1:, :]),
        (labels[:-1, :-1], labels[1:, 1:]),
        (labels[:-1, 1:], labels[1:, :-1]),
    ):
        differ = a != b
        pairs.append(np.stack([a[differ], b[differ]], axis=1))
    edges = np.sort(np.concatenate(pairs), axis=1)
    edges = np.unique(edges, axis=0) if len(edges) else edges.reshape(0, 2)
    graph = RAG()
    for node in np.flatnonzero(count):
        graph.add_node(
            int(node),
            **{"labels": [int(node)], "pixel count": int(count[node]),
               "total color": total[node], "mean color": mean[node]},
        )
    weights = np.linalg.norm(mean[edges[:, 0]] - mean[edges[:, 1]], axis=1)
    graph.add_weighted_edges_from(
        (int(u), int(v), float(w)) for (u, v), w in zip(edges, weights, strict=True)
    )
    return graph


@operation("segment.rag_merge", title="Merge superpixels (RAG)", menu="Segment/Superpixels")
def rag_merge(
    image: Image,
    *,
    n_segments: _N_SEGMENTS = 400,
    threshold: Annotated[float, Range(0.0, 450.0)] = 30.0,
    compactness: _COMPACTNESS = 30.0,
    progress: Progress | None = None,
) -> Labels:
    """SLIC superpixels merged where neighbouring mean colours are closer than a threshold.

    ``skimage.segmentation.slic(n_segments, compactness, start_label=1)``, then the region
    adjacency graph of mean colours (``skimage.graph.rag_mean_color``, 8-adjacency, built with
    numpy for speed) and ``skimage.graph.cut_threshold``: regions joined by an edge lighter
    than ``threshold`` are merged (transitively).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image; alpha is ignored. Colours are scaled to [0, 255] for the graph whatever the
        dtype; grey counts as RGB with three equal channels (so distances are √3 × the grey
        difference).
    n_segments : int
        Approximate number of SLIC superpixels before merging.
    threshold : float
        Largest RGB distance (8-bit units) between mean colours of regions that are merged.
    compactness : float
        SLIC compactness (see ``segment.slic``).

    Returns
    -------
    (H, W) int32 ndarray
        Merged region labels from 1.
    """
    from skimage.graph import cut_threshold

    progress = token(progress)
    image = check_image(image)
    progress(0.05, "SLIC")
    superpixels = _slic(image, n_segments, compactness)
    progress(0.7, "Region adjacency graph")
    data = to_8bit_units(colour_part(image), image.dtype)
    if data.ndim == 2:
        data = np.repeat(data[..., None], 3, axis=2)
    graph = rag_mean_color(data, superpixels)
    progress(0.9, "Merging")
    merged = cut_threshold(superpixels, graph, float(threshold))
    progress(1.0, "Done")
    return as_labels(merged + 1)
