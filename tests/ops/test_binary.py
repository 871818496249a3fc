"""Binary and morphology operations (imgstudio.ops.binary), each checked against the library
function it wraps, a brute-force reference or a known answer."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.feature
import skimage.filters
import skimage.measure
import skimage.morphology
from skimage.util import img_as_float32, img_as_uint

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops import binary
from imgstudio.ops.basic import grayscale

DTYPES = [np.uint8, np.uint16, np.float32]
DTYPE_IDS = ["uint8", "uint16", "float32"]
TOP = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535, np.dtype(np.float32): 1.0}

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
kinds = pytest.mark.parametrize("kind", ["gray", "rgb"])


def convert(image: np.ndarray, dtype) -> np.ndarray:
    """uint8 ``image`` in ``dtype`` (exact for 0/255 masks: 0/65535, 0.0/1.0)."""
    return {np.uint8: np.array, np.uint16: img_as_uint, np.float32: img_as_float32}[dtype](image)


@pytest.fixture
def make(astronaut_small):
    """``make(dtype, kind)``: the 64×96 astronaut crop as gray/rgb/rgba in ``dtype``."""

    def build(dtype=np.uint8, kind="rgb"):
        rgb = astronaut_small
        if kind == "gray":
            base = np.ascontiguousarray(rgb[..., 1])
        elif kind == "rgba":
            alpha = np.linspace(0, 255, rgb.shape[1]).astype(np.uint8)
            base = np.dstack([rgb, np.broadcast_to(alpha, rgb.shape[:2])])
        else:
            base = rgb
        return np.ascontiguousarray(convert(base, dtype))

    return build


def mask_image(mask: np.ndarray, dtype=np.uint8, kind="gray") -> np.ndarray:
    """A boolean mask as a 0/max image of ``dtype`` (RGB: white on black)."""
    image = convert(mask.astype(np.uint8) * np.uint8(255), dtype)
    return np.ascontiguousarray(np.dstack([image] * 3)) if kind == "rgb" else image


def blobs_mask(shape=(90, 120), n=25, seed=0) -> np.ndarray:
    """Random overlapping discs and squares, some touching the border, with holes."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for _ in range(n):
        y, x, r = rng.integers(0, shape[0]), rng.integers(0, shape[1]), rng.integers(2, 12)
        if rng.random() < 0.5:
            mask |= (yy - y) ** 2 + (xx - x) ** 2 <= r * r
        else:
            mask[max(0, y - r): y + r, max(0, x - r): x + r] = True
    mask[rng.random(shape) < 0.02] = False  # pinholes
    return mask


def assert_mask(out: np.ndarray, expected: np.ndarray) -> None:
    assert out.dtype == np.int32 and out.shape == expected.shape
    assert set(np.unique(out)) <= {0, 1}
    assert np.array_equal(out, expected.astype(np.int32))


def cancelled() -> Progress:
    token = Progress()
    token.cancel()
    return token


# -- catalog and module contracts -------------------------------------------------------------

CATALOG = {
    "binary.threshold": {"method", "value"},
    "binary.adaptive_threshold": {"block_size", "offset"},
    "binary.distance_transform": {"metric"},
    "binary.morphology": {"op", "shape", "size"},
    "binary.hit_or_miss": {"pattern"},
    "binary.skeletonize": set(),
    "binary.fill_holes": set(),
    "binary.remove_small": {"min_size", "connectivity"},
    "binary.reconstruct": {"method"},
    "binary.label": {"connectivity"},
    "binary.blobs": {"method", "min_sigma", "max_sigma", "threshold"},
    "binary.granulometry": {"max_size"},
}
DEFAULTS = {
    ("binary.threshold", "method"): "otsu", ("binary.threshold", "value"): 128.0,
    ("binary.adaptive_threshold", "block_size"): 35, ("binary.adaptive_threshold", "offset"): 0,
    ("binary.distance_transform", "metric"): "euclidean", ("binary.morphology", "op"): "gradient",
    ("binary.morphology", "shape"): "disk", ("binary.morphology", "size"): 3,
    ("binary.hit_or_miss", "pattern"): "-1 -1 -1; 0 1 0; 1 1 1",
    ("binary.remove_small", "min_size"): 64, ("binary.reconstruct", "method"): "dilation",
    ("binary.label", "connectivity"): 2, ("binary.blobs", "method"): "log",
    ("binary.blobs", "min_sigma"): 1, ("binary.blobs", "max_sigma"): 30,
    ("binary.blobs", "threshold"): 0.1, ("binary.granulometry", "max_size"): 30,
}

