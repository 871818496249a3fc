"""Edge operations (imgstudio.ops.edges), each checked against an independent reference."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
import skimage.feature
import skimage.filters
from scipy import ndimage

import imgstudio.api as api
from imgstudio.core.progress import Progress
from tests.ops.helpers import convert, dtypes, kinds

pytestmark = pytest.mark.gray_channel(1)  # `make`: the gray image is the green channel

CATALOG = {
    "edges.canny": {"sigma", "low", "high"},
    "edges.marr_hildreth": {"sigma", "threshold"},
    "edges.wavelet": {"wavelet", "level"},
    "edges.sobel": {"direction"},
    "edges.log": {"sigma"},
}
CASES = {
    "edges.canny": {"sigma": 1.5},
    "edges.marr_hildreth": {"threshold": 0.1},
    "edges.wavelet": {"level": 2},
    "edges.sobel": {},
    "edges.log": {"sigma": 1.5},
}


def reference_grey(image: np.ndarray) -> np.ndarray:
    """BT.601 grey in [0, 1], computed independently of the module's helper."""
    top = {np.uint8: 255.0, np.uint16: 65535.0, np.float32: 1.0}[image.dtype.type]
    x = image / top
    if x.ndim == 3:
        x = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    return x


def disc(radius=25.0, centre=(47.3, 48.6), shape=(96, 96)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    r = np.hypot(yy - centre[0], xx - centre[1])
    return (r < radius).astype(np.float32), r


# -- contracts --------------------------------------------------------------------------------


def test_catalog_ids_and_parameter_names_are_registered():
    specs = {s.id: s for s in api.list_operations() if s.family == "edges"}
    assert set(specs) == set(CATALOG)
    for op_id, names in CATALOG.items():
        assert {p.name for p in specs[op_id].params} == names, op_id
        assert specs[op_id].summary and specs[op_id].menu == "Filters/Edges"


def test_output_kinds_follow_the_catalog():
    specs = {s.id: s for s in api.list_operations() if s.family == "edges"}
    assert specs["edges.canny"].output.kind == "labels"
    assert specs["edges.marr_hildreth"].output.kind == "labels"
    for op_id in ("edges.wavelet", "edges.sobel", "edges.log"):
        assert specs[op_id].output.kind == "image"


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_op_does_not_mutate_its_input_and_reports_progress(op_id, make):
    image = make(np.uint16, "rgb")
    before = image.copy()
    seen = []
    out = api.run(op_id, image, progress=Progress(lambda f, m: seen.append(f)), **CASES[op_id])
    assert np.array_equal(image, before)
    assert out.shape == image.shape[:2]
    assert seen and seen[-1] == 1.0


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_alpha_is_ignored(op_id, make):
    image = make(np.uint8, "rgb")
    rgba = np.dstack([image, np.full(image.shape[:2], 7, np.uint8)])
    assert np.array_equal(api.run(op_id, rgba, **CASES[op_id]), api.run(op_id, image, **CASES[op_id]))


# -- canny ------------------------------------------------------------------------------------


@dtypes
@kinds
def test_canny_equals_skimage_canny_on_the_grey_image(dtype, kind, make):
    image = make(dtype, kind)
    out = api.run("edges.canny", image, sigma=1.5)
    expected = skimage.feature.canny(reference_grey(image), sigma=1.5)
    assert out.dtype == np.int32 and set(np.unique(out)) <= {0, 1}
    assert np.array_equal(out, expected.astype(np.int32))
    assert 0.02 < out.mean() < 0.5  # real edges were found


def test_canny_explicit_thresholds_equal_skimage_on_uint8(make):
    image = make(np.uint8, "gray")
    out = api.run("edges.canny", image, sigma=2.0, low=0.05, high=0.15)
    # skimage scales thresholds of integer images by the dtype's maximum
    expected = skimage.feature.canny(image, sigma=2.0, low_threshold=0.05 * 255,
                                     high_threshold=0.15 * 255)
    assert np.array_equal(out, expected.astype(np.int32))


def test_canny_only_low_given_keeps_default_high(make):
    image = make(np.float32, "gray")
    out = api.run("edges.canny", image, low=0.15)
    expected = skimage.feature.canny(image.astype(np.float64), low_threshold=0.15,
                                     high_threshold=0.2)
    assert np.array_equal(out, expected.astype(np.int32))


@pytest.mark.parametrize(("params", "name"), [({"low": 0.5, "high": 0.3}, "low"),
                                              ({"low": 0.5}, "low"),
                                              ({"sigma": -1.0}, "sigma")])
def test_canny_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("edges.canny", make(), **params)


# -- marr_hildreth ----------------------------------------------------------------------------


@dtypes
def test_marr_hildreth_edges_lie_on_the_circle_of_a_disc(dtype):
    image, r = disc()
    out = api.run("edges.marr_hildreth", convert(image, dtype), sigma=2.0, threshold=0.1)
    assert out.dtype == np.int32
    distance = r[out == 1]
    # every edge pixel is on the circle (±1 px); the zero crossing of a LoG of a curved edge is
    # pulled inwards by about sigma² / (2 r) = 0.08 px only
    assert np.abs(distance - 25.0).max() <= 1.0
    # the circle is covered: every one of 360 points of it has an edge pixel within 1 px
    ys, xs = np.nonzero(out)
    angles = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    py, px = 47.3 + 25 * np.sin(angles), 48.6 + 25 * np.cos(angles)
    gap = np.hypot(py[:, None] - ys, px[:, None] - xs).min(axis=1)
    assert gap.max() <= 1.0


def test_marr_hildreth_marks_pixels_next_to_a_sign_change_of_the_log():
    image, _ = disc()
    out = api.run("edges.marr_hildreth", image, sigma=2.0)
    lap = ndimage.gaussian_laplace(image.astype(np.float64), 2.0)
    padded = np.pad(lap, 1, mode="edge")
    neighbours = [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]]
    opposite = np.zeros(lap.shape, bool)
    for nb in neighbours:
        opposite |= np.sign(nb) * np.sign(lap) < 0
    assert out.any() and opposite[out == 1].all()
    # and it is thin: at most one edge pixel per crossing pair, i.e. far fewer than both sides
    assert out.sum() < opposite.sum()


