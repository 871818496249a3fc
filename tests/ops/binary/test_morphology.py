"""Morphology (imgstudio.ops.binary.morphology): distance transform, morphology, hit-or-miss,
reconstruction and granulometry, against OpenCV, SciPy, scikit-image and brute force."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.measure
import skimage.morphology

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops import binary
from tests.ops.binary.helpers import MASK, assert_mask, blobs_mask, cancelled, mask_image
from tests.ops.helpers import dtypes, kinds

pytestmark = pytest.mark.gray_channel(1)  # `make`: the gray image is the green channel

# -- distance transform -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "reference"),
    [("euclidean", ndi.distance_transform_edt),
     ("manhattan", lambda m: ndi.distance_transform_cdt(m, metric="taxicab")),
     ("chessboard", lambda m: ndi.distance_transform_cdt(m, metric="chessboard"))],
)
@dtypes
def test_distance_transform_equals_scipy(metric, reference, dtype, make):
    image = make(dtype, "rgb")  # any image: foreground is > 0
    fg = (image > 0).any(axis=2)
    out = api.run("binary.distance_transform", image, metric=metric)
    assert out.dtype == np.float32
    assert np.array_equal(out, reference(fg).astype(np.float32))


@pytest.mark.parametrize(
    ("metric", "formula"),
    [("euclidean", np.hypot), ("manhattan", lambda a, b: a + b), ("chessboard", np.maximum)],
)
def test_distance_to_a_single_background_pixel_is_the_metric(metric, formula):
    image = np.ones((21, 31), np.uint8)
    image[8, 12] = 0
    yy, xx = np.mgrid[:21, :31]
    expected = formula(np.abs(yy - 8).astype(float), np.abs(xx - 12).astype(float))
    out = api.run("binary.distance_transform", image, metric=metric)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("image", "params", "name"),
    [(np.full((5, 5), 3, np.uint8), {}, "image"),
     (np.eye(5, dtype=np.uint8), {"metric": "cityblock"}, "metric")],
)
def test_distance_transform_bad_params_name_the_parameter(image, params, name):
    with pytest.raises(ValueError, match=name):
        api.run("binary.distance_transform", image, **params)


# -- morphology -------------------------------------------------------------------------------

OPS = {"erode": cv2.MORPH_ERODE, "dilate": cv2.MORPH_DILATE, "open": cv2.MORPH_OPEN,
       "close": cv2.MORPH_CLOSE, "gradient": cv2.MORPH_GRADIENT, "tophat": cv2.MORPH_TOPHAT,
       "blackhat": cv2.MORPH_BLACKHAT}
SHAPES = {"disk": cv2.MORPH_ELLIPSE, "square": cv2.MORPH_RECT, "cross": cv2.MORPH_CROSS}


@pytest.mark.parametrize("op", sorted(OPS))
@dtypes
@kinds
def test_morphology_equals_cv2_morphology_ex(op, dtype, kind, make):
    image = make(dtype, kind)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    out = api.run("binary.morphology", image, op=op, shape="disk", size=5)
    assert out.dtype == image.dtype and out.shape == image.shape
    assert np.array_equal(out, cv2.morphologyEx(image, OPS[op], kernel))


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("op", ["open", "gradient", "blackhat"])
def test_morphology_by_row_strips_equals_one_cv2_call(shape, op):
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 65536, (300, 70)).astype(np.uint16), (0, 0), 2)
    kernel = cv2.getStructuringElement(SHAPES[shape], (21, 21))
    calls = []
    out = api.run("binary.morphology", image, op=op, shape=shape, size=21,
                  progress=Progress(lambda f, m: calls.append(f)))
    assert len(calls) > 1 and calls[-1] == 1.0  # several strips
    assert np.array_equal(out, cv2.morphologyEx(image, OPS[op], kernel))


def test_morphology_dilate_square_is_a_maximum_filter(make):
    image = make(np.float32, "rgb")
    expected = ndi.maximum_filter(image, size=(7, 7, 1), mode="nearest")
    out = api.run("binary.morphology", image, op="dilate", shape="square", size=7)
    assert np.array_equal(out, expected)


def test_morphology_erode_disk_matches_skimage_erosion_ignoring_the_border(make):
    image = make(np.uint8, "gray")
    footprint = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    expected = skimage.morphology.erosion(image, footprint, mode="ignore")
    assert np.array_equal(api.run("binary.morphology", image, op="erode", size=9), expected)


def test_morphology_opening_removes_objects_smaller_than_the_disk():
    mask = np.zeros((50, 50), np.uint8)
    mask[5:25, 5:25] = 255  # 20 x 20 survives a 7 x 7 disk
    mask[35:39, 35:39] = 255  # 4 x 4 does not
    out = api.run("binary.morphology", mask, op="open", shape="square", size=7)
    assert np.array_equal(out > 0, np.pad(np.ones((20, 20), bool), ((5, 25), (5, 25))))


def test_morphology_keeps_alpha(make):
    image = make(np.uint16, "rgba")
    out = api.run("binary.morphology", image, op="dilate", size=5)
    assert np.array_equal(out[..., 3], image[..., 3])
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    assert np.array_equal(out[..., :3], cv2.dilate(np.ascontiguousarray(image[..., :3]), kernel))


def test_morphology_cancel_stops_it(make):
    with pytest.raises(Cancelled):
        binary.morphology(make(), op="open", progress=cancelled())


@pytest.mark.parametrize(
    ("params", "name"),
    [({"size": 4}, "size"), ({"size": 0}, "size"), ({"op": "thin"}, "op"),
     ({"shape": "ring"}, "shape")],
)
def test_morphology_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("binary.morphology", make(), **params)


# -- hit-or-miss ------------------------------------------------------------------------------


def brute_hit_or_miss(mask: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Reference: pad with background, compare every window cell by cell."""
    kh, kw = kernel.shape
    padded = np.pad(mask, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
    out = np.ones(mask.shape, bool)
    for dy in range(kh):
        for dx in range(kw):
            window = padded[dy: dy + mask.shape[0], dx: dx + mask.shape[1]]
            if kernel[dy, dx] == 1:
                out &= window
            elif kernel[dy, dx] == -1:
                out &= ~window
    return out


def test_hit_or_miss_finds_exactly_the_planted_patterns():
    kernel = np.array([[-1, -1, -1], [0, 1, 0], [1, 1, 1]])
    rng = np.random.default_rng(7)
    mask = np.zeros((60, 80), bool)
    mask[::2] = rng.random((30, 80)) < 0.5  # foreground only on even rows: never a full match
    assert not brute_hit_or_miss(mask, kernel).any()
    centres = [(9, 10), (9, 40), (25, 61), (41, 20), (51, 75)]
    for y, x in centres:
        mask[y - 2: y + 3, x - 2: x + 3] = False  # a clean margin
        mask[y, x] = True
        mask[y + 1, x - 1: x + 2] = True
    out = api.run("binary.hit_or_miss", mask_image(mask))
    assert sorted(zip(*np.nonzero(out), strict=True)) == centres
    assert out.dtype == np.int32


@pytest.mark.parametrize(
    "pattern",
    ["-1 -1 -1; 0 1 0; 1 1 1", "0 1 0\n1 -1 1\n0 1 0", "1", "-1, -1, -1; -1, 1, -1; -1, -1, -1;",
     "0 0 0 0 0; 0 1 1 1 0; 0 0 -1 0 0"],
)
def test_hit_or_miss_equals_a_brute_force_match_with_background_outside(pattern):
    mask = np.random.default_rng(1).random((30, 40)) < 0.6
    kernel = binary.parse_pattern(pattern)
    assert_mask(api.run("binary.hit_or_miss", mask_image(mask), pattern=pattern),
                brute_hit_or_miss(mask, kernel))


def test_hit_or_miss_pattern_parses_strictly():
    expected = np.array([[-1, -1, -1], [0, 1, 0], [1, 1, 1]])
    assert np.array_equal(binary.parse_pattern(" -1 -1 -1 ;0 1 0; 1 1 1 "), expected)
    assert np.array_equal(binary.parse_pattern("-1,-1,-1\n0,1,0\n+1,1,1\n"), expected)


@pytest.mark.parametrize(
    "pattern", ["", "1 1; 1", "1 2 1", "1 1", "0 0 0; 0 0 0; 0 0 0", "a b c", "1;;1;1",
                "1.0", " ; "],
)
def test_hit_or_miss_bad_params_name_pattern(pattern):
    with pytest.raises(ValueError, match="pattern"):
        api.run("binary.hit_or_miss", mask_image(MASK), pattern=pattern)


# -- reconstruct ------------------------------------------------------------------------------


def test_reconstruct_keeps_the_objects_touching_markers():
    labels = skimage.measure.label(MASK, connectivity=2)
    markers = np.zeros(MASK.shape, np.int32)
    markers[np.nonzero(labels == 1)[0][0], np.nonzero(labels == 1)[1][0]] = 1
    markers[np.nonzero(labels == 3)[0][-1], np.nonzero(labels == 3)[1][-1]] = 7
    out = api.run("binary.reconstruct", mask_image(MASK), markers=markers)
    assert out.dtype == np.uint8
    assert np.array_equal(out > 0, np.isin(labels, [1, 3]))


@dtypes
@kinds
def test_reconstruct_h_dome_equals_skimage(dtype, kind, make):
    image = make(dtype, kind)
    h = {np.uint8: 40, np.uint16: 40 * 257, np.float32: np.float32(40 / 255)}[dtype]
    seed = np.clip(image.astype(np.float64) - h, 0, None).astype(dtype)
    out = api.run("binary.reconstruct", image, marker_image=seed)
    channels = [image] if kind == "gray" else [image[..., c] for c in range(3)]
    seeds = [seed] if kind == "gray" else [seed[..., c] for c in range(3)]
    expected = np.stack([skimage.morphology.reconstruction(s, c).astype(dtype)
                         for s, c in zip(seeds, channels, strict=True)], axis=-1)
    assert out.dtype == dtype
    assert np.array_equal(out, expected.reshape(image.shape))


@dtypes
def test_reconstruct_by_erosion_from_markers_equals_skimage(dtype, make):
    image = make(dtype, "gray")
    markers = np.zeros(image.shape, np.int32)
    markers[0, :] = markers[:, 0] = 1
    seed = np.where(markers > 0, image, image.max())
    expected = skimage.morphology.reconstruction(seed, image, method="erosion").astype(dtype)
    out = api.run("binary.reconstruct", image, markers=markers, method="erosion")
    assert np.array_equal(out, expected)


def test_reconstruct_keeps_alpha(make):
    image = make(np.uint8, "rgba")
    out = api.run("binary.reconstruct", image, marker_image=image // 2)
    assert np.array_equal(out[..., 3], image[..., 3])


def test_reconstruct_reports_progress_and_cancels(make):
    image = make(np.uint16, "rgb")
    calls = []
    binary.reconstruct(image, marker_image=image // 2, progress=Progress(lambda f, m: calls.append(f)))
    assert calls and max(calls) == 1.0
    with pytest.raises(Cancelled):
        binary.reconstruct(image, marker_image=image // 2, progress=cancelled())


@pytest.mark.parametrize(
    ("extra", "name"),
    [({}, "markers"),
     ({"markers": np.ones((64, 96), np.int32), "marker_image": np.zeros((64, 96), np.uint8)}, "markers"),
     ({"markers": np.ones((10, 10), np.int32)}, "markers"),
     ({"marker_image": np.full((64, 96), 255, np.uint8)}, "marker_image"),
     ({"marker_image": np.zeros((64, 96), np.uint8), "method": "erosion"}, "marker_image"),
     ({"marker_image": np.zeros((64, 96), np.uint16)}, "marker_image"),
     ({"markers": np.ones((64, 96), np.int32), "method": "opening"}, "method")],
)
def test_reconstruct_bad_params_name_the_parameter(extra, name, make):
    image = make(np.uint8, "gray")
    with pytest.raises(ValueError, match=name):
        api.run("binary.reconstruct", image, **extra)


# -- granulometry -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_granulometry_equals_a_loop_of_skimage_openings(seed):
    mask = blobs_mask((70, 90), n=20, seed=seed)
    out = api.run("binary.granulometry", mask_image(mask), max_size=14)
    expected = [int(np.count_nonzero(skimage.morphology.opening(
        mask.astype(np.uint8), skimage.morphology.disk(r), mode="ignore"))) for r in range(1, 15)]
    assert out.columns["size"] == list(range(1, 15))
    assert out.columns["area"] == expected
    assert all(a >= b for a, b in zip(expected, expected[1:], strict=False))


def test_granulometry_of_a_square_drops_to_zero_past_its_half_width():
    mask = np.zeros((40, 40), bool)
    mask[10:27, 10:27] = True  # 17 x 17: disk(8) fits, disk(9) does not
    out = api.run("binary.granulometry", mask_image(mask), max_size=12)
    areas = dict(zip(out.columns["size"], out.columns["area"], strict=True))
    assert areas[1] == 17 * 17 - 4  # the corners go
    assert areas[8] > 0 and areas[9] == 0 and areas[12] == 0


def test_granulometry_reports_progress_and_cancels():
    calls = []
    api.run("binary.granulometry", mask_image(MASK), max_size=4,
            progress=Progress(lambda f, m: calls.append(f)))
    assert calls == [0.25, 0.5, 0.75, 1.0]
    with pytest.raises(Cancelled):
        binary.granulometry(mask_image(MASK), max_size=4, progress=cancelled())


@pytest.mark.parametrize(
    ("image", "params", "name"),
    [(mask_image(MASK), {"max_size": 0}, "max_size"),
     (np.arange(64, dtype=np.uint8).reshape(8, 8), {}, "image")],
)
def test_granulometry_bad_params_name_the_parameter(image, params, name):
    with pytest.raises(ValueError, match=name):
        api.run("binary.granulometry", image, **params)


def test_granulometry_of_an_all_foreground_image_keeps_everything():
    out = api.run("binary.granulometry", np.ones((9, 13), np.uint8), max_size=20)
    assert out.columns["area"] == [9 * 13] * 20
