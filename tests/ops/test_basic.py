"""Basic operations (imgstudio.ops.basic), each checked against an independent reference."""

from __future__ import annotations

import colorsys
import subprocess
import sys

import cv2
import numpy as np
import pytest
import skimage.color
import skimage.transform

import imgstudio.api as api
from imgstudio.ops import basic

DTYPES = [np.uint8, np.uint16, np.float32]
DTYPE_IDS = ["uint8", "uint16", "float32"]
KINDS = ["gray", "rgb"]
TOP = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
kinds = pytest.mark.parametrize("kind", KINDS)

QUAD = np.array([[10.0, 6.0], [80.0, 12.0], [86.0, 58.0], [4.0, 50.0]])
SRC3 = np.array([[10.0, 10.0], [60.0, 12.0], [20.0, 50.0]])
DST3 = np.array([[14.0, 8.0], [62.0, 20.0], [18.0, 55.0]])


def to_dtype(values: np.ndarray, dtype) -> np.ndarray:
    """Reference cast: clip to the dtype's range, round for integers."""
    top = TOP[np.dtype(dtype)]
    if np.dtype(dtype).kind == "f":
        return np.clip(values, 0, top).astype(dtype)
    return np.clip(np.rint(values), 0, top).astype(dtype)


def assert_close(out: np.ndarray, expected: np.ndarray, int_tol: int = 0, float_tol: float = 1e-5):
    assert out.dtype == expected.dtype and out.shape == expected.shape
    tol = float_tol if out.dtype.kind == "f" else int_tol
    diff = np.abs(out.astype(np.float64) - expected.astype(np.float64))
    assert diff.max() <= tol, f"max difference {diff.max()} > {tol}"


# -- catalog and module contracts -------------------------------------------------------------

CATALOG = {
    "basic.grayscale": set(),
    "basic.invert": set(),
    "basic.crop": {"x", "y", "width", "height"},
    "basic.resize": {"width", "height", "interpolation"},
    "basic.rotate": {"angle", "expand"},
    "basic.flip": {"axis"},
    "basic.brightness_contrast": {"brightness", "contrast"},
    "basic.gamma": {"gamma"},
    "basic.levels": {"black", "white", "gamma"},
    "basic.convert_color": {"space", "channel"},
    "basic.quantize": {"colors"},
    "basic.perspective": {"width", "height"},
    "basic.affine": {"matrix"},
    "basic.elastic": {"alpha", "sigma", "seed"},
    "basic.color_mask": {"hue_min", "hue_max", "sat_min", "val_min"},
}

# A valid call of every op on an RGB image: params and extra layer inputs.
CASES = {
    "basic.grayscale": {},
    "basic.invert": {},
    "basic.crop": {"x": 5, "y": 4, "width": 30, "height": 20},
    "basic.resize": {"width": 50, "height": 30},
    "basic.rotate": {"angle": 30.0},
    "basic.flip": {},
    "basic.brightness_contrast": {"brightness": 0.1, "contrast": 1.3},
    "basic.gamma": {"gamma": 2.0},
    "basic.levels": {"black": 20, "white": 220, "gamma": 1.2},
    "basic.convert_color": {"space": "lab"},
    "basic.quantize": {"colors": 4},
    "basic.perspective": {"corners": QUAD},
    "basic.affine": {"src": SRC3, "dst": DST3},
    "basic.elastic": {},
    "basic.color_mask": {},
}
SAME_DTYPE = sorted(set(CASES) - {"basic.convert_color", "basic.color_mask"})


def test_catalog_ids_and_parameter_names_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "basic"}
    assert set(specs) == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id


def test_every_basic_op_has_menu_and_one_line_summary():
    for spec in api.list_operations():
        if spec.family == "basic":
            assert spec.menu.startswith(("Image/", "Select")), spec.id
            assert spec.summary and not spec.summary.endswith(":"), spec.id


