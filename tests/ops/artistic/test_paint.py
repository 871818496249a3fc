"""artistic.stylize and artistic.stained_glass (imgstudio.ops.artistic.paint), against
cv2.stylization and SLIC cells of their mean colour."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.segmentation import find_boundaries, slic

import imgstudio.api as api
from tests.ops.artistic.helpers import as_uint8, scaled_from_uint8
from tests.ops.helpers import TOP, dtypes

# -- stylize (OpenCV NPR) ---------------------------------------------------------------------


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba"])
def test_stylize_equals_cv2_stylization(dtype, kind, make):
    image = make(dtype, kind)
    image8 = as_uint8(image)
    code = {"gray": cv2.COLOR_GRAY2BGR, "rgb": cv2.COLOR_RGB2BGR, "rgba": cv2.COLOR_RGBA2BGR}[kind]
    expected = cv2.stylization(cv2.cvtColor(image8, code), sigma_s=30.0, sigma_r=0.3)
    expected = cv2.cvtColor(expected, cv2.COLOR_BGR2GRAY if kind == "gray" else cv2.COLOR_BGR2RGB)
    out = api.run("artistic.stylize", image, sigma_s=30.0, sigma_r=0.3)
    assert out.shape == image.shape and out.dtype == dtype
    colour = out if kind == "gray" else out[..., :3]
    assert np.allclose(colour, scaled_from_uint8(expected, dtype), rtol=0, atol=1e-6)
    if kind == "rgba":
        assert np.array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(("params", "name"), [({"sigma_r": 2.0}, "sigma_r"),
                                              ({"sigma_s": 0.0}, "sigma_s")])
def test_stylize_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.stylize", make(), **params)


# -- stained glass ----------------------------------------------------------------------------


def reference_labels(image, cells):
    colour = image[..., :3] if image.ndim == 3 else image
    if colour.ndim == 2:
        scaled = colour.astype(np.float32) * np.float32(100.0 / TOP[colour.dtype])
        return slic(scaled, n_segments=cells, compactness=10.0, start_label=1, channel_axis=None)
    return slic(np.ascontiguousarray(colour), n_segments=cells, compactness=10.0, start_label=1)


@dtypes
@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_stained_glass_cells_are_their_mean_colour_with_black_borders(dtype, kind, make):
    image = make(dtype, kind)
    labels = reference_labels(image, 60)
    assert 30 <= len(np.unique(labels)) <= 90  # about `cells` cells
    borders = find_boundaries(labels, mode="thick")
    out = api.run("artistic.stained_glass", image, cells=60)
    plain = api.run("artistic.stained_glass", image, cells=60, border=False)
    assert out.dtype == dtype and out.shape == image.shape
    assert np.all(out[borders] == 0)
    assert np.array_equal(out[~borders], plain[~borders])
    for label in np.unique(labels):
        region = labels == label
        mean = image[region].astype(np.float64).mean(axis=0)
        expected = mean if dtype == np.float32 else np.rint(mean)
        assert np.allclose(plain[region], expected, rtol=0, atol=1e-6), label


def test_stained_glass_keeps_alpha_and_is_flat_inside_cells(make):
    image = make(np.uint8, "rgba")
    out = api.run("artistic.stained_glass", image, cells=30, border=False)
    assert np.array_equal(out[..., 3], image[..., 3])
    assert len(np.unique(out[..., :3].reshape(-1, 3), axis=0)) <= len(
        np.unique(reference_labels(image, 30)))


def test_stained_glass_bad_params_name_cells(make):
    with pytest.raises(ValueError, match="cells"):
        api.run("artistic.stained_glass", make(), cells=1)