def test_marr_hildreth_threshold_removes_noise_crossings():
    image, r = disc()
    rng = np.random.default_rng(0)
    noisy = np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1).astype(np.float32)
    all_crossings = api.run("edges.marr_hildreth", noisy, sigma=2.0, threshold=0.0)
    strong = api.run("edges.marr_hildreth", noisy, sigma=2.0, threshold=0.1)
    # threshold 0 keeps the noise's crossings (measured: ~2000 px far from the circle) ...
    assert (np.abs(r[all_crossings == 1] - 25) > 2).sum() > 500
    # ... 10 % of the peak slope keeps the circle only (measured: all within 1 px)
    assert np.abs(r[strong == 1] - 25).max() <= 2.0 and strong.sum() > 100


def test_marr_hildreth_flat_image_has_no_edges():
    assert not api.run("edges.marr_hildreth", np.full((20, 20), 0.5, np.float32)).any()


def test_marr_hildreth_bad_params_name_threshold(make):
    with pytest.raises(ValueError, match="threshold"):
        api.run("edges.marr_hildreth", make(), threshold=1.5)


# -- wavelet ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("wavelet", "level"), [("haar", 1), ("db2", 2), ("bior2.2", 3)])
@dtypes
@kinds
def test_wavelet_edges_equal_pywt_detail_reconstruction(wavelet, level, dtype, kind, make):
    image = make(dtype, kind)
    out = api.run("edges.wavelet", image, wavelet=wavelet, level=level)
    x = reference_grey(image)
    coeffs = pywt.wavedec2(x, wavelet, level=level)
    coeffs[0] = np.zeros_like(coeffs[0])
    expected = pywt.waverec2(coeffs, wavelet)[: x.shape[0], : x.shape[1]]
    assert out.dtype == np.float32 and out.shape == x.shape
    assert np.abs(out - expected).max() < 1e-6


