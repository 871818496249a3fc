"""Clustering segmentations (imgstudio.ops.segment.cluster): k-means, GMM, fuzzy c-means, mean
shift.

Library-backed ops are compared with the library called directly (on images small enough that
the op fits on every pixel); fuzzy c-means with its defining equations and known answers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.measure import label as sk_label
from skimage.util import img_as_ubyte
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

import imgstudio.api as api
from imgstudio.core.types import Table
from tests.ops.helpers import TOP, convert, dtypes, kinds
from tests.ops.segment.helpers import COLOURS, same_partition, three_colours, unit_rows

# -- k-means ----------------------------------------------------------------------------------


@dtypes
@kinds
def test_kmeans_equals_sklearn(dtype, kind, make):
    image = make(dtype, kind)
    x = unit_rows(image)
    expected = KMeans(n_clusters=5, n_init=1, random_state=3).fit(x).predict(x) + 1
    out = api.run("segment.kmeans", image, k=5, seed=3)
    assert out.dtype == np.int32
    assert np.array_equal(out.ravel(), expected)
    assert set(np.unique(out)) == {1, 2, 3, 4, 5}


def test_kmeans_finds_flat_colour_bands():
    image, bands = three_colours()
    assert same_partition(api.run("segment.kmeans", image, k=3), bands)


def test_kmeans_uses_fewer_clusters_than_distinct_colours():
    image, bands = three_colours()
    out = api.run("segment.kmeans", image, k=8)
    assert same_partition(out, bands) and out.max() == 3


def test_kmeans_on_a_large_image_fits_a_sample_and_labels_everything():
    image, bands = three_colours(noise=4.0, h=200, w=150)  # 30,000 pixels > 20,000 sample
    assert same_partition(api.run("segment.kmeans", image, k=3), bands)


def test_kmeans_bad_params_name_k(make):
    with pytest.raises(ValueError, match="k"):
        api.run("segment.kmeans", make(), k=1)


# -- gmm --------------------------------------------------------------------------------------

CV_CODES = {"ycrcb": cv2.COLOR_RGB2YCrCb, "lab": cv2.COLOR_RGB2Lab, "hsv": cv2.COLOR_RGB2HSV}


def gmm_features(image: np.ndarray, space: str) -> np.ndarray:
    """The documented features: OpenCV float conversion of RGB in [0, 1], scaled to [0, 1]."""
    x = unit_rows(image).astype(np.float32)
    if x.shape[1] == 1 or space == "rgb":
        return x.astype(np.float64)
    out = cv2.cvtColor(x.reshape(-1, 1, 3), CV_CODES[space]).reshape(-1, 3).astype(np.float64)
    if space == "lab":
        out = (out + [0, 128, 128]) / [100, 255, 255]
    elif space == "hsv":
        out[:, 0] /= 360
    return out


def sk_gmm(n, x):
    return GaussianMixture(n, covariance_type="full", reg_covar=1e-4, random_state=0).fit(x)


@pytest.mark.parametrize("space", ["rgb", "ycrcb", "lab", "hsv"])
def test_gmm_unsupervised_equals_sklearn(space, make):
    image = make(np.uint8, "rgb")[:32, :48]
    x = gmm_features(image, space)
    expected = sk_gmm(3, x).predict(x) + 1
    out = api.run("segment.gmm", image, color_space=space)
    assert out.dtype == np.int32 and np.array_equal(out.ravel(), expected)


@dtypes
def test_gmm_unsupervised_grey_equals_sklearn(dtype, make):
    image = make(dtype, "gray")[:32, :48]
    x = gmm_features(image, "ycrcb")
    expected = sk_gmm(2, x).predict(x) + 1
    assert np.array_equal(api.run("segment.gmm", image, n_components=2).ravel(), expected)


H, W = 60, 80
YY, XX = np.mgrid[:H, :W]
DISC = (YY - 30) ** 2 + (XX - 45) ** 2 < 17**2


def skin_scene(dtype=np.uint8, seed=0):
    """A skin-coloured disc on a blue/green/grey background, with noise, and seed strokes."""
    rng = np.random.default_rng(seed)
    background = np.where((XX < 40)[..., None], (60, 110, 160), (90, 140, 80)).astype(float)
    background[YY > 48] = (120, 120, 120)
    image = np.where(DISC[..., None], (224, 172, 140), background)
    image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
    seeds = np.zeros((H, W), np.int32)
    seeds[28:33, 38:52] = 1  # skin
    seeds[3:6, 5:35] = 2
    seeds[3:6, 50:75] = 2
    seeds[53:57, 10:70] = 2
    return convert(image, dtype), seeds


@dtypes
def test_gmm_with_seeds_separates_skin_from_background(dtype):
    image, seeds = skin_scene(dtype)
    out = api.run("segment.gmm", image, seeds=seeds)
    assert set(np.unique(out)) == {1, 2}
    assert ((out == 1) == DISC).mean() >= 0.95


def test_gmm_with_seeds_equals_one_sklearn_mixture_per_class():
    image, seeds = skin_scene(seed=1)
    seeds = seeds * 5  # classes 5 and 10: the seed values label the result
    x = gmm_features(image, "lab")
    flat = seeds.ravel()
    scores = [sk_gmm(2, x[flat == c]).score_samples(x) for c in (5, 10)]
    expected = np.where(flat > 0, flat, np.array([5, 10])[np.argmax(scores, axis=0)])
    out = api.run("segment.gmm", image, seeds=seeds, n_components=2, color_space="lab")
    assert np.array_equal(out.ravel(), expected)
    assert np.array_equal(out[seeds > 0], seeds[seeds > 0])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seeds": np.ones((H, W), np.int32)}, "seeds"),
        ({"seeds": np.zeros((H, W), np.int32)}, "seeds"),
        ({"seeds": np.ones((5, 5), np.int32)}, "seeds"),
        ({"color_space": "xyz"}, "color_space"),
        ({"n_components": 0}, "n_components"),
    ],
)
def test_gmm_bad_params_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        api.run("segment.gmm", skin_scene()[0], **kwargs)


# -- fuzzy c-means ----------------------------------------------------------------------------


def fcm_memberships(x: np.ndarray, centres: np.ndarray, m: float) -> np.ndarray:
    """u_ij = 1 / sum_k (d_ij / d_ik)^(2/(m-1)), straight from the definition."""
    d = np.sqrt(((x[:, None, :] - centres[None]) ** 2).sum(axis=2))
    return 1.0 / ((d[:, :, None] / d[:, None, :]) ** (2 / (m - 1))).sum(axis=2)


def centre_array(table: Table) -> np.ndarray:
    names = ["value"] if "value" in table.columns else ["r", "g", "b"]
    return np.array([table.columns[n] for n in names], dtype=float).T


@dtypes
def test_fuzzy_cmeans_recovers_three_noisy_colours(dtype):
    image, bands = three_colours(noise=6.0)
    image = convert(image, dtype)
    result = api.run("segment.fuzzy_cmeans", image)
    assert result.labels.dtype == np.int32 and same_partition(result.labels, bands)
    # clusters are numbered by the mean of their centre: green (1), red (2), blue (3)
    assert [result.labels[0, 30], result.labels[0, 0], result.labels[0, 59]] == [1, 2, 3]
    centres = centre_array(result.centres) / TOP[image.dtype] * 255
    assert np.abs(centres - COLOURS[[1, 0, 2]]).max() < 3.0
    assert result.membership.dtype == np.float32 and result.membership.shape == image.shape[:2]
    assert result.membership.min() > 0.9


@kinds
@pytest.mark.parametrize("m", [1.5, 2.0, 3.0])
def test_fuzzy_cmeans_centres_and_memberships_satisfy_the_fcm_equations(kind, m, make):
    image = make(np.uint8, kind)  # 6,144 pixels: fitted on all of them
    result = api.run("segment.fuzzy_cmeans", image, clusters=4, m=m, seed=1)
    x = unit_rows(image)
    centres = centre_array(result.centres) / 255.0
    u = fcm_memberships(x, centres, m)
    um = u**m
    assert np.abs((um.T @ x) / um.sum(axis=0)[:, None] - centres).max() < 1e-4
    assert np.array_equal(result.labels.ravel(), np.argmax(u, axis=1) + 1)
    assert np.allclose(result.membership.ravel(), u.max(axis=1), atol=1e-5)
    assert result.membership.min() >= 1 / 4 - 1e-6
    columns = result.centres.columns
    assert columns["cluster"] == [1, 2, 3, 4]
    assert np.isclose(sum(columns["fraction"]), 1.0)
    means = centres.mean(axis=1)
    assert np.all(np.diff(means) >= 0)


def test_fuzzy_cmeans_is_deterministic_by_seed(make):
    image = make(np.uint8, "rgb")
    a = api.run("segment.fuzzy_cmeans", image, seed=5)
    b = api.run("segment.fuzzy_cmeans", image, seed=5)
    assert np.array_equal(a.labels, b.labels) and a.centres.columns == b.centres.columns
    assert "labels" not in a.to_json() and "centres" in a.to_json()


@pytest.mark.parametrize(("kwargs", "name"), [({"m": 1.0}, "m"), ({"clusters": 1}, "clusters")])
def test_fuzzy_cmeans_bad_params_name_the_parameter(kwargs, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("segment.fuzzy_cmeans", make(), **kwargs)


# -- mean shift -------------------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba"])
def test_mean_shift_equals_opencv_then_skimage_label(dtype, kind, make):
    image = make(dtype, kind)
    rgb8 = img_as_ubyte(make(np.uint8, kind))
    bgr = cv2.cvtColor(rgb8, cv2.COLOR_GRAY2BGR) if kind == "gray" else rgb8[..., 2::-1]
    filtered = cv2.pyrMeanShiftFiltering(np.ascontiguousarray(bgr), 8.0, 25.0)
    packed = (filtered.astype(np.int64) * [65536, 256, 1]).sum(axis=2)
    expected = sk_label(packed, background=-1, connectivity=1)
    result = api.run("segment.mean_shift", image, spatial_radius=8, color_radius=25.0)
    assert result.labels.dtype == np.int32 and np.array_equal(result.labels, expected)
    out = result.image
    assert out.dtype == image.dtype and out.shape == image.shape
    want = filtered[..., 0] if kind == "gray" else filtered[..., ::-1]
    assert np.array_equal(img_as_ubyte(out if kind != "rgba" else out[..., :3]), want)
    if kind == "rgba":
        assert np.array_equal(out[..., 3], image[..., 3])


def test_mean_shift_labels_flat_colour_blocks():
    image, bands = three_colours()
    result = api.run("segment.mean_shift", image, spatial_radius=5, color_radius=20.0)
    labels, filtered = result.labels, result.image
    # OpenCV's pyramid level leaves a few pixels of blended colour along the band edges only
    edge = (np.abs(np.arange(60) - 20) <= 6) | (np.abs(np.arange(60) - 40) <= 6)
    assert np.array_equal(filtered[:, ~edge], image[:, ~edge])
    inner = labels[:, ~edge]
    assert same_partition(inner, bands[:, ~edge]) and len(np.unique(inner)) == 3


def flood_fill_regions(bgr: np.ndarray, tolerance: int) -> np.ndarray:
    """OpenCV's mean-shift segmentation sample: floodFill every unlabelled pixel in raster order."""
    h, w = bgr.shape[:2]
    labels = np.zeros((h, w), np.int32)
    count = 0
    for y in range(h):
        for x in range(w):
            if labels[y, x]:
                continue
            mask = np.zeros((h + 2, w + 2), np.uint8)
            cv2.floodFill(bgr.copy(), mask, (x, y), 0, (tolerance,) * 3, (tolerance,) * 3,
                          4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8))
            count += 1
            labels[mask[1:-1, 1:-1] > 0] = count
    return labels


@pytest.mark.parametrize("tolerance", [1, 3, 10])
def test_mean_shift_tolerance_equals_opencv_flood_fill(tolerance, make):
    image = make(np.uint8, "rgb")[:32, :40]
    filtered = cv2.pyrMeanShiftFiltering(np.ascontiguousarray(image[..., ::-1]), 6.0, 20.0)
    expected = flood_fill_regions(filtered, tolerance)
    out = api.run("segment.mean_shift", image, spatial_radius=6, color_radius=20.0,
                  tolerance=tolerance).labels
    assert np.array_equal(out, expected)
    exact = api.run("segment.mean_shift", image, spatial_radius=6, color_radius=20.0).labels
    assert out.max() < exact.max()


def test_mean_shift_bad_params_name_spatial_radius(make):
    with pytest.raises(ValueError, match="spatial_radius"):
        api.run("segment.mean_shift", make(), spatial_radius=0)