def test_importing_basic_loads_no_heavy_library():
    code = (
        "import sys, imgstudio.ops.basic; "
        "print(sorted(m for m in ('cv2', 'skimage', 'scipy', 'sklearn') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_op_does_not_mutate_its_input(op_id, make):
    image = make(np.uint8, "rgb")
    before = image.copy()
    api.run(op_id, image, **CASES[op_id])
    assert np.array_equal(image, before)


@pytest.mark.parametrize("op_id", SAME_DTYPE)
@dtypes
def test_op_preserves_dtype(op_id, dtype, make):
    out = api.run(op_id, make(dtype, "rgb"), **CASES[op_id])
    assert out.dtype == dtype


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_direct_call_equals_api_run(op_id, make):
    image = make(np.uint8, "rgb")
    func = api.get_operation(op_id).func
    assert np.array_equal(func(image, **CASES[op_id]), api.run(op_id, image, **CASES[op_id]))


# -- grayscale --------------------------------------------------------------------------------


@dtypes
def test_grayscale_uses_bt601_luma(dtype, make):
    rgb = make(dtype, "rgb").astype(np.float64)
    expected = to_dtype(0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2], dtype)
    # integer results may differ by 1 where the sum lands on .5 up to float summation order
    assert_close(api.run("basic.grayscale", make(dtype, "rgb")), expected, int_tol=1)


@dtypes
def test_grayscale_returns_gray_input_as_a_copy(dtype, make):
    gray = make(dtype, "gray")
    out = api.run("basic.grayscale", gray)
    assert np.array_equal(out, gray) and not np.shares_memory(out, gray)


def test_grayscale_drops_alpha(make):
    out = api.run("basic.grayscale", make(np.uint8, "rgba"))
    assert np.array_equal(out, api.run("basic.grayscale", make(np.uint8, "rgb")))


def test_grayscale_bad_params_rejects_unknown_parameter(make):
    with pytest.raises(ValueError, match="weights"):
        api.run("basic.grayscale", make(), weights="709")


# -- invert -----------------------------------------------------------------------------------


@dtypes
@kinds
def test_invert_is_max_minus_x(dtype, kind, make):
    image = make(dtype, kind)
    expected = (TOP[np.dtype(dtype)] - image.astype(np.float64)).astype(dtype)
    assert_close(api.run("basic.invert", image), expected, float_tol=0)


def test_invert_keeps_alpha(make):
    image = make(np.uint16, "rgba")
    out = api.run("basic.invert", image)
    assert np.array_equal(out[..., 3], image[..., 3])
    assert np.array_equal(out[..., :3], 65535 - image[..., :3])


def test_invert_bad_params_rejects_float64_image():
    with pytest.raises(ValueError, match="image"):
        api.run("basic.invert", np.zeros((8, 8), np.float64))


# -- crop -------------------------------------------------------------------------------------


@dtypes
@kinds
def test_crop_equals_slicing(dtype, kind, make):
    image = make(dtype, kind)
    out = api.run("basic.crop", image, x=7, y=3, width=40, height=21)
    assert np.array_equal(out, image[3:24, 7:47])


def test_crop_returns_a_copy_not_a_view(make):
    image = make()
    out = api.run("basic.crop", image, x=0, y=0, width=10, height=10)
    assert not np.shares_memory(out, image)


def test_crop_of_whole_image_is_allowed(make):
    image = make()
    out = api.run("basic.crop", image, x=0, y=0, width=96, height=64)
    assert np.array_equal(out, image)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"x": 90, "y": 0, "width": 10, "height": 5}, "width"),
        ({"x": 0, "y": 60, "width": 10, "height": 5}, "height"),
        ({"x": 96, "y": 0, "width": 1, "height": 1}, "x"),
        ({"x": -1, "y": 0, "width": 1, "height": 1}, "x"),
        ({"x": 0, "y": 0, "width": 0, "height": 1}, "width"),
    ],
)
def test_crop_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.crop", make(), **params)


def test_crop_direct_call_checks_the_rectangle(make):
    with pytest.raises(ValueError, match="width"):
        basic.crop(make(), x=50, y=0, width=50, height=10)


# -- resize -----------------------------------------------------------------------------------


@dtypes
@kinds
def test_resize_matches_cv2_resize(dtype, kind, make):
    image = make(dtype, kind)
    expected = cv2.resize(image, (41, 29), interpolation=cv2.INTER_AREA)
    assert_close(api.run("basic.resize", image, width=41, height=29), expected, float_tol=0)


