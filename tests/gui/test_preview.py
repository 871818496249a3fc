"""Preview proxies of the seeded segmentations: the whole layer, downscaled, strokes kept."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.gui.preview import SEEDED_PREVIEW_PIXELS, downscale, downscale_seeds, make_proxy


def test_seeded_ops_preview_the_whole_layer_downscaled_keeping_one_pixel_strokes():
    image = np.random.default_rng(0).integers(0, 256, (1000, 1200), dtype=np.uint8)
    seeds = np.zeros(image.shape, np.int32)
    seeds[100, 50:1100] = 1  # one pixel wide: plain nearest sampling would mostly miss it
    seeds[50:950, 907] = 2
    spec = api.get_operation("segment.random_walker")
    proxy = make_proxy(spec, {"image": image, "seeds": seeds}, (0, 100, 0, 100))
    small, small_seeds = proxy.inputs["image"], proxy.inputs["seeds"]
    assert proxy.region is None and proxy.scale < 1  # not the visible 100 x 100 crop
    assert small.size <= SEEDED_PREVIEW_PIXELS["segment.random_walker"]
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
    import imgstudio.api as api
    from imgstudio.gui.preview import make_proxy

    spec = api.get_operation("enhance.seamless_clone")
    big = np.zeros((2000, 3000, 3), np.uint8)
    proxy = make_proxy(spec, {"image": big, "source": big[:100, :100], "mask": None},
                       (100, 400, 200, 700))
    assert proxy.inputs["image"] is big and proxy.scale == 1.0
