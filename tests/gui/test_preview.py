"""Preview proxies, as each op's spec declares them: the visible region, the whole layer
downscaled (seeded segmentations: strokes kept), or the whole layer at full resolution."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.types import Region
from imgstudio.gui.preview import WHOLE_MAX_PIXELS, downscale, downscale_seeds, make_proxy


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