@pytest.mark.parametrize(
    ("name", "flag"),
    [
        ("nearest", cv2.INTER_NEAREST),
        ("linear", cv2.INTER_LINEAR),
        ("cubic", cv2.INTER_CUBIC),
        ("lanczos", cv2.INTER_LANCZOS4),
    ],
)
def test_resize_interpolation_selects_the_cv2_flag(name, flag, make):
    image = make(np.uint16, "rgb")
    expected = cv2.resize(image, (150, 100), interpolation=flag)
    out = api.run("basic.resize", image, width=150, height=100, interpolation=name)
    assert np.array_equal(out, expected)


def test_resize_float_cubic_stays_in_unit_range(make):
    out = api.run(
        "basic.resize", make(np.float32, "rgb"), width=200, height=150, interpolation="cubic"
    )
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_resize_zero_height_keeps_aspect_ratio(make):
    out = api.run("basic.resize", make(), width=48, height=0)
    assert out.shape == (32, 48, 3)


def test_resize_keeps_rgba(make):
    assert api.run("basic.resize", make(np.uint8, "rgba"), width=20, height=10).shape == (10, 20, 4)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"width": -1, "height": 5}, "width"),
        ({"width": 5, "height": 5, "interpolation": "bicubic"}, "interpolation"),
    ],
)
def test_resize_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.resize", make(), **params)


