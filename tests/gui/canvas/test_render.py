"""Qt-free canvas rendering (imgstudio.gui.canvas.render): conversion, windowing, blending,
sampling geometry."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from imgstudio.gui.canvas.render import (
    BLEND_MODES,
    Patch,
    Renderer,
    RenderLayer,
    Viewport,
    default_window,
    to_uint8,
)
from imgstudio.gui.palette_colors import (
    LABEL_ALPHA,
    LABEL_COLORS,
    label_color,
    palette_index,
    palette_indices,
)
from tests.gui.canvas.helpers import RNG, rgb


def render(layers, zoom=1.0, x=0.0, y=0.0, size=(40, 30)):
    """Render at ``zoom`` with the image origin at output (x, y); size = (width, height)."""
    frame = Renderer().render(layers, Viewport(zoom, x, y, *size))
    return frame


def reference_composite(layers):
    """W3C compositing in float64, straight alpha, bottom to top over transparent."""
    h, w = layers[0][0].shape[:2]
    cb, ab = np.zeros((h, w, 3)), np.zeros((h, w))
    for rgba, opacity, mode in layers:
        cs = rgba[..., :3] / 255.0
        a_s = (rgba[..., 3] / 255.0 if rgba.shape[2] == 4 else np.ones((h, w))) * opacity
        if mode == "normal":
            b = cs
        elif mode == "multiply":
            b = cb * cs
        elif mode == "screen":
            b = cb + cs - cb * cs
        elif mode == "overlay":
            b = np.where(cb <= 0.5, 2 * cb * cs, 1 - 2 * (1 - cb) * (1 - cs))
        elif mode == "difference":
            b = np.abs(cb - cs)
        else:
            b = np.minimum(cb + cs, 1)
        mixed = (1 - ab)[..., None] * cs + ab[..., None] * b
        ao = a_s + ab * (1 - a_s)
        premul = a_s[..., None] * mixed + ((1 - a_s) * ab)[..., None] * cb
        cb = np.divide(premul, ao[..., None], out=np.zeros_like(premul),
                       where=ao[..., None] > 0)
        ab = ao
    return np.round(cb * 255), np.round(ab * 255)


# -- conversion ---------------------------------------------------------------------------------


def test_uint8_rgb_at_zoom_1_is_the_data_itself():
    image = rgb()
    frame = render([RenderLayer("a", image)])
    assert (frame.x, frame.y) == (0, 0)
    np.testing.assert_array_equal(frame.array, image)


def test_gray_uint8_shows_as_equal_channels():
    gray = rgb()[..., 0].copy()
    frame = render([RenderLayer("a", gray)])
    np.testing.assert_array_equal(frame.array, np.dstack([gray] * 3))


def test_uint16_uses_percentile_window_by_default():
    data = np.linspace(1000, 3000, 30 * 40).reshape(30, 40).astype(np.uint16)
    lo, hi = default_window(data)
    assert lo == pytest.approx(np.percentile(data, 0.5))
    assert hi == pytest.approx(np.percentile(data, 99.5))
    frame = render([RenderLayer("a", data)])
    expected = np.clip(np.round((data - lo) * 255 / (hi - lo)), 0, 255)
    assert np.abs(frame.array[..., 0].astype(int) - expected).max() <= 1


def test_explicit_window_maps_lo_to_black_and_hi_to_white():
    data = np.array([[0, 100, 150, 200, 60000]], np.uint16)
    out = to_uint8(data, (100, 200)).astype(int)
    assert np.abs(out - [[0, 0, 127.5, 255, 255]]).max() <= 0.5


def test_renderer_window_can_be_fixed_per_layer():
    data = np.full((30, 40), 500, np.uint16)
    r = Renderer()
    r.set_window("a", (0, 1000))
    frame = r.render([RenderLayer("a", data)], Viewport(1, 0, 0, 40, 30))
    assert abs(int(frame.array[0, 0, 0]) - 128) <= 1
    with pytest.raises(ValueError, match="window"):
        r.set_window("a", (5, 5))


def test_float_window_is_0_to_1_clipped_and_nan_is_black():
    data = np.array([[-0.5, 0.0, 0.5, 1.0, 2.0, np.nan]], np.float32)
    assert default_window(data) == (0.0, 1.0)
    out = to_uint8(data, (0.0, 1.0)).astype(int)
    assert np.abs(out - [[0, 0, 127.5, 255, 255, 0]]).max() <= 0.5


def test_rgba_image_alpha_is_used():
    image = rgb(channels=4)
    frame = render([RenderLayer("a", image)])
    assert frame.array.shape[2] == 4
    np.testing.assert_array_equal(frame.array[..., 3], image[..., 3])
    ok = image[..., 3] > 0
    assert np.abs(frame.array[..., :3][ok].astype(int) - image[..., :3][ok]).max() <= 1


# -- labels -------------------------------------------------------------------------------------
def test_labels_get_palette_colours_and_0_is_transparent():
    labels = np.zeros((30, 40), np.int32)
    labels[5:10, 5:10] = 1
    labels[20:25, 30:35] = 2
    frame = render([RenderLayer("l", labels, kind="labels")])
    out = frame.array
    assert out.shape == (30, 40, 4)
    assert out[7, 7, 3] == round(LABEL_ALPHA * 255)
    np.testing.assert_array_equal(out[7, 7, :3], label_color(1))
    np.testing.assert_array_equal(out[22, 32, :3], label_color(2))
    assert out[0, 0, 3] == 0 and out[15, 20, 3] == 0


def test_labels_over_image_blend_with_label_alpha_times_opacity():
    image = rgb()
    labels = np.zeros((30, 40), np.int32)
    labels[10:20, 10:20] = 3
    frame = render([RenderLayer("a", image), RenderLayer("l", labels, "labels", opacity=0.5)])
    a = LABEL_ALPHA * 0.5
    expected = np.round(image[15, 15] * (1 - a) + np.array(LABEL_COLORS[3]) * a)
    assert np.abs(frame.array[15, 15].astype(int) - expected).max() <= 1
    np.testing.assert_array_equal(frame.array[0, 0], image[0, 0])


def test_large_and_negative_labels_cycle_through_the_palette():
    values = np.array([0, 1, 255, 256, 510, 511, -1, 100000])
    expected = [palette_index(v) for v in values]
    assert expected[:6] == [0, 1, 255, 1, 255, 1]
    np.testing.assert_array_equal(palette_indices(values), expected)
    np.testing.assert_array_equal(palette_indices(values.astype(np.int32)), expected)


def test_int64_labels_render_like_int32_labels():
    labels = RNG.integers(0, 5, (30, 40))
    a = render([RenderLayer("l", labels.astype(np.int32), "labels")], zoom=2.5, x=-3.5)
    b = render([RenderLayer("l", labels.astype(np.int64), "labels")], zoom=2.5, x=-3.5)
    np.testing.assert_array_equal(a.array, b.array)


# -- blending -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", BLEND_MODES)
@pytest.mark.parametrize("opacity", [1.0, 0.4])
def test_blend_mode_matches_reference(mode, opacity):
    bottom, top = rgb(), rgb(channels=4)
    top[..., 3][:5] = 255
    frame = render([RenderLayer("a", bottom),
                    RenderLayer("b", top, opacity=opacity, blend_mode=mode)])
    expected, alpha = reference_composite([(bottom, 1.0, "normal"), (top, opacity, mode)])
    assert frame.array.shape[2] == 3 and (alpha == 255).all()
    assert np.abs(frame.array.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("mode", ["normal", "multiply", "difference"])
def test_blend_over_semi_transparent_backdrop_matches_reference(mode):
    bottom, top = rgb(channels=4), rgb(channels=4)
    frame = render([RenderLayer("a", bottom, opacity=0.8),
                    RenderLayer("b", top, opacity=0.7, blend_mode=mode)])
    expected, alpha = reference_composite([(bottom, 0.8, "normal"), (top, 0.7, mode)])
    assert frame.array.shape[2] == 4
    assert np.abs(frame.array[..., 3].astype(int) - alpha).max() <= 1
    visible = alpha > 20  # colour of nearly transparent pixels is ill-conditioned
    assert np.abs(frame.array[..., :3].astype(int) - expected)[visible].max() <= 1


def test_opacity_of_a_single_layer_gives_alpha():
    image = rgb()
    frame = render([RenderLayer("a", image, opacity=0.5)])
    assert frame.array.shape[2] == 4
    assert (np.abs(frame.array[..., 3].astype(int) - 128) <= 1).all()
    np.testing.assert_array_equal(frame.array[..., :3], image)


def test_rendering_never_modifies_layer_data():
    bottom, labels = rgb(), np.zeros((30, 40), np.int32)
    labels[3:9, 3:9] = 2
    before = bottom.copy()
    render([RenderLayer("a", bottom), RenderLayer("l", labels, "labels"),
            RenderLayer("c", rgb(channels=4), blend_mode="screen")])
    np.testing.assert_array_equal(bottom, before)


# -- geometry -----------------------------------------------------------------------------------
def test_zoom_in_is_nearest_neighbour_repeat():
    image = rgb(10, 12)
    frame = render([RenderLayer("a", image)], zoom=3, size=(36, 30))
    np.testing.assert_array_equal(frame.array, image.repeat(3, 0).repeat(3, 1))


def test_only_the_visible_part_is_rendered_at_screen_size():
    image = rgb(300, 400)
    frame = render([RenderLayer("a", image)], zoom=2, x=-100, y=-50, size=(64, 48))
    assert frame.array.shape == (48, 64, 3) and (frame.x, frame.y) == (0, 0)
    np.testing.assert_array_equal(frame.array, image[25:49, 50:82].repeat(2, 0).repeat(2, 1))


def test_subpixel_offset_picks_the_pixel_under_each_output_centre():
    image = rgb(10, 12)
    z, x0 = 2.5, -3.7
    frame = render([RenderLayer("a", image)], zoom=z, x=x0, size=(20, 10))
    cols = np.floor((np.arange(frame.array.shape[1]) + frame.x + 0.5 - x0) / z).astype(int)
    rows = np.floor((np.arange(frame.array.shape[0]) + frame.y + 0.5) / z).astype(int)
    np.testing.assert_array_equal(frame.array, image[rows][:, cols])


def test_zoom_quarter_uses_pyramid_and_matches_inter_area():
    image = cv2.GaussianBlur(rgb(256, 320), (0, 0), 2)
    frame = render([RenderLayer("a", image)], zoom=0.25, size=(80, 64))
    expected = cv2.resize(image, (80, 64), interpolation=cv2.INTER_AREA)
    assert frame.array.shape == (64, 80, 3)
    assert np.abs(frame.array.astype(int) - expected).max() <= 1


def test_fractional_zoom_out_is_close_to_area_average():
    image = cv2.GaussianBlur(rgb(300, 400), (0, 0), 4)
    frame = render([RenderLayer("a", image)], zoom=0.3, size=(120, 90))
    expected = cv2.resize(image, (120, 90), interpolation=cv2.INTER_AREA)
    assert np.abs(frame.array.astype(int) - expected).mean() < 1.0


def test_zoom_out_with_fractional_offset_matches_the_aligned_render_shifted():
    image = cv2.GaussianBlur(rgb(300, 400), (0, 0), 4)
    a = render([RenderLayer("a", image)], zoom=0.6, x=0.0, size=(240, 180))
    b = render([RenderLayer("a", image)], zoom=0.6, x=-30 * 0.6, size=(240, 180))
    # 30 image px to the left is 18 output px: same pixels, shifted
    assert np.abs(a.array[:, 18:].astype(int) - b.array[:, : a.array.shape[1] - 18]).max() <= 2


def test_renderer_rebuilds_pyramid_when_data_is_replaced():
    r = Renderer()
    a, b = rgb(64, 64), rgb(64, 64)
    vp = Viewport(0.5, 0, 0, 32, 32)
    first = r.render([RenderLayer("k", a)], vp).array.copy()
    second = r.render([RenderLayer("k", b)], vp).array
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(second, cv2.resize(b, (32, 32), interpolation=cv2.INTER_AREA))


def test_viewport_visible_region_is_clipped_to_the_image():
    vp = Viewport(2.0, -100.0, 10.0, 200, 100)
    assert vp.visible_region((300, 400)) == (0, 45, 50, 150)
    assert Viewport(1.0, 0, 0, 1000, 1000).visible_region((30, 40)) == (0, 30, 0, 40)


def test_patch_replaces_pixels_only_inside_its_region():
    image, patch = rgb(), np.zeros((10, 20, 3), np.uint8)
    frame = render([RenderLayer("a", image, patch=Patch("p", patch, (5, 15, 10, 30)))])
    assert (frame.array[5:15, 10:30] == 0).all()
    np.testing.assert_array_equal(frame.array[:5], image[:5])
    np.testing.assert_array_equal(frame.array[15:], image[15:])


def test_extent_stretches_a_reduced_proxy_over_the_image():
    proxy = rgb(15, 20)
    frame = render([RenderLayer("a", proxy, extent=(0, 30, 0, 40))])
    np.testing.assert_array_equal(frame.array, proxy.repeat(2, 0).repeat(2, 1))


def test_render_is_qt_free():
    import subprocess

    code = ("import sys, imgstudio.gui.canvas.render, imgstudio.gui.canvas.scene; "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_outline_keeps_only_boundary_pixels():
    from imgstudio.gui.canvas.render import outline

    labels = np.zeros((7, 9), np.int32)
    labels[1:6, 2:8] = 4
    out = outline(labels)
    inner = np.zeros_like(labels, bool)
    inner[2:5, 3:7] = True
    assert not out[inner].any()
    ring = (labels == 4) & ~inner
    assert (out[ring] == 4).all()


def test_float_data_outside_unit_range_gets_a_percentile_window():
    from imgstudio.gui.canvas.render import default_window

    distances = np.linspace(0, 40, 10000, dtype=np.float32).reshape(100, 100)
    lo, hi = default_window(distances)
    assert 0 <= lo < 1 and 39 < hi <= 40
    assert default_window(np.full((4, 4), 0.5, np.float32)) == (0.0, 1.0)
