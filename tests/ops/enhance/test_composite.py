"""enhance.seamless_clone (against cv2.seamlessClone called directly), enhance.pyramid_blend and
enhance.focus_stack (imgstudio.ops.enhance.composite; measured properties on skimage.data
images)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

import imgstudio.api as api
from tests.ops.enhance.helpers import assert_close, bgr, camera, unit
from tests.ops.helpers import convert, dtypes


def test_layer_inputs_have_the_catalog_kinds():
    spec = api.get_operation("enhance.seamless_clone")
    assert spec.input("mask").optional and not spec.input("source").optional
    assert api.get_operation("enhance.focus_stack").input("images").many
    assert not api.get_operation("enhance.pyramid_blend").input("mask").optional


FLAGS = {"normal": cv2.NORMAL_CLONE, "mixed": cv2.MIXED_CLONE,
         "monochrome": cv2.MONOCHROME_TRANSFER}


@pytest.fixture(scope="module")
def scene():
    """Destination (coffee, 100×150) and source (chelsea's face, 40×50) uint8 RGB, and an
    elliptic 0/1 mask over the source."""
    dst = np.ascontiguousarray(skimage.data.coffee()[::4, ::4][:100, :150])
    src = np.ascontiguousarray(skimage.data.chelsea()[60:220:4, 100:300:4])
    yy, xx = np.mgrid[:40, :50]
    mask = ((((yy - 20) / 16.0) ** 2 + ((xx - 24) / 21.0) ** 2) <= 1).astype(np.int32)
    return dst, src, mask


def cv2_clone(dst, src, mask, centre, mode):
    out = cv2.seamlessClone(bgr(src), bgr(dst), (mask != 0).astype(np.uint8) * 255, centre,
                            FLAGS[mode])
    return bgr(out)


# -- seamless clone ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(FLAGS))
def test_seamless_clone_is_bit_exact_cv2(mode, scene):
    dst, src, mask = scene
    out = api.run("enhance.seamless_clone", dst, source=src, mask=mask, center_x=60,
                  center_y=45, mode=mode)
    assert_close(out, cv2_clone(dst, src, mask, (60, 45), mode))


@pytest.mark.parametrize("mode", ["normal", "mixed"])
def test_seamless_clone_defaults_whole_source_at_the_centre(mode, scene):
    dst, src, _ = scene
    out = api.run("enhance.seamless_clone", dst, src, mode=mode)
    expected = cv2_clone(dst, src, np.ones(src.shape[:2]), (75, 50), mode)
    assert_close(out, expected)


def test_seamless_clone_on_grey_images_equals_cv2_on_stacked_grey(scene):
    dst, src, mask = scene
    g_dst, g_src = cv2.cvtColor(dst, cv2.COLOR_RGB2GRAY), cv2.cvtColor(src, cv2.COLOR_RGB2GRAY)
    out = api.run("enhance.seamless_clone", g_dst, g_src, mask, center_x=70, center_y=50)
    stacked = cv2.seamlessClone(cv2.merge([g_src] * 3), cv2.merge([g_dst] * 3),
                                mask.astype(np.uint8) * 255, (70, 50), cv2.NORMAL_CLONE)
    assert np.array_equal(stacked[..., 0], stacked[..., 2])  # channels stay identical
    assert_close(out, stacked[..., 0])


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_seamless_clone_high_precision_keeps_untouched_pixels_exactly(dtype, scene):
    dst, src, mask = scene
    rng = np.random.default_rng(0)
    # a destination with sub-8-bit detail, to see that it survives where nothing was pasted
    hi = np.clip(unit(dst) + rng.uniform(-1.5, 1.5, dst.shape) / 255, 0, 1)
    dst_hi = (np.rint(hi * 65535).astype(np.uint16) if dtype == np.uint16
              else hi.astype(np.float32))
    out = api.run("enhance.seamless_clone", dst_hi, convert(src, dtype), mask, center_x=60,
                  center_y=45)
    out8 = api.run("enhance.seamless_clone", np.rint(hi * 255).astype(np.uint8), src, mask,
                   center_x=60, center_y=45)
    changed = out8 != np.rint(hi * 255).astype(np.uint8)
    assert np.array_equal(out[~changed], dst_hi[~changed])
    # where OpenCV changed pixels the result follows the 8-bit one within the rounding of dst
    assert np.abs(unit(out) - out8 / 255.0)[changed].max() <= 0.5 / 255 + 1e-6


def test_seamless_clone_keeps_destination_alpha(scene):
    dst, src, mask = scene
    rgba = np.dstack([dst, np.full(dst.shape[:2], 200, np.uint8)])
    out = api.run("enhance.seamless_clone", rgba, src, mask, center_x=60, center_y=45)
    assert np.array_equal(out[..., 3], rgba[..., 3])
    assert np.array_equal(out[..., :3], cv2_clone(dst, src, mask, (60, 45), "normal"))


def test_seamless_clone_accepts_the_extreme_centres(scene):
    """The box of the ellipse mask is 42×32 px: centre_x in [21, 150 - 42 + 21]."""
    dst, src, mask = scene
    inner = mask.copy()
    inner[[0, -1], :] = 0
    inner[:, [0, -1]] = 0
    rows, cols = np.flatnonzero(inner.any(1)), np.flatnonzero(inner.any(0))
    bh, bw = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    for cx, cy in [(bw // 2, bh // 2), (150 - bw + bw // 2, 100 - bh + bh // 2)]:
        out = api.run("enhance.seamless_clone", dst, src, mask, center_x=cx, center_y=cy)
        assert_close(out, cv2_clone(dst, src, mask, (cx, cy), "normal"))


@pytest.mark.parametrize(
    ("params", "name"),
    [({"center_x": 10, "center_y": 50}, "center_x"), ({"center_x": 140, "center_y": 50}, "center_x"),
     ({"center_x": 75, "center_y": 5}, "center_y"), ({"center_x": 75, "center_y": 95}, "center_y")],
)
def test_seamless_clone_bad_params_centre_that_does_not_fit(params, name, scene):
    dst, src, mask = scene
    with pytest.raises(ValueError, match=name):
        api.run("enhance.seamless_clone", dst, src, mask, **params)


def test_seamless_clone_source_larger_than_destination_does_not_fit(scene):
    dst, src, _ = scene
    with pytest.raises(ValueError, match="center_x"):
        api.run("enhance.seamless_clone", src, dst)


def test_seamless_clone_rejects_bad_masks(scene):
    dst, src, mask = scene
    with pytest.raises(ValueError, match="mask"):
        api.run("enhance.seamless_clone", dst, src, mask[:-1])
    with pytest.raises(ValueError, match="mask"):
        api.run("enhance.seamless_clone", dst, src, np.zeros_like(mask))
    tiny = np.zeros_like(mask)
    tiny[10:12, 10:30] = 1  # 2 px high: too thin for OpenCV's solver
    with pytest.raises(ValueError, match="mask"):
        api.run("enhance.seamless_clone", dst, src, tiny)
    with pytest.raises(ValueError, match="mode"):
        api.run("enhance.seamless_clone", dst, src, mask, mode="overlay")


# -- pyramid blend ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def halves():
    """Two different 128×192 RGB images and a mask of the left half."""
    a = np.ascontiguousarray(skimage.data.astronaut()[::4, ::2][:128, :192])
    b = np.ascontiguousarray(skimage.data.coffee()[::3, ::3][:128, :192])
    mask = np.zeros((128, 192), np.int32)
    mask[:, :96] = 1
    return a, b, mask


@dtypes
def test_pyramid_blend_keeps_each_image_away_from_the_seam(dtype, halves):
    """With 4 levels the coarsest level spreads over ~16 px; beyond 40 px from the seam the
    result equals the image on its side within 1 % of the range (measured: exact beyond
    ~24 px)."""
    a, b, mask = (convert(halves[0], dtype), convert(halves[1], dtype), halves[2])
    out = api.run("enhance.pyramid_blend", a, b, mask, levels=4)
    assert np.abs(unit(out)[:, :56] - unit(a)[:, :56]).max() < 0.01
    assert np.abs(unit(out)[:, 136:] - unit(b)[:, 136:]).max() < 0.01


def test_pyramid_blend_transition_is_smooth():
    """White blended onto black: the profile rises monotonically over many pixels instead of
    the single-pixel jump of a plain cut."""
    white, black = np.full((64, 256), 255, np.uint8), np.zeros((64, 256), np.uint8)
    mask = np.zeros((64, 256), np.int32)
    mask[:, 128:] = 1
    out = api.run("enhance.pyramid_blend", white, black, mask, levels=5)
    profile = out[32].astype(int)
    assert np.all(np.diff(profile) >= 0)
    assert np.diff(profile).max() < 40  # no step bigger than 16 % of the jump
    assert profile[0] == 0 and profile[-1] == 255
    assert np.count_nonzero((profile > 5) & (profile < 250)) >= 16


def test_pyramid_blend_with_one_level_is_a_plain_cut(halves):
    a, b, mask = halves
    out = api.run("enhance.pyramid_blend", a, b, mask, levels=1)
    assert np.array_equal(out, np.where(mask[..., None] == 1, a, b))


def test_pyramid_blend_handles_other_dtype_and_alpha(halves):
    a, b, mask = halves
    rgba = np.dstack([a, np.full(a.shape[:2], 255, np.uint8)])
    out = api.run("enhance.pyramid_blend", rgba, convert(b, np.float32), mask, levels=3)
    expected = api.run("enhance.pyramid_blend", a, b, mask, levels=3)
    assert out.shape == rgba.shape and np.array_equal(out[..., 3], rgba[..., 3])
    assert np.abs(out[..., :3].astype(int) - expected).max() <= 1


@pytest.mark.parametrize("what", ["other", "mask", "grey"])
def test_pyramid_blend_bad_params_size_mismatch_names_the_input(what, halves):
    a, b, mask = halves
    if what == "other":
        b = b[:-1]
    elif what == "mask":
        mask = mask[:, :-1]
    else:
        b = b[..., 0].copy()
    with pytest.raises(ValueError, match="other" if what == "grey" else what):
        api.run("enhance.pyramid_blend", a, b, mask)


def test_pyramid_blend_bad_params_name_levels(halves):
    with pytest.raises(ValueError, match="levels"):
        api.run("enhance.pyramid_blend", *halves, levels=0)


# -- focus stack ------------------------------------------------------------------------------


def half_blurred(image: np.ndarray):
    blurred = cv2.GaussianBlur(image, (0, 0), 2.5)
    w = image.shape[1] // 2
    left, right = image.copy(), image.copy()
    left[:, :w] = blurred[:, :w]  # sharp on the right
    right[:, w:] = blurred[:, w:]  # sharp on the left
    return left, right


@dtypes
def test_focus_stack_is_closer_to_the_sharp_original_than_either_layer(dtype):
    """MSE of the stack is below a tenth of the better layer's (measured 1/47)."""
    sharp = convert(camera(), dtype)
    layers = half_blurred(sharp)
    out = api.run("enhance.focus_stack", list(layers))
    mse = lambda x: np.mean((unit(x) - unit(sharp)) ** 2)  # noqa: E731
    assert mse(out) < 0.1 * min(mse(layer) for layer in layers)


def test_focus_stack_rgb_takes_whole_pixels_from_the_layers(astronaut_small):
    layers = half_blurred(astronaut_small)
    out = api.run("enhance.focus_stack", list(layers))
    from_first = np.all(out == layers[0], axis=-1)
    from_second = np.all(out == layers[1], axis=-1)
    assert np.all(from_first | from_second)
    # deep inside each sharp half the sharp layer wins
    assert from_second[:, 8:40].mean() > 0.95 and from_first[:, 56:88].mean() > 0.95


def test_focus_stack_of_one_image_is_a_copy(astronaut_small):
    out = api.run("enhance.focus_stack", [astronaut_small])
    assert np.array_equal(out, astronaut_small) and not np.shares_memory(out, astronaut_small)


@pytest.mark.parametrize(
    ("images", "name"),
    [([np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8)], r"images\[1\]"),
     ([np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint16)], r"images\[1\]"),
     ([], "images")],
)
def test_focus_stack_bad_params_mismatched_layers_name_images(images, name):
    with pytest.raises(ValueError, match=name):
        api.run("enhance.focus_stack", images)


def test_focus_stack_bad_params_sigma(astronaut_small):
    with pytest.raises(ValueError, match="sigma"):
        api.run("enhance.focus_stack", [astronaut_small], sigma=-1.0)