# -- rotate -----------------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [90.0, 180.0, 270.0, -90.0, 360.0, 450.0 - 360.0])
@kinds
def test_rotate_by_multiples_of_90_equals_rot90(angle, kind, make):
    image = make(np.uint8, kind)
    expected = np.rot90(image, int(angle // 90) % 4)
    assert np.array_equal(api.run("basic.rotate", image, angle=angle), expected)


@dtypes
def test_rotate_90_is_exact_for_every_dtype(dtype, make):
    image = make(dtype, "rgb")
    assert np.array_equal(api.run("basic.rotate", image, angle=90.0), np.rot90(image))


def test_rotate_90_without_expand_on_square_image_equals_rot90(make):
    image = make(np.uint8, "rgb")[:, :64]
    out = api.run("basic.rotate", image, angle=90.0, expand=False)
    assert np.array_equal(out, np.rot90(image))


def test_rotate_90_without_expand_keeps_size_and_centres_rot90(make):
    image = make(np.uint8, "gray")  # 64 x 96
    out = api.run("basic.rotate", image, angle=90.0, expand=False)
    assert out.shape == image.shape
    # rot90 is 96 x 64: its middle 64 rows sit in columns 16..80 of the output
    assert np.array_equal(out[:, 16:80], np.rot90(image)[16:80])
    assert not out[:, :16].any() and not out[:, 80:].any()


def test_rotate_45_with_expand_grows_the_canvas(make):
    image = make(np.uint8, "rgb")  # 64 x 96
    out = api.run("basic.rotate", image, angle=45.0)
    side = int(np.ceil((96 + 64) * np.sqrt(0.5)))
    assert out.shape == (side, side, 3)


def test_rotate_45_without_expand_keeps_size(make):
    assert api.run("basic.rotate", make(), angle=45.0, expand=False).shape == (64, 96, 3)


@dtypes
def test_rotate_30_turns_counter_clockwise_like_skimage(dtype, make):
    image = make(dtype, "rgb")
    out = api.run("basic.rotate", image, angle=30.0, expand=False)
    top = TOP[np.dtype(dtype)]
    expected = skimage.transform.rotate(image.astype(np.float64) / top, 30.0, order=1)
    error = np.abs(out[16:-16, 16:-16] / top - expected[16:-16, 16:-16]).mean()
    assert error < 0.005


@pytest.mark.parametrize(
    ("params", "name"), [({"angle": 400.0}, "angle"), ({"expand": "maybe"}, "expand")]
)
def test_rotate_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.rotate", make(), **params)


# -- flip -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("axis", "reference"), [("horizontal", np.fliplr), ("vertical", np.flipud)]
)
@dtypes
@kinds
def test_flip_equals_numpy_flip(axis, reference, dtype, kind, make):
    image = make(dtype, kind)
    assert np.array_equal(api.run("basic.flip", image, axis=axis), reference(image))


def test_flip_default_mirrors_left_right(make):
    image = make()
    assert np.array_equal(api.run("basic.flip", image), image[:, ::-1])


def test_flip_bad_params_name_axis(make):
    with pytest.raises(ValueError, match="axis"):
        api.run("basic.flip", make(), axis="diagonal")


# -- tone: brightness/contrast, gamma, levels -------------------------------------------------


@dtypes
@kinds
def test_brightness_contrast_matches_closed_form(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    x = image.astype(np.float64)
    expected = to_dtype((x - top / 2) * 1.5 + top / 2 + 0.1 * top, dtype)
    out = api.run("basic.brightness_contrast", image, brightness=0.1, contrast=1.5)
    assert_close(out, expected)


@dtypes
def test_brightness_contrast_defaults_are_identity(dtype, make):
    image = make(dtype, "rgb")
    assert np.array_equal(api.run("basic.brightness_contrast", image), image)


def test_brightness_contrast_keeps_alpha(make):
    image = make(np.uint8, "rgba")
    out = api.run("basic.brightness_contrast", image, brightness=-0.5)
    assert np.array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(
    ("params", "name"), [({"brightness": 2.0}, "brightness"), ({"contrast": -1.0}, "contrast")]
)
def test_brightness_contrast_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.brightness_contrast", make(), **params)


@dtypes
@kinds
def test_gamma_matches_closed_form(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    expected = to_dtype(top * (image.astype(np.float64) / top) ** (1 / 2.2), dtype)
    assert_close(api.run("basic.gamma", image, gamma=2.2), expected)


def test_gamma_above_one_brightens(make):
    image = make(np.float32, "rgb")
    assert api.run("basic.gamma", image, gamma=2.0).mean() > image.mean()


def test_gamma_one_is_identity(make):
    image = make(np.uint16, "rgb")
    assert np.array_equal(api.run("basic.gamma", image, gamma=1.0), image)


def test_gamma_bad_params_name_gamma(make):
    with pytest.raises(ValueError, match="gamma"):
        api.run("basic.gamma", make(), gamma=0.0)


@dtypes
@kinds
def test_levels_matches_closed_form(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    lo, hi = 30 / 255 * top, 200 / 255 * top
    stretched = np.clip((image.astype(np.float64) - lo) / (hi - lo), 0, 1)
    expected = to_dtype(stretched ** (1 / 0.8) * top, dtype)
    assert_close(api.run("basic.levels", image, black=30, white=200, gamma=0.8), expected)


def test_levels_defaults_are_identity(make):
    image = make(np.uint8, "rgb")
    assert np.array_equal(api.run("basic.levels", image), image)


def test_levels_keeps_alpha(make):
    image = make(np.float32, "rgba")
    out = api.run("basic.levels", image, black=50, white=100)
    assert np.array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"black": 100, "white": 100}, "white"),
        ({"black": 200, "white": 50}, "white"),
        ({"gamma": 0.0}, "gamma"),
        ({"black": 300}, "black"),
    ],
)
def test_levels_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.levels", make(), **params)


# -- convert_color ----------------------------------------------------------------------------

_CORNERS = np.array([[[r, g, b] for r in (0.0, 1.0) for g in (0.0, 1.0) for b in (0.0, 1.0)]])


def _linear_bounds(convert):
    """Per-channel min/max of a linear conversion over the RGB cube: reached at its corners."""
    values = convert(_CORNERS).reshape(-1, 3)
    return values.min(axis=0), values.max(axis=0)


def reference_color(rgb: np.ndarray, space: str) -> np.ndarray:
    """skimage.color conversion scaled to [0, 1] as documented in basic.convert_color."""
    c = skimage.color
    if space == "hsv":
        return c.rgb2hsv(rgb)
    if space == "lab":
        return (c.rgb2lab(rgb) + [0, 128, 128]) / [100, 255, 255]
    if space == "luv":
        return (c.rgb2luv(rgb) + [0, 134, 140]) / [100, 354, 262]
    if space == "ycbcr":
        return c.rgb2ycbcr(rgb) / 255
    if space == "ycrcb":
        return c.rgb2ycbcr(rgb)[..., [0, 2, 1]] / 255
    convert = {
        "xyz": c.rgb2xyz,
        "yuv": c.rgb2yuv,
        "yiq": c.rgb2yiq,
        "ypbpr": c.rgb2ypbpr,
        "hed": c.rgb2hed,
    }[space]
    lo, hi = _linear_bounds(convert)
    return (convert(rgb) - lo) / (hi - lo)