def test_wavelet_edges_plus_approximation_rebuild_the_grey_image(make):
    image = make(np.uint8, "gray")
    out = api.run("edges.wavelet", image, wavelet="db4", level=2)
    x = image / 255.0
    coeffs = pywt.wavedec2(x, "db4", level=2)
    approx_only = [coeffs[0]] + [tuple(np.zeros_like(d) for d in lv) for lv in coeffs[1:]]
    low = pywt.waverec2(approx_only, "db4")[: x.shape[0], : x.shape[1]]
    assert np.abs(out + low - x).max() < 1e-5


@pytest.mark.parametrize(("params", "name"), [({"level": 7}, "level"),
                                              ({"wavelet": "morlet"}, "wavelet")])
def test_wavelet_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("edges.wavelet", make(), **params)


# -- sobel ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("direction", "reference"), [
    ("magnitude", skimage.filters.sobel),
    ("horizontal", skimage.filters.sobel_h),
    ("vertical", skimage.filters.sobel_v),
])
@dtypes
@kinds
def test_sobel_equals_skimage(direction, reference, dtype, kind, make):
    image = make(dtype, kind)
    out = api.run("edges.sobel", image, direction=direction)
    assert out.dtype == np.float32
    assert np.abs(out - reference(reference_grey(image))).max() < 1e-6


def test_sobel_directions_respond_to_the_named_edges():
    step = np.zeros((20, 20), np.float32)
    step[10:] = 1.0  # a horizontal edge
    assert np.abs(api.run("edges.sobel", step, direction="horizontal")).max() == pytest.approx(1.0)
    assert np.abs(api.run("edges.sobel", step, direction="vertical")).max() == 0.0


def test_sobel_bad_params_name_direction(make):
    with pytest.raises(ValueError, match="direction"):
        api.run("edges.sobel", make(), direction="diagonal")


# -- log --------------------------------------------------------------------------------------


@dtypes
@kinds
def test_log_equals_scipy_gaussian_laplace(dtype, kind, make):
    image = make(dtype, kind)
    out = api.run("edges.log", image, sigma=2.0)
    assert out.dtype == np.float32
    expected = ndimage.gaussian_laplace(reference_grey(image), 2.0)
    assert np.abs(out - expected).max() < 1e-6


@pytest.mark.parametrize("sigma", [1.0, 3.0])
def test_log_matches_simpleitk_recursive_gaussian_inside(sigma, make):
    import SimpleITK as sitk

    image = make(np.float32, "gray")
    out = api.run("edges.log", image, sigma=sigma)
    filt = sitk.LaplacianRecursiveGaussianImageFilter()
    filt.SetSigma(sigma)
    expected = sitk.GetArrayFromImage(filt.Execute(sitk.GetImageFromArray(image.astype(float))))
    m = int(4 * sigma)  # the filters treat the border differently
    inner = np.s_[m:-m, m:-m]
    # Deriche's recursive approximation vs the sampled kernel: measured < 1 % of the peak
    assert np.abs(out[inner] - expected[inner]).max() < 0.02 * np.abs(out[inner]).max()


def test_log_of_a_bright_blob_is_negative_at_its_centre():
    image, _ = disc(radius=4.0, centre=(20, 20), shape=(41, 41))
    out = api.run("edges.log", image, sigma=4.0 / np.sqrt(2))
    assert out[20, 20] == out.min() < 0


def test_log_bad_params_name_sigma(make):
    with pytest.raises(ValueError, match="sigma"):
        api.run("edges.log", make(), sigma=0.0)
