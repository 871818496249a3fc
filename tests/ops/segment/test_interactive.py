"""Seeded segmentation ops (imgstudio.ops.segment.interactive): random walker, GrabCut, region
growing — against their libraries."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage as ndi
from skimage.segmentation import random_walker as sk_random_walker

import imgstudio.api as api
from tests.helpers import dice, iou
from tests.ops.helpers import TOP, convert, dtypes, kinds

# -- random walker ----------------------------------------------------------------------------


H, W = 64, 80
YY, XX = np.mgrid[:H, :W]
DISC = (YY - 32) ** 2 + (XX - 40) ** 2 < 18**2


def noisy_disc(dtype=np.float32, kind="gray", seed=0):
    """A disc (1) on background (0) plus Gaussian noise of sigma 0.3, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    shape = (H, W) if kind == "gray" else (H, W, 3)
    signal = DISC if kind == "gray" else DISC[..., None]
    image = np.clip(signal + rng.normal(0, 0.3, shape), 0, 1).astype(np.float32)
    if dtype == np.float32:
        return image
    return np.rint(image * TOP[np.dtype(dtype)]).astype(dtype)


def strokes(inside=1, outside=2):
    seeds = np.zeros((H, W), np.int32)
    seeds[30:34, 34:46] = inside
    seeds[2:5, 5:75] = outside
    seeds[58:61, 5:75] = outside
    seeds[10:50, 2:4] = outside
    return seeds


def skimage_walk(image, seeds, **kwargs):
    data = image if image.ndim == 2 else image[..., :3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "cg" warns when UMFPACK is missing
        return sk_random_walker(data, seeds, channel_axis=None if data.ndim == 2 else -1,
                                **kwargs)


@dtypes
@kinds
def test_random_walker_finds_the_noisy_disc(dtype, kind):
    image = noisy_disc(dtype, kind)
    out = api.run("segment.random_walker", image, seeds=strokes())
    assert out.dtype == np.int32 and set(np.unique(out)) == {1, 2}
    assert dice(out == 1, DISC) >= 0.9


@dtypes
@kinds
def test_random_walker_equals_skimage(dtype, kind):
    image = noisy_disc(dtype, kind, seed=1)
    seeds = strokes()
    expected = skimage_walk(image, seeds, beta=90.0, mode="cg_j")
    assert np.array_equal(api.run("segment.random_walker", image, seeds=seeds, beta=90.0), expected)


@pytest.mark.parametrize("mode", ["cg", "cg_j", "bf"])
def test_random_walker_modes_equal_skimage(mode, make):
    image = make(np.uint8, "rgb")[:40, :50]
    seeds = np.zeros(image.shape[:2], np.int32)
    seeds[5:8, 5:40] = 1
    seeds[30:33, 10:45] = 2
    seeds[15:20, 20:25] = 3
    expected = skimage_walk(image, seeds, beta=130.0, mode=mode)
    out = api.run("segment.random_walker", image, seeds=seeds, mode=mode)
    assert np.array_equal(out, expected)


def test_random_walker_keeps_the_seed_values():
    image = noisy_disc()
    out = api.run("segment.random_walker", image, seeds=strokes(inside=7, outside=3))
    reference = api.run("segment.random_walker", image, seeds=strokes())
    assert set(np.unique(out)) == {3, 7}
    assert np.array_equal(out == 7, reference == 1)


def test_random_walker_on_a_constant_image_follows_the_nearest_seed():
    seeds = np.zeros((5, 9), np.int32)
    seeds[:, 0] = 1
    seeds[:, 8] = 2
    out = api.run("segment.random_walker", np.full((5, 9), 0.5, np.float32), seeds=seeds)
    assert np.array_equal(out[:, :4], np.ones((5, 4))) and np.array_equal(out[:, 5:], 2 * np.ones((5, 4)))


def test_random_walker_with_everything_seeded_returns_the_seeds():
    seeds = np.ones((6, 6), np.int32)
    seeds[:, 3:] = 2
    assert np.array_equal(api.run("segment.random_walker", noisy_disc()[:6, :6], seeds=seeds), seeds)


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        (np.zeros((H, W), np.int32), "seeds is empty"),
        (strokes(1, 1), "seeds must contain at least two labels"),
        (np.ones((10, 10), np.int32), "seeds must have the image's size"),
        (-strokes(), "seeds must be >= 0"),
    ],
)
def test_random_walker_bad_seeds_are_named(seeds, message):
    with pytest.raises(ValueError, match=message):
        api.run("segment.random_walker", noisy_disc(), seeds=seeds)