SPACES = ["hsv", "lab", "luv", "xyz", "ycrcb", "ycbcr", "yuv", "yiq", "ypbpr", "hed"]


@pytest.mark.parametrize("space", SPACES)
def test_convert_color_matches_skimage_scaled_to_unit_range(space, make):
    image = make(np.float32, "rgb")
    expected = reference_color(image.astype(np.float64), space)
    out = api.run("basic.convert_color", image, space=space)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-4)


@dtypes
def test_convert_color_accepts_every_dtype(dtype, make):
    image = make(dtype, "rgb")
    expected = skimage.color.rgb2hsv(image.astype(np.float64) / TOP[np.dtype(dtype)])
    np.testing.assert_allclose(api.run("basic.convert_color", image), expected, atol=1e-5)


@pytest.mark.parametrize("space", SPACES)
def test_convert_color_stays_in_unit_range_over_the_gamut(space):
    levels = np.linspace(0, 1, 17)
    cube = np.stack(np.meshgrid(levels, levels, levels), axis=-1).reshape(17, -1, 3)
    reference = reference_color(cube, space)
    assert reference.min() > -1e-6 and reference.max() < 1 + 1e-6  # the documented ranges hold
    out = api.run("basic.convert_color", cube.astype(np.float32), space=space)
    assert out.min() >= 0 and out.max() <= 1


def test_convert_color_channel_returns_one_gray_plane(make):
    image = make(np.uint8, "rgb")
    full = api.run("basic.convert_color", image, space="lab")
    out = api.run("basic.convert_color", image, space="lab", channel=0)
    assert out.shape == image.shape[:2] and np.array_equal(out, full[..., 0])


def test_convert_color_ignores_alpha(make):
    rgba = api.run("basic.convert_color", make(np.uint8, "rgba"), space="yuv")
    assert np.array_equal(rgba, api.run("basic.convert_color", make(np.uint8, "rgb"), space="yuv"))


def test_convert_color_rejects_gray_image_naming_image(make):
    with pytest.raises(ValueError, match="image"):
        api.run("basic.convert_color", make(np.uint8, "gray"))


@pytest.mark.parametrize(
    ("params", "name"), [({"space": "cmyk"}, "space"), ({"channel": 3}, "channel")]
)
def test_convert_color_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.convert_color", make(), **params)


# -- quantize ---------------------------------------------------------------------------------


def n_colours(image: np.ndarray) -> int:
    return len(np.unique(image.reshape(-1, image.shape[2] if image.ndim == 3 else 1), axis=0))


@dtypes
@kinds
def test_quantize_leaves_at_most_colors_unique_colours(dtype, kind, make):
    out = api.run("basic.quantize", make(dtype, kind), colors=5)
    assert 2 <= n_colours(out) <= 5


def test_quantize_stays_close_to_the_input(make):
    image = make(np.uint8, "rgb")
    out = api.run("basic.quantize", image, colors=16)
    assert np.abs(out.astype(float) - image).mean() < 20


def test_quantize_is_deterministic(make):
    image = make(np.uint8, "rgb")
    assert np.array_equal(api.run("basic.quantize", image), api.run("basic.quantize", image))


def test_quantize_keeps_an_image_with_fewer_colours(make):
    palette = np.array([[255, 0, 0], [0, 128, 255], [10, 20, 30]], np.uint8)
    image = palette[np.random.default_rng(0).integers(0, 3, (32, 40))]
    assert np.array_equal(api.run("basic.quantize", image, colors=8), image)


def test_quantize_keeps_alpha(make):
    image = make(np.uint8, "rgba")
    out = api.run("basic.quantize", image, colors=3)
    assert np.array_equal(out[..., 3], image[..., 3]) and n_colours(out[..., :3]) <= 3


def test_quantize_bad_params_name_colors(make):
    with pytest.raises(ValueError, match="colors"):
        api.run("basic.quantize", make(), colors=1)


