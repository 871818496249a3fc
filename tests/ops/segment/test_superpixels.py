"""segment.slic and segment.rag_merge (imgstudio.ops.segment.superpixels) against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import graph as skgraph
from skimage.segmentation import slic as sk_slic

import imgstudio.api as api
from imgstudio.ops import segment
from tests.ops.helpers import TOP, dtypes, kinds
from tests.ops.segment.helpers import same_partition

# -- slic -------------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba"])
def test_slic_equals_skimage(dtype, kind, make):
    image = make(dtype, kind)
    data = image if image.ndim == 2 else image[..., :3]
    compactness = 0.1 if kind == "gray" else 10.0
    expected = sk_slic(data, n_segments=60, compactness=compactness, start_label=1,
                       channel_axis=None if kind == "gray" else -1)
    out = api.run("segment.slic", image, n_segments=60, compactness=compactness)
    assert out.dtype == np.int32 and np.array_equal(out, expected)
    assert out.min() == 1 and 20 < out.max() < 120


def test_slic_bad_params_name_n_segments(make):
    with pytest.raises(ValueError, match="n_segments"):
        api.run("segment.slic", make(), n_segments=0)


# -- rag_merge --------------------------------------------------------------------------------


def skimage_rag_merge(image, n_segments, threshold, compactness=30.0):
    data = image if image.ndim == 2 else image[..., :3]
    superpixels = sk_slic(data, n_segments=n_segments, compactness=compactness, start_label=1,
                          channel_axis=None if image.ndim == 2 else -1)
    scaled = data.astype(np.float64) * (255.0 / TOP[image.dtype])
    if scaled.ndim == 2:
        scaled = np.dstack([scaled] * 3)
    rag = skgraph.rag_mean_color(scaled, superpixels)
    return superpixels, skgraph.cut_threshold(superpixels, rag, threshold)


@dtypes
@kinds
def test_rag_merge_equals_skimage_rag_mean_color_and_cut_threshold(dtype, kind, make):
    image = make(dtype, kind)
    superpixels, expected = skimage_rag_merge(image, 150, 25.0, 30.0 if kind == "rgb" else 0.3)
    out = api.run("segment.rag_merge", image, n_segments=150, threshold=25.0,
                  compactness=30.0 if kind == "rgb" else 0.3)
    assert same_partition(out, expected) and out.min() == 1
    assert 1 < out.max() < superpixels.max()


def test_rag_mean_color_builds_the_same_graph_as_skimage(make):
    image = make(np.uint8, "rgb").astype(np.float64)
    labels = sk_slic(image / 255, n_segments=80, start_label=1)
    ours = segment.superpixels.rag_mean_color(image, labels)
    theirs = skgraph.rag_mean_color(image, labels)
    assert set(ours.nodes) == set(theirs.nodes)
    assert {frozenset(e) for e in ours.edges} == {frozenset(e) for e in theirs.edges}
    for u, v, d in theirs.edges(data=True):
        assert ours.edges[u, v]["weight"] == pytest.approx(d["weight"], rel=1e-12, abs=1e-9)
    for n, d in theirs.nodes(data=True):
        assert ours.nodes[n]["pixel count"] == d["pixel count"]
        assert np.allclose(ours.nodes[n]["mean color"], d["mean color"])


def test_rag_merge_joins_superpixels_of_one_flat_region():
    rng = np.random.default_rng(0)
    image = np.zeros((60, 90, 3), np.uint8)
    image[:, 45:] = (200, 40, 40)
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    out = api.run("segment.rag_merge", image, n_segments=60, threshold=30.0)
    assert out.max() == 2
    assert same_partition(out, np.where(np.arange(90) < 45, 1, 2)[None].repeat(60, 0))


def test_rag_merge_bad_params_name_threshold(make):
    with pytest.raises(ValueError, match="threshold"):
        api.run("segment.rag_merge", make(), threshold=-1.0)