MASK = blobs_mask()
# A valid call of every op: (input builder, params and extra layer inputs).
CASES = {
    "binary.threshold": {},
    "binary.adaptive_threshold": {"block_size": 15},
    "binary.distance_transform": {},
    "binary.morphology": {"op": "open", "size": 5},
    "binary.hit_or_miss": {},
    "binary.skeletonize": {},
    "binary.fill_holes": {},
    "binary.remove_small": {"min_size": 30},
    "binary.reconstruct": {"markers": (MASK & (np.arange(120) < 30)).astype(np.int32)},
    "binary.label": {},
    "binary.blobs": {"max_sigma": 8.0},
    "binary.granulometry": {"max_size": 5},
}


def test_catalog_ids_parameter_names_and_defaults():
    specs = {s.id: s for s in api.list_operations() if s.family == "binary"}
    assert set(specs) == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id
        assert specs[op_id].inputs[0].name == "image", op_id
    for (op_id, name), default in DEFAULTS.items():
        assert specs[op_id].param(name).default == default, (op_id, name)
    assert [i.name for i in specs["binary.reconstruct"].inputs] == ["image", "markers", "marker_image"]


def test_every_binary_op_has_menu_summary_and_declared_output():
    kinds = {"binary.threshold": "labels", "binary.morphology": "image",
             "binary.distance_transform": "image", "binary.reconstruct": "image",
             "binary.granulometry": "result", "binary.label": "result", "binary.blobs": "result"}
    for spec in api.list_operations():
        if spec.family == "binary":
            assert spec.menu.startswith(("Binary/", "Analyze/")), spec.id
            assert spec.summary and not spec.summary.endswith(":"), spec.id
            assert spec.output.kind == kinds.get(spec.id, "labels"), spec.id


def test_importing_binary_loads_no_heavy_library():
    code = (
        "import sys, imgstudio.ops.binary, imgstudio.ops.measure; "
        "print(sorted(m for m in ('cv2', 'skimage', 'scipy', 'sklearn', 'SimpleITK') "
        "if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_op_does_not_mutate_its_inputs(op_id):
    image = mask_image(MASK, np.uint8, "rgb")
    params = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in CASES[op_id].items()}
    before = image.copy(), {k: v.copy() for k, v in params.items() if isinstance(v, np.ndarray)}
    api.run(op_id, image, **params)
    assert np.array_equal(image, before[0])
    for k, v in before[1].items():
        assert np.array_equal(params[k], v)


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_direct_call_equals_api_run(op_id):
    image = mask_image(MASK)
    func = api.get_operation(op_id).func
    direct, via_api = func(image, **CASES[op_id]), api.run(op_id, image, **CASES[op_id])
    if isinstance(direct, np.ndarray):
        assert np.array_equal(direct, via_api)
        return
    assert type(direct) is type(via_api) and direct.to_json() == via_api.to_json()
    for field in dataclasses.fields(direct):
        value = getattr(direct, field.name)
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(via_api, field.name))


@pytest.mark.parametrize(
    "op_id", ["binary.hit_or_miss", "binary.skeletonize", "binary.fill_holes",
              "binary.remove_small", "binary.granulometry"]
)
def test_ops_that_need_a_binary_image_reject_grey_with_a_clear_message(op_id, make):
    with pytest.raises(ValueError, match=r"image must be binary .*distinct values.*binary\.threshold"):
        api.run(op_id, make(np.uint8, "gray"))