# -- perspective ------------------------------------------------------------------------------


def _rect(width: int, height: int) -> np.ndarray:
    return np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], float)


@dtypes
@kinds
def test_perspective_recovers_a_known_warp(dtype, kind, make):
    image = make(dtype, kind)
    top = TOP[np.dtype(dtype)]
    quad = np.array([[30.0, 20.0], [140.0, 35.0], [125.0, 110.0], [20.0, 95.0]])
    # skimage (not OpenCV) makes the distorted view: the image's corner pixels land on `quad`
    tform = skimage.transform.ProjectiveTransform.from_estimate(_rect(96, 64), quad)
    view = skimage.transform.warp(
        image.astype(np.float64) / top, tform.inverse, output_shape=(130, 160), order=1
    )
    view = to_dtype(view * top, dtype)
    out = api.run("basic.perspective", view, corners=quad, width=96, height=64)
    assert out.shape == image.shape and out.dtype == dtype
    error = np.abs(out[2:-2, 2:-2] / top - image[2:-2, 2:-2] / top).mean()
    assert error < 0.03


def test_perspective_with_image_corners_is_identity(make):
    image = make(np.uint8, "rgb")
    out = api.run("basic.perspective", image, corners=_rect(96, 64), width=96, height=64)
    assert np.abs(out.astype(int) - image).max() <= 1


def test_perspective_default_size_comes_from_corner_distances(make):
    out = api.run("basic.perspective", make(), corners=[[10, 10], [50, 10], [50, 30], [10, 30]])
    assert out.shape == (21, 41, 3)


def test_perspective_rejects_three_corners_naming_corners(make):
    with pytest.raises(ValueError, match="corners"):
        api.run("basic.perspective", make(), corners=QUAD[:3])


def test_perspective_rejects_collinear_corners_naming_corners(make):
    with pytest.raises(ValueError, match="corners"):
        basic.perspective(make(), corners=[[0, 0], [10, 0], [20, 0], [30, 0]])


def test_perspective_bad_params_name_width(make):
    with pytest.raises(ValueError, match="width"):
        api.run("basic.perspective", make(), corners=QUAD, width=-5)


# -- affine -----------------------------------------------------------------------------------