def test_random_walker_bad_params_name_mode():
    with pytest.raises(ValueError, match="mode"):
        api.run("segment.random_walker", noisy_disc(), seeds=strokes(), mode="cg_mg")
    big = np.zeros((1001, 1000), np.float32)
    with pytest.raises(ValueError, match="mode bf"):
        api.run("segment.random_walker", big, seeds=np.zeros(big.shape, np.int32), mode="bf")


# -- grabcut ----------------------------------------------------------------------------------

GH, GW = 90, 120
GYY, GXX = np.mgrid[:GH, :GW]
OBJECT = (GYY - 45) ** 2 / 600 + (GXX - 60) ** 2 / 900 < 1


def cluttered_object(dtype=np.uint8, seed=1):
    """A reddish ellipse on blocky blue-green clutter, with noise (RGB)."""
    rng = np.random.default_rng(seed)
    blocks = rng.random((GH // 6 + 1, GW // 6 + 1, 3))
    clutter = np.kron(blocks, np.ones((6, 6, 1)))[:GH, :GW] * np.array([0.5, 0.8, 0.9])
    clutter = ndi.gaussian_filter(clutter, (1.5, 1.5, 0))
    image = clutter + rng.normal(0, 0.03, clutter.shape)
    image[OBJECT] = np.array([0.9, 0.35, 0.2]) + rng.normal(0, 0.04, (OBJECT.sum(), 3))
    return convert((np.clip(image, 0, 1) * 255).astype(np.uint8), dtype)


def rectangle():
    mask = np.zeros((GH, GW), np.int32)
    mask[15:76, 20:101] = 1
    return mask


def opencv_grabcut(rgb8: np.ndarray, cv_mask: np.ndarray, iterations: int) -> np.ndarray:
    cv_mask = cv_mask.astype(np.uint8).copy()
    cv2.setRNGSeed(0)
    cv2.grabCut(np.ascontiguousarray(rgb8[..., ::-1]), cv_mask, None, np.zeros((1, 65)),
                np.zeros((1, 65)), iterations, cv2.GC_INIT_WITH_MASK)
    return np.isin(cv_mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.int32)


@dtypes
def test_grabcut_cuts_the_object_out_of_a_rectangle(dtype):
    out = api.run("segment.grabcut", cluttered_object(dtype), mask=rectangle())
    assert out.dtype == np.int32 and set(np.unique(out)) == {0, 1}
    assert iou(out == 1, OBJECT) >= 0.9


@pytest.mark.parametrize("iterations", [1, 3, 5])
def test_grabcut_equals_one_opencv_call(iterations):
    image = cluttered_object(seed=2)
    cv_mask = np.where(rectangle() == 1, cv2.GC_PR_FGD, cv2.GC_BGD)
    expected = opencv_grabcut(image, cv_mask, iterations)
    out = api.run("segment.grabcut", image, mask=rectangle(), iterations=iterations)
    assert np.array_equal(out, expected)


def test_grabcut_of_grey_image_equals_opencv_on_replicated_grey(make):
    grey = make(np.uint8, "gray")
    mask = np.zeros(grey.shape, np.int32)
    mask[5:60, 20:80] = 1
    cv_mask = np.where(mask == 1, cv2.GC_PR_FGD, cv2.GC_BGD)
    expected = opencv_grabcut(np.dstack([grey] * 3), cv_mask, 3)
    assert np.array_equal(api.run("segment.grabcut", grey, mask=mask, iterations=3), expected)


def test_grabcut_mask_values_map_to_opencv_classes():
    image = cluttered_object(seed=3)
    mask = rectangle()
    mask[40:50, 50:70] = 3  # sure foreground
    mask[16:20, 21:30] = 2  # sure background inside the rectangle
    mask[70:75, 90:100] = 4  # probably background
    lut = np.array([cv2.GC_BGD, cv2.GC_PR_FGD, cv2.GC_BGD, cv2.GC_FGD, cv2.GC_PR_BGD])
    expected = opencv_grabcut(image, lut[mask], 5)
    out = api.run("segment.grabcut", image, mask=mask)
    assert np.array_equal(out, expected)
    assert out[40:50, 50:70].all() and not out[16:20, 21:30].any() and not out[mask == 0].any()


def test_grabcut_with_strokes_only_treats_the_rest_as_probable_background():
    image = cluttered_object(seed=4)
    mask = np.zeros((GH, GW), np.int32)
    mask[40:50, 45:75] = 3
    mask[3:8, 5:115] = 2
    mask[80:86, 5:115] = 2
    lut = np.array([cv2.GC_PR_BGD, 0, cv2.GC_BGD, cv2.GC_FGD])
    expected = opencv_grabcut(image, lut[np.minimum(mask, 3)], 5)
    out = api.run("segment.grabcut", image, mask=mask)
    assert np.array_equal(out, expected)
    assert iou(out == 1, OBJECT) >= 0.8


@pytest.mark.parametrize(
    ("mask", "name"),
    [
        (np.full((GH, GW), 5, np.int32), "mask"),
        (np.ones((10, 10), np.int32), "mask"),
        (np.zeros((GH, GW), np.int32), "mask"),
        (np.ones((GH, GW), np.int32), "mask"),
    ],
)
def test_grabcut_bad_mask_is_named(mask, name):
    with pytest.raises(ValueError, match=name):
        api.run("segment.grabcut", cluttered_object(), mask=mask)


def test_grabcut_bad_params_name_iterations():
    with pytest.raises(ValueError, match="iterations"):
        api.run("segment.grabcut", cluttered_object(), mask=rectangle(), iterations=0)


# -- region growing ---------------------------------------------------------------------------


def grey_255(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        luma = image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        luma = luma if image.dtype == np.float32 else np.rint(luma)
    else:
        luma = image.astype(np.float64)
    return (luma * (255.0 / TOP[image.dtype])).astype(np.float32)


SEEDS_XY = np.array([[45.0, 25.0], [10.2, 50.7]])


@dtypes
@kinds
def test_region_grow_connected_threshold_equals_simpleitk(dtype, kind, make):
    image = make(dtype, kind)
    expected = sitk.GetArrayFromImage(sitk.ConnectedThreshold(
        sitk.GetImageFromArray(grey_255(image)), seedList=[(45, 25), (10, 51)], lower=60.0,
        upper=200.0, replaceValue=1,
    ))
    out = api.run("segment.region_grow", image, seeds=SEEDS_XY, lower=60.0, upper=200.0)
    assert out.dtype == np.int32 and np.array_equal(out, expected)
    assert 50 < out.sum() < out.size


def test_region_grow_one_bound_defaults_the_other(make):
    image = make(np.uint8, "gray")
    low = api.run("segment.region_grow", image, seeds=SEEDS_XY[:1], lower=100.0)
    both = api.run("segment.region_grow", image, seeds=SEEDS_XY[:1], lower=100.0, upper=255.0)
    assert np.array_equal(low, both)


@dtypes
@kinds
def test_region_grow_confidence_connected_equals_simpleitk(dtype, kind, make):
    image = make(dtype, kind)
    expected = sitk.GetArrayFromImage(sitk.ConfidenceConnected(
        sitk.GetImageFromArray(grey_255(image)), seedList=[(45, 25)], numberOfIterations=2,
        multiplier=2.0, initialNeighborhoodRadius=2, replaceValue=1,
    ))
    out = api.run("segment.region_grow", image, seeds=SEEDS_XY[:1], multiplier=2.0,
                  iterations=2, radius=2)
    assert np.array_equal(out, expected) and out.sum() > 20


@pytest.mark.parametrize("mode", [{"lower": 100.0, "upper": 255.0}, {}])
@kinds
def test_region_grow_seeds_are_x_y(mode, kind):
    # a bright bar in rows 5..14, columns 40..69 of a wide image: seed (x=50, y=10) is in it
    image = np.zeros((30, 80) if kind == "gray" else (30, 80, 3), np.uint8)
    image[5:15, 40:70] = 200
    image[18:28, 5:25] = 200  # another bright block, not connected
    out = api.run("segment.region_grow", image, seeds=np.array([[50.0, 10.0]]), **mode)
    bar = np.zeros_like(out)
    bar[5:15, 40:70] = 1
    assert np.array_equal(out, bar)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seeds": np.array([[96.0, 10.0]])}, "seeds"),
        ({"seeds": np.array([[10.0, -1.0]])}, "seeds"),
        ({"seeds": np.zeros((0, 2))}, "seeds"),
        ({"seeds": SEEDS_XY, "lower": 200.0, "upper": 100.0}, "lower"),
        ({"seeds": SEEDS_XY, "multiplier": -1.0}, "multiplier"),
    ],
)
def test_region_grow_bad_params_name_the_parameter(kwargs, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("segment.region_grow", make(), **kwargs)