@pytest.mark.parametrize(
    "op_id", ["binary.hit_or_miss", "binary.skeletonize", "binary.fill_holes",
              "binary.remove_small", "binary.granulometry", "binary.label",
              "binary.distance_transform"]
)
@dtypes
def test_mask_ops_read_0_max_masks_of_every_dtype_and_rgb_alike(op_id, dtype):
    reference = api.run(op_id, mask_image(MASK))
    for image in (mask_image(MASK, dtype), mask_image(MASK, dtype, "rgb"),
                  convert(MASK.astype(np.uint8), dtype) if dtype != np.float32 else
                  MASK.astype(np.float32)):
        out = api.run(op_id, image)
        if isinstance(out, np.ndarray):
            assert np.array_equal(out, reference)
        else:
            assert out.to_json() == reference.to_json()


# -- threshold --------------------------------------------------------------------------------

METHODS = ["otsu", "isodata", "li", "yen", "triangle", "mean"]


@pytest.mark.parametrize("method", METHODS)
@dtypes
@kinds
def test_threshold_equals_skimage_on_the_grey_image(method, dtype, kind, make):
    image = make(dtype, kind)
    grey = grayscale(image)
    t = getattr(skimage.filters, f"threshold_{method}")(grey)
    assert_mask(api.run("binary.threshold", image, method=method), grey > t)
    assert binary.threshold_value(image, method) == pytest.approx(float(t), rel=0, abs=0)


@dtypes
def test_threshold_manual_value_is_in_8_bit_units(dtype, make):
    image = make(dtype, "gray")
    level = {np.uint8: 100, np.uint16: 100 * 257, np.float32: 100 / 255}[dtype]
    assert_mask(api.run("binary.threshold", image, method="manual", value=100), image > level)
    assert binary.threshold_value(image, "manual", 100) == pytest.approx(level)


def test_threshold_otsu_separates_two_levels_exactly():
    image = np.full((40, 50), 60, np.uint8)
    image[10:30, 5:25] = 190
    image[::7, ::3] = 70  # a little texture in the background
    assert_mask(api.run("binary.threshold", image), image == 190)


def test_threshold_isodata_is_the_ridler_calvard_fixed_point():
    coins = skimage.data.coins()
    t = binary.threshold_value(coins, "isodata")
    midpoint = (coins[coins <= t].mean() + coins[coins > t].mean()) / 2
    assert abs(t - midpoint) <= 1.0


@pytest.mark.parametrize("method", METHODS)
def test_threshold_of_a_constant_image_is_empty(method):
    for image in (np.full((6, 7), 0.3, np.float32), np.full((6, 7), 9, np.uint16)):
        assert not api.run("binary.threshold", image, method=method).any()


@pytest.mark.parametrize(
    ("params", "name"),
    [({"method": "kittler"}, "method"), ({"method": "manual", "value": 256}, "value"),
     ({"value": -1}, "value")],
)
def test_threshold_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("binary.threshold", make(), **params)


def test_threshold_isodata_without_a_level_raises_naming_method():
    levels = np.array([0.14875335, 0.68970144, 0.7560846], np.float32)
    image = np.repeat(levels, [3, 1, 2]).reshape(2, 3)
    with pytest.raises(IndexError):
        skimage.filters.threshold_isodata(image)  # the scikit-image bug we turn into a message
    with pytest.raises(ValueError, match="method isodata"):
        api.run("binary.threshold", image, method="isodata")


# -- adaptive threshold -----------------------------------------------------------------------


@dtypes
@kinds
def test_adaptive_threshold_equals_skimage_threshold_local(dtype, kind, make):
    image = make(dtype, kind)
    grey = grayscale(image)
    offset = 12 * TOP[np.dtype(dtype)] / 255
    expected = grey > skimage.filters.threshold_local(grey, 21, offset=offset)
    assert_mask(api.run("binary.adaptive_threshold", image, block_size=21, offset=12), expected)


def test_adaptive_threshold_finds_text_under_a_gradient():
    yy, xx = np.mgrid[:60, :80]
    image = (40 + 2 * xx).astype(np.uint8)  # strong ramp: no global threshold works
    text = np.zeros((60, 80), bool)
    text[20:23, 10:70] = True
    text[35:38, 10:70] = True
    image[text] += 40
    out = api.run("binary.adaptive_threshold", image, block_size=15, offset=-10)
    assert_mask(out, text)


