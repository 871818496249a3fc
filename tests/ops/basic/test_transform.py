"""Geometric operations (imgstudio.ops.basic.transform): crop, resize, rotate, flip,
perspective, affine and elastic, against numpy, OpenCV and scikit-image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.transform

import imgstudio.api as api
from imgstudio.ops import basic
from tests.ops.basic.helpers import DST3, QUAD, SRC3, assert_close, to_dtype
from tests.ops.helpers import TOP, dtypes, kinds

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
