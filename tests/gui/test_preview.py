"""Preview proxies, as each op's spec declares them: the visible region, the whole layer
downscaled (seeded segmentations: strokes kept), or the whole layer at full resolution."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.invoke import Invocation
from imgstudio.core.io import save_image
from imgstudio.core.types import Region
from imgstudio.gui.preview import (
    PREVIEW_MARGIN,
    SCREEN_OVERSAMPLE,
    WHOLE_MAX_PIXELS,
    downscale,
    downscale_seeds,
    make_proxy,
    screen_zoom,
    trim,
)
from tests.gui.canvas_events import grab_color


def test_seeded_ops_preview_the_whole_layer_downscaled_keeping_one_pixel_strokes():
    image = np.random.default_rng(0).integers(0, 256, (1000, 1200), dtype=np.uint8)
    seeds = np.zeros(image.shape, np.int32)
    seeds[100, 50:1100] = 1  # one pixel wide: plain nearest sampling would mostly miss it
    seeds[50:950, 907] = 2
    spec = api.get_operation("segment.random_walker")
    proxy = make_proxy(spec, {"image": image, "seeds": seeds}, (0, 100, 0, 100))
    small, small_seeds = proxy.inputs["image"], proxy.inputs["seeds"]
    assert proxy.region is None and proxy.scale < 1  # not the visible 100 x 100 crop
    assert small.size <= spec.editor.preview_pixels < WHOLE_MAX_PIXELS
    assert small_seeds.shape == small.shape == downscale(image, proxy.scale).shape
    assert (small_seeds == 1).sum() >= small.shape[1] * 0.8
    assert (small_seeds == 2).sum() >= small.shape[0] * 0.8


def test_small_layers_of_seeded_ops_preview_at_full_resolution():
    image = np.zeros((120, 160), np.uint8)
    mask = np.ones((120, 160), np.int32)
    proxy = make_proxy(api.get_operation("segment.grabcut"), {"image": image, "mask": mask},
                       (10, 20, 10, 20))
    assert proxy.region is None and proxy.scale == 1 and proxy.inputs["mask"] is mask


def test_a_watershed_without_markers_previews_the_visible_region():
    image = np.zeros((300, 400), np.uint8)
    proxy = make_proxy(api.get_operation("segment.watershed"), {"image": image, "markers": None},
                       (100, 200, 100, 200))
    assert proxy.region == (100, 200, 100, 200)


@pytest.mark.parametrize("scale", [0.5, 0.3, 0.137])
def test_downscale_seeds_is_the_maximum_over_each_block(scale):
    labels = np.random.default_rng(1).integers(0, 6, (97, 131)).astype(np.int32)
    labels[labels < 4] = 0
    out = downscale_seeds(labels, scale)
    rows = np.minimum((np.arange(out.shape[0]) / scale).astype(int), 96)
    cols = np.minimum((np.arange(out.shape[1]) / scale).astype(int), 130)
    rows_end, cols_end = list(rows[1:]) + [97], list(cols[1:]) + [131]
    expected = np.array([[labels[r0:r1, c0:c1].max() for c0, c1 in zip(cols, cols_end, strict=True)]
                         for r0, r1 in zip(rows, rows_end, strict=True)])
    np.testing.assert_array_equal(out, expected)
    assert out.shape == downscale(labels, scale, labels=True).shape


def test_ops_placed_by_centre_preview_the_whole_layer_unscaled():
    spec = api.get_operation("enhance.seamless_clone")
    big = np.zeros((2000, 3000, 3), np.uint8)
    proxy = make_proxy(spec, {"image": big, "source": big[:100, :100], "mask": None},
                       (100, 400, 200, 700))
    assert proxy.inputs["image"] is big and proxy.scale == 1.0


def test_a_reference_image_is_never_cropped_with_the_view():
    image = np.zeros((400, 500, 3), np.uint8)
    reference = np.ones((400, 500, 3), np.uint8)
    for op_id, name in [("enhance.histogram_match", "reference"), ("faces.align", "reference"),
                        ("faces.overlay", "overlay")]:
        spec = api.get_operation(op_id)
        assert not spec.input(name).aligned
        proxy = make_proxy(spec, {"image": image, name: reference}, Region(10, 60, 20, 90))
        assert proxy.inputs[name] is reference, op_id


def test_aligned_inputs_are_cropped_with_the_image():
    image = np.arange(300 * 400, dtype=np.uint16).reshape(300, 400)
    other = image[::-1].copy()
    mask = np.zeros((300, 400), np.int32)
    spec = api.get_operation("enhance.pyramid_blend")
    assert spec.input("other").aligned and spec.input("mask").aligned
    proxy = make_proxy(spec, {"image": image, "other": other, "mask": mask},
                       Region(100, 150, 100, 180))
    box = proxy.region.grow(32, image.shape)
    assert np.array_equal(proxy.inputs["image"], image[box.slices])
    assert np.array_equal(proxy.inputs["other"], other[box.slices])
    assert proxy.inputs["mask"].shape == proxy.inputs["image"].shape


@pytest.mark.parametrize("op_id", ["basic.rotate", "basic.crop", "basic.resize",
                                   "basic.perspective"])
def test_geometry_ops_preview_the_whole_layer_at_full_resolution(op_id):
    spec = api.get_operation(op_id)
    assert spec.preview_mode({"image", "corners"}) == "exact"
    assert spec.editor.geometry or any(i.kind.value == "points" for i in spec.inputs)


def test_ops_without_a_layer_input_or_on_a_list_only_apply():
    for op_id in ("search.index", "enhance.focus_stack", "register.stitch"):
        assert api.get_operation(op_id).preview_mode() == "apply", op_id


# -- region previews follow the screen pixels shown ------------------------------------------
BIG = (4000, 6000)


@pytest.fixture(scope="module")
def big_image():
    return np.zeros((*BIG, 3), np.uint8)


def test_a_zoomed_out_big_image_previews_at_about_screen_resolution(big_image):
    """6000 × 4000 seen whole at 13 % in a 1900 × 1000 view: 780 × 520 screen pixels."""
    spec = api.get_operation("enhance.nl_means")
    proxy = make_proxy(spec, {"image": big_image}, Region(0, 4000, 0, 6000), zoom=0.13)
    crop = proxy.inputs["image"]
    assert proxy.region == (0, 4000, 0, 6000) and proxy.scale == pytest.approx(0.13)
    assert 0.3e6 <= crop.shape[0] * crop.shape[1] <= 0.6e6
    assert trim(crop, proxy, crop).shape == crop.shape  # no margin beyond the image edges


def test_a_zoom_one_view_previews_at_full_resolution_with_its_margin(big_image):
    spec = api.get_operation("enhance.nl_means")
    view = Region(1500, 2500, 2000, 3900)  # 1900 × 1000 at 1:1
    proxy = make_proxy(spec, {"image": big_image}, view, zoom=1.0)
    assert proxy.scale == 1.0 and proxy.region == view
    assert proxy.inputs["image"].shape[:2] == (1000 + 64, 1900 + 64)
    assert trim(proxy.inputs["image"], proxy, proxy.inputs["image"]).shape[:2] == (1000, 1900)
    zoomed_in = make_proxy(spec, {"image": big_image}, Region(0, 250, 0, 475), zoom=4.0)
    assert zoomed_in.scale == 1.0 and zoomed_in.inputs["image"].shape[:2] == (250 + 32, 475 + 32)


def test_a_panned_zoomed_out_view_keeps_a_margin_in_proxy_pixels():
    image = np.random.default_rng(2).integers(0, 256, (2000, 3000), dtype=np.uint8)
    spec = api.get_operation("enhance.nl_means")
    view = Region(500, 1500, 1000, 2500)  # 1500 × 1000 layer pixels on 750 × 500 screen pixels
    proxy = make_proxy(spec, {"image": image}, view, zoom=0.5)
    crop = proxy.inputs["image"]
    assert proxy.scale == 0.5
    assert crop.shape == (500 + 2 * PREVIEW_MARGIN, 750 + 2 * PREVIEW_MARGIN)
    assert trim(crop, proxy, crop).shape == (500, 750)
    # the margin is 64 layer pixels (even), so the 2 × 2 blocks line up with the view's
    assert np.array_equal(trim(crop, proxy, crop), downscale(image[view.slices], 0.5))


def test_the_proxy_never_holds_more_pixels_than_the_screen_times_the_oversample(big_image):
    spec = api.get_operation("enhance.nl_means")
    for zoom in (0.05, 0.13, 0.25, 0.5, 0.9):
        view = Region(0, 4000, 0, 6000)
        crop = make_proxy(spec, {"image": big_image}, view, zoom=zoom).inputs["image"]
        screen = view.height * view.width * zoom * zoom
        assert crop.shape[0] * crop.shape[1] <= screen * SCREEN_OVERSAMPLE ** 2 * 1.01, zoom


def test_whole_previews_keep_their_budget_whatever_the_zoom():
    image = np.zeros((1000, 1200), np.uint8)
    seeds = np.zeros(image.shape, np.int32)
    spec = api.get_operation("segment.random_walker")
    for zoom in (None, 0.05, 1.0):
        proxy = make_proxy(spec, {"image": image, "seeds": seeds}, (0, 1000, 0, 1200), zoom)
        assert proxy.region is None
        assert proxy.inputs["image"].size == pytest.approx(spec.editor.preview_pixels, rel=0.01)


def test_without_a_zoom_a_region_preview_is_at_full_resolution():
    image = np.zeros((600, 800), np.uint8)
    proxy = make_proxy(api.get_operation("enhance.nl_means"), {"image": image},
                       Region(0, 600, 0, 800))
    assert proxy.scale == 1.0 and proxy.inputs["image"].shape == (600, 800)


class _Target:
    def __init__(self, zoom, dpr=None):
        self.zoom = zoom
        if dpr is not None:
            self.devicePixelRatioF = lambda: dpr


def test_screen_zoom_counts_device_pixels():
    assert screen_zoom(_Target(0.25)) == 0.25
    assert screen_zoom(_Target(0.25, 2.0)) == 0.5
    assert screen_zoom(object()) is None and screen_zoom(_Target(0)) is None


def test_screen_zoom_reads_the_real_canvas(window, png):
    window.files.open_files([str(png)])
    window.canvas.set_zoom(0.5)
    assert screen_zoom(window.canvas) == pytest.approx(0.5 * window.canvas.devicePixelRatioF())


def test_a_zoomed_out_region_preview_covers_the_view_on_the_real_canvas(window, tmp_path,
                                                                       screenshot_dir):
    """A 2400 × 1600 image fitted in the window: the proxy holds about the screen pixels
    shown, and the canvas stretches the (inverted) result over the whole image."""
    image = np.zeros((1600, 2400, 3), np.uint8)
    image[:, 1200:] = 255
    save_image(tmp_path / "halves.png", image)
    window.files.open_files([str(tmp_path / "halves.png")])
    canvas = window.canvas
    canvas.fit()
    spec = api.get_operation("basic.invert")
    proxy = make_proxy(spec, {"image": image}, canvas.visible_region(), screen_zoom(canvas))
    crop = proxy.inputs["image"]
    zoom = screen_zoom(canvas)
    assert zoom < 1 and proxy.scale == pytest.approx(zoom)
    assert crop.shape[0] * crop.shape[1] <= 1600 * 2400 * zoom * zoom * 1.01
    result = trim(Invocation(spec, proxy.inputs, {}).run(), proxy, crop)
    canvas.set_preview(window.workspace.document[0], result, proxy.region)
    assert grab_color(canvas, 300, 800) == (255, 255, 255)  # black half, inverted
    assert grab_color(canvas, 2100, 800) == (0, 0, 0)
    canvas.grab().save(str(screenshot_dir / "preview_zoomed_out_region.png"))


def test_zoomed_out_region_proxies_trim_to_the_view_at_the_proxy_scale():
    """Any view and zoom: the trimmed result is the view at the proxy's scale (to a pixel)."""
    rng = np.random.default_rng(3)
    image = np.zeros((900, 1300), np.uint8)
    spec = api.get_operation("enhance.nl_means")
    for _ in range(200):
        y0, x0 = int(rng.integers(0, 850)), int(rng.integers(0, 1250))
        view = Region(y0, int(rng.integers(y0 + 1, 901)), x0, int(rng.integers(x0 + 1, 1301)))
        zoom = float(rng.uniform(0.02, 1.5))
        proxy = make_proxy(spec, {"image": image}, view, zoom)
        crop = proxy.inputs["image"]
        out = trim(crop, proxy, crop)
        assert proxy.region == view and 0 < proxy.scale <= 1
        assert abs(out.shape[0] - view.height * proxy.scale) <= 1.5, (view, zoom)
        assert abs(out.shape[1] - view.width * proxy.scale) <= 1.5, (view, zoom)