@pytest.mark.parametrize(
    ("params", "name"),
    [({"block_size": 20}, "block_size"), ({"block_size": 1}, "block_size"),
     ({"offset": 300}, "offset")],
)
def test_adaptive_threshold_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("binary.adaptive_threshold", make(), **params)


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


# -- skeletonize ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_skeletonize_equals_skimage_on_many_objects(seed):
    mask = blobs_mask((120, 90), n=30, seed=seed)
    mask = skimage.morphology.remove_small_objects(mask, max_size=3)
    assert_mask(api.run("binary.skeletonize", mask_image(mask)),
                skimage.morphology.skeletonize(mask))


def test_skeletonize_equals_skimage_on_one_large_shape():
    mask = skimage.data.horse() == 0
    assert_mask(api.run("binary.skeletonize", mask_image(mask, np.float32)),
                skimage.morphology.skeletonize(mask))


def test_skeleton_of_a_bar_is_its_midline():
    mask = np.zeros((20, 60), bool)
    mask[7:14, 5:55] = True
    out = api.run("binary.skeletonize", mask_image(mask))
    assert out[10, 10:50].all() and out.sum() <= 60 and not out[:7].any() and not out[14:].any()


def test_skeletonize_reports_progress_and_cancels():
    calls = []
    api.run("binary.skeletonize", mask_image(MASK), progress=Progress(lambda f, m: calls.append(f)))
    assert calls[-1] == 1.0
    with pytest.raises(Cancelled):
        binary.skeletonize(mask_image(MASK), progress=cancelled())


def test_skeletonize_bad_params_reject_non_binary_image(make):
    with pytest.raises(ValueError, match="image"):
        api.run("binary.skeletonize", make())


# -- fill holes -------------------------------------------------------------------------------


@kinds
def test_fill_holes_equals_scipy(kind):
    assert_mask(api.run("binary.fill_holes", mask_image(MASK, np.uint16, kind)),
                ndi.binary_fill_holes(MASK))


def test_fill_holes_fills_a_ring_but_not_a_border_bay():
    yy, xx = np.mgrid[:40, :60]
    disc = (yy - 20) ** 2 + (xx - 20) ** 2 <= 12**2
    ring = disc & ((yy - 20) ** 2 + (xx - 20) ** 2 > 6**2)
    bay = np.zeros((40, 60), bool)
    bay[:, 40:55] = True
    bay[:30, 45:50] = False  # open to the top border: not a hole
    assert_mask(api.run("binary.fill_holes", mask_image(ring | bay)), disc | bay)


def test_fill_holes_bad_params_reject_non_binary_image(make):
    with pytest.raises(ValueError, match="image"):
        api.run("binary.fill_holes", make(np.float32))


# -- remove small -----------------------------------------------------------------------------


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("min_size", [0, 1, 2, 20, 64, 500])
def test_remove_small_equals_skimage(min_size, connectivity):
    mask = blobs_mask(seed=5) & (np.random.default_rng(2).random((90, 120)) < 0.8)
    expected = (mask if min_size <= 1 else skimage.morphology.remove_small_objects(
        mask, max_size=min_size - 1, connectivity=connectivity))
    out = api.run("binary.remove_small", mask_image(mask), min_size=min_size,
                  connectivity=connectivity)
    assert_mask(out, expected)


def test_remove_small_keeps_objects_of_exactly_min_size():
    mask = np.zeros((20, 30), bool)
    mask[2:4, 2:7] = True  # 10 pixels
    mask[10:13, 10:13] = True  # 9 pixels
    mask[15, 20] = mask[16, 21] = True  # 2 pixels touching by a corner
    out = api.run("binary.remove_small", mask_image(mask), min_size=10)
    assert_mask(out, np.pad(np.ones((2, 5), bool), ((2, 16), (2, 23))))
    corner = api.run("binary.remove_small", mask_image(mask), min_size=2, connectivity=2)
    assert corner[15, 20] == corner[16, 21] == 1
    assert not api.run("binary.remove_small", mask_image(mask), min_size=2)[15, 20]