def _shifted(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(image)
    out[dy:, dx:] = image[: image.shape[0] - dy, : image.shape[1] - dx]
    return out


@dtypes
@kinds
def test_affine_translation_by_points_equals_shifted_slice(dtype, kind, make):
    image = make(dtype, kind)
    out = api.run("basic.affine", image, src=SRC3, dst=SRC3 + [5, 3])
    assert_close(out, _shifted(image, 5, 3), int_tol=0, float_tol=1e-6)


def test_affine_matrix_text_equals_points(make):
    image = make(np.uint8, "rgb")
    by_points = api.run("basic.affine", image, src=SRC3, dst=DST3)
    matrix = cv2.getAffineTransform(SRC3.astype(np.float32), DST3.astype(np.float32))
    text = "; ".join(" ".join(repr(float(v)) for v in row) for row in matrix)
    assert np.array_equal(api.run("basic.affine", image, matrix=text), by_points)


def test_affine_matches_skimage_warp(make):
    image = make(np.float32, "rgb")
    tform = skimage.transform.AffineTransform.from_estimate(SRC3, DST3)
    expected = skimage.transform.warp(image, tform.inverse, order=1)
    out = api.run("basic.affine", image, src=SRC3, dst=DST3)
    assert np.abs(out[8:-8, 8:-8] - expected[8:-8, 8:-8]).mean() < 0.005


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"src": SRC3[:2], "dst": DST3[:2]}, "src"),
        ({"src": SRC3, "dst": DST3[:2]}, "dst"),
        ({"src": SRC3}, "dst"),
        ({"matrix": "1 2 3"}, "matrix"),
        ({"matrix": "1 0 a; 0 1 0"}, "matrix"),
        ({}, "matrix"),
        ({"src": [[0, 0], [1, 1], [2, 2]], "dst": DST3}, "src"),
    ],
)
def test_affine_bad_params_name_the_parameter(kwargs, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.affine", make(), **kwargs)


# -- elastic ----------------------------------------------------------------------------------


def test_elastic_same_seed_gives_same_output(make):
    image = make(np.uint8, "rgb")
    assert np.array_equal(
        api.run("basic.elastic", image, seed=3), api.run("basic.elastic", image, seed=3)
    )


def test_elastic_different_seeds_give_different_outputs(make):
    image = make(np.uint8, "rgb")
    assert not np.array_equal(
        api.run("basic.elastic", image, seed=1), api.run("basic.elastic", image, seed=2)
    )


@dtypes
@kinds
def test_elastic_alpha_zero_is_identity(dtype, kind, make):
    image = make(dtype, kind)
    assert np.array_equal(api.run("basic.elastic", image, alpha=0.0), image)


@dtypes
@kinds
def test_elastic_moves_pixels_but_keeps_shape(dtype, kind, make):
    image = make(dtype, kind)
    out = api.run("basic.elastic", image, alpha=60.0, sigma=4.0)
    assert out.shape == image.shape and not np.array_equal(out, image)


def test_elastic_field_is_smooth_so_content_stays_recognisable(make):
    image = make(np.float32, "gray")
    out = api.run("basic.elastic", image)  # defaults: alpha 34, sigma 4
    assert np.corrcoef(out.ravel(), image.ravel())[0, 1] > 0.8


@pytest.mark.parametrize(
    ("params", "name"),
    [({"sigma": -1.0}, "sigma"), ({"alpha": -1.0}, "alpha"), ({"seed": -1}, "seed")],
)
def test_elastic_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.elastic", make(), **params)


# -- color_mask -------------------------------------------------------------------------------


def reference_mask(rgb8: np.ndarray, hue_min, hue_max, sat_min, val_min):
    """Per-pixel colorsys (stdlib) HSV thresholds, and where round-off could decide (a tie)."""
    out = np.zeros(rgb8.shape[:2], np.uint8)
    tie = np.zeros(rgb8.shape[:2], bool)
    for (i, j), _ in np.ndenumerate(out):
        h, s, v = colorsys.rgb_to_hsv(*(rgb8[i, j, :3] / 255.0))
        h *= 360
        in_hue = hue_min <= h <= hue_max if hue_min <= hue_max else h >= hue_min or h <= hue_max
        out[i, j] = in_hue and s >= sat_min and v >= val_min
        near = np.subtract([h, h, s, v], [hue_min, hue_max, sat_min, val_min])
        tie[i, j] = np.abs(near).min() < 1e-9
    return out, tie


@pytest.mark.parametrize(("hue_min", "hue_max"), [(0.0, 30.0), (20.0, 60.0), (300.0, 20.0)])
def test_color_mask_matches_hsv_thresholds(hue_min, hue_max, make):
    image = make(np.uint8, "rgb")
    out = api.run(
        "basic.color_mask", image, hue_min=hue_min, hue_max=hue_max, sat_min=0.3, val_min=0.2
    )
    expected, tie = reference_mask(image, hue_min, hue_max, 0.3, 0.2)
    assert out.shape == image.shape[:2] and np.issubdtype(out.dtype, np.integer)
    assert 0 < expected.sum() and np.array_equal(out[~tie], expected[~tie])


def test_color_mask_wraps_hue_range_around_red():
    hues = np.array([350.0, 10.0, 180.0, 90.0])
    rgb = np.array([[colorsys.hsv_to_rgb(h / 360, 1.0, 1.0) for h in hues]], np.float32)
    out = api.run("basic.color_mask", rgb, hue_min=340.0, hue_max=20.0)
    assert out.tolist() == [[1, 1, 0, 0]]


@dtypes
def test_color_mask_is_zero_one_for_every_dtype(dtype, make):
    out = api.run("basic.color_mask", make(dtype, "rgb"))
    assert set(np.unique(out).tolist()) == {0, 1}


def test_color_mask_rejects_gray_image_naming_image(make):
    with pytest.raises(ValueError, match="image"):
        api.run("basic.color_mask", make(np.uint8, "gray"))


@pytest.mark.parametrize(
    ("params", "name"), [({"hue_max": 400.0}, "hue_max"), ({"sat_min": 1.5}, "sat_min")]
)
def test_color_mask_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("basic.color_mask", make(), **params)
