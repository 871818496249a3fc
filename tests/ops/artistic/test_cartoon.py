"""artistic.cartoon and artistic.cartoon_anisotropic (imgstudio.ops.artistic.cartoon): the
classic OpenCV pipeline written out step by step, and quantised diffusion with black edges."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi

import imgstudio.api as api
from tests.ops.artistic.helpers import as_uint8, mismatch, perona_malik_reference, scaled_from_uint8
from tests.ops.helpers import TOP, kinds

# -- cartoon ----------------------------------------------------------------------------------


def classic_cartoon(rgb, num_down=2, num_bilateral=7, median_ksize=7, block_size=9, c=2):
    """The OpenCV cartoon recipe, step by step, on uint8 RGB or grey."""
    colour = rgb
    for _ in range(num_down):
        colour = cv2.pyrDown(colour)
    for _ in range(num_bilateral):
        colour = cv2.bilateralFilter(colour, d=9, sigmaColor=9, sigmaSpace=7)
    for _ in range(num_down):
        colour = cv2.pyrUp(colour)
    # pyrUp of an odd size overshoots by one pixel: the recipe resizes back to the original
    colour = cv2.resize(colour, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    grey = cv2.medianBlur(grey, median_ksize)
    edges = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY,
                                  block_size, c)
    if rgb.ndim == 3:
        edges = cv2.cvtColor(edges, cv2.COLOR_GRAY2RGB)
    return cv2.bitwise_and(colour, edges)


@pytest.mark.parametrize(
    "params",
    [{}, {"num_down": 1, "num_bilateral": 3, "median_ksize": 5, "block_size": 15, "c": 4},
     {"num_down": 0, "num_bilateral": 1, "median_ksize": 1, "block_size": 3, "c": -1}],
)
@kinds
def test_cartoon_equals_classic_pipeline_bit_exact(params, kind, make):
    image = make(np.uint8, kind)  # 64 x 96: every pyramid level has even size
    assert np.array_equal(api.run("artistic.cartoon", image, **params),
                          classic_cartoon(image, **params))


def test_cartoon_odd_size_goes_back_through_the_same_pyramid_sizes(make):
    image = np.ascontiguousarray(make()[:61, :93])
    out = api.run("artistic.cartoon", image)
    assert out.shape == image.shape
    colour = image
    sizes = []
    for _ in range(2):
        sizes.append((colour.shape[1], colour.shape[0]))
        colour = cv2.pyrDown(colour)
    for _ in range(7):
        colour = cv2.bilateralFilter(colour, 9, 9, 7)
    for size in reversed(sizes):
        colour = cv2.pyrUp(colour, dstsize=size)
    edges = cv2.adaptiveThreshold(cv2.medianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 7),
                                  255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 2)
    assert np.array_equal(out, colour * (edges[..., None] > 0))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_cartoon_other_dtypes_are_the_8bit_result_scaled_back(dtype, make):
    image = make(dtype, "rgb")
    expected = scaled_from_uint8(classic_cartoon(as_uint8(image)), dtype)
    out = api.run("artistic.cartoon", image)
    assert out.dtype == dtype
    assert np.allclose(out, expected, rtol=0, atol=1e-6 if dtype == np.float32 else 0)


def test_cartoon_keeps_alpha(make):
    image = make(np.uint8, "rgba")
    out = api.run("artistic.cartoon", image)
    assert np.array_equal(out[..., 3], image[..., 3])
    assert np.array_equal(out[..., :3], classic_cartoon(np.ascontiguousarray(image[..., :3])))


@pytest.mark.parametrize(("params", "name"), [({"median_ksize": 6}, "median_ksize"),
                                              ({"block_size": 10}, "block_size"),
                                              ({"num_down": 9}, "num_down")])
def test_cartoon_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.cartoon", make(), **params)


# -- anisotropic cartoon -----------------------------------------------------------------------


def cartoon_anisotropic_reference(image8, kappa=20.0, niter=5, levels=8):
    work = image8.copy()
    if work.ndim == 3:
        work[..., 0] = np.minimum(work[..., 0], 254)
    smooth = perona_malik_reference(work, kappa, niter, 0.1)
    quantised = np.rint(np.rint(smooth * ((levels - 1) / 255.0)) * (255.0 / (levels - 1)))
    gray = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY) if smooth.ndim == 3 else smooth
    gray = gray.astype(np.float64)
    strength = np.hypot(ndi.sobel(gray, axis=1, mode="reflect"),
                        ndi.sobel(gray, axis=0, mode="reflect")) / 4.0
    quantised[strength >= kappa] = 0
    return quantised.astype(np.uint8)


@pytest.mark.parametrize("params", [{"niter": 5}, {"kappa": 35.0, "niter": 4, "levels": 3}])
@kinds
def test_cartoon_anisotropic_is_quantised_diffusion_with_black_edges(params, kind, make):
    image = make(np.uint8, kind)
    out = api.run("artistic.cartoon_anisotropic", image, **params)
    assert mismatch(out, cartoon_anisotropic_reference(image, **params), 0) < 0.01
    levels = params.get("levels", 8)
    allowed = set(np.rint(np.arange(levels) * 255.0 / (levels - 1)))
    assert set(np.unique(out)) <= allowed


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
def test_cartoon_anisotropic_writes_levels_in_the_input_dtype(dtype, make):
    image = make(dtype, "rgba")
    out = api.run("artistic.cartoon_anisotropic", image, niter=4, levels=5)
    top = TOP[np.dtype(dtype)]
    assert out.dtype == dtype and np.array_equal(out[..., 3], image[..., 3])
    values = np.unique(out[..., :3]).astype(np.float64)
    assert np.isclose(values[:, None], np.arange(5) * top / 4, atol=0.5).any(axis=1).all()
    expected = cartoon_anisotropic_reference(as_uint8(image[..., :3]), niter=4, levels=5)
    # same level index as the 8-bit pipeline, written exactly as index * max / 4
    assert mismatch(out[..., :3] / top * 4, np.rint(expected / 255.0 * 4), 1e-4) < 0.01


@pytest.mark.parametrize(("params", "name"), [({"levels": 1}, "levels"), ({"kappa": 300.0}, "kappa")])
def test_cartoon_anisotropic_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("artistic.cartoon_anisotropic", make(), **params)