@pytest.mark.parametrize(
    ("params", "name"), [({"min_size": -1}, "min_size"), ({"connectivity": 3}, "connectivity")]
)
def test_remove_small_bad_params_name_the_parameter(params, name):
    with pytest.raises(ValueError, match=name):
        api.run("binary.remove_small", mask_image(MASK), **params)


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


# -- label ------------------------------------------------------------------------------------


@pytest.mark.parametrize("connectivity", [1, 2])
@dtypes
def test_label_equals_skimage_and_counts(connectivity, dtype, make):
    image = make(dtype, "gray")
    image = np.where(image > TOP[np.dtype(dtype)] * 0.6, image, 0).astype(dtype)  # any > 0
    expected, count = skimage.measure.label(image > 0, connectivity=connectivity, return_num=True)
    out = api.run("binary.label", image, connectivity=connectivity)
    assert out.labels.dtype == np.int32 and np.array_equal(out.labels, expected)
    assert out.count == count == out.labels.max()
    assert out.to_json() == {"count": count}


def test_label_diagonal_pixels_join_only_with_connectivity_2():
    image = np.zeros((5, 5), np.uint8)
    image[1, 1] = image[2, 2] = image[4, 0] = 255
    assert api.run("binary.label", image, connectivity=2).count == 2
    assert api.run("binary.label", image, connectivity=1).count == 3


def test_label_bad_params_name_connectivity():
    with pytest.raises(ValueError, match="connectivity"):
        api.run("binary.label", mask_image(MASK), connectivity=3)


# -- blobs ------------------------------------------------------------------------------------


def spots(dtype=np.float32) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Gaussian spots (x, y, sigma) on a dark background."""
    truth = [(20, 15, 2.0), (60, 40, 4.0), (90, 20, 3.0), (30, 50, 5.0)]
    yy, xx = np.mgrid[:70, :110]
    image = np.zeros((70, 110))
    for x, y, s in truth:
        image += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * s * s))
    return convert(np.clip(image * 255, 0, 255).astype(np.uint8), dtype), truth


@pytest.mark.parametrize(("method", "threshold"), [("log", 0.1), ("dog", 0.1), ("doh", 0.005)])
@dtypes
def test_blobs_equal_skimage_with_x_y_order(method, threshold, dtype):
    image, _ = spots(dtype)
    rgb = np.dstack([image] * 3)
    detect = getattr(skimage.feature, f"blob_{method}")
    expected = detect(grayscale(rgb), min_sigma=1.0, max_sigma=10.0, threshold=threshold)
    out = api.run("binary.blobs", rgb, method=method, max_sigma=10.0, threshold=threshold)
    assert len(expected) > 0
    np.testing.assert_array_equal(out.points, expected[:, [1, 0]])
    factor = np.sqrt(2.0) if method != "doh" else 1.0
    np.testing.assert_allclose(out.table.columns["radius"], expected[:, 2] * factor)
    assert out.table.columns["x"] == expected[:, 1].tolist()
    assert out.table.columns["sigma"] == expected[:, 2].tolist()


def test_blobs_log_finds_the_spots_and_their_scale():
    image, truth = spots()
    out = api.run("binary.blobs", image, min_sigma=1.0, max_sigma=8.0)
    assert len(out.points) == len(truth)
    for x, y, s in truth:
        i = np.argmin(np.hypot(out.points[:, 0] - x, out.points[:, 1] - y))
        assert np.hypot(out.points[i, 0] - x, out.points[i, 1] - y) <= 1.0
        assert abs(out.table.columns["sigma"][i] - s) <= 0.5 * s


def test_blobs_on_a_flat_image_finds_none():
    out = api.run("binary.blobs", np.zeros((20, 20), np.uint8))
    assert out.points.shape == (0, 2) and len(out.table) == 0


@pytest.mark.parametrize(
    ("params", "name"),
    [({"min_sigma": 5.0, "max_sigma": 2.0}, "max_sigma"), ({"method": "mser"}, "method"),
     ({"threshold": -0.1}, "threshold"), ({"min_sigma": 0.0}, "min_sigma")],
)
def test_blobs_bad_params_name_the_parameter(params, name):
    with pytest.raises(ValueError, match=name):
        api.run("binary.blobs", spots()[0], **params)


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
