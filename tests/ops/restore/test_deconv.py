"""Degradation and deconvolution (imgstudio.ops.restore.deconv): blur, add_noise, wiener,
unsupervised_wiener, pseudo_inverse and cls, against SciPy, OpenCV and scikit-image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
import skimage.restoration
import skimage.util
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio as psnr
from skimage.restoration import uft

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops.restore import make_psf
from tests.ops.helpers import TOP, convert, dtypes, kinds


def to_dtype(values: np.ndarray, dtype) -> np.ndarray:
    """Reference cast of [0, 1] floats: clip, scale, round for integers."""
    values = np.clip(values, 0, 1)
    if np.dtype(dtype).kind == "f":
        return values.astype(dtype)
    return np.rint(values * TOP[np.dtype(dtype)]).astype(dtype)


def per_plane(image: np.ndarray, func) -> np.ndarray:
    """Reference: ``func`` on each colour plane of ``image`` in [0, 1], cast back."""
    x = image / TOP[image.dtype]
    if x.ndim == 2:
        return to_dtype(func(x), image.dtype)
    return to_dtype(np.stack([func(x[..., c]) for c in range(3)], axis=-1), image.dtype)


def assert_close(out, expected, int_tol=1, float_tol=1e-6):
    assert out.dtype == expected.dtype and out.shape == expected.shape
    tol = float_tol if out.dtype.kind == "f" else int_tol
    diff = np.abs(out.astype(np.float64) - expected.astype(np.float64))
    assert diff.max() <= tol, f"max difference {diff.max()} > {tol}"


def mirror(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    return np.pad(plane, ((0, h), (0, w)), mode="symmetric")


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    """A 96×96 uint8 crop of the (half-size) camera man."""
    return np.ascontiguousarray(skimage.data.camera()[::2, ::2][80:176, 80:176])


def degraded(sharp: np.ndarray, psf="box", size=5, noise=0.005, seed=1) -> np.ndarray:
    """``sharp`` (float [0, 1]) blurred with a mirror boundary plus slight Gaussian noise."""
    blurred = ndimage.convolve(sharp, make_psf(psf, size), mode="reflect")
    rng = np.random.default_rng(seed)
    return np.clip(blurred + rng.normal(0, noise, sharp.shape), 0, 1)


# -- blur -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("psf", "size", "angle"), [("gaussian", 9, 0.0), ("box", 4, 0.0),
                                                    ("motion", 7, 30.0), ("box", 15, 0.0)])
@dtypes
@kinds
def test_blur_equals_scipy_convolve_with_the_psf(psf, size, angle, dtype, kind, make_small):
    image = make_small(dtype, kind)
    out = api.run("restore.blur", image, psf=psf, size=size, angle=angle)
    kernel = make_psf(psf, size, angle)
    expected = per_plane(image, lambda p: ndimage.convolve(p, kernel, mode="reflect"))
    assert_close(out, expected)  # integers: ±1 where float rounding lands on .5


def test_blur_of_size_one_is_the_identity(make_small):
    image = make_small(np.uint16, "rgb")
    assert np.array_equal(api.run("restore.blur", image, size=1), image)


def test_blur_equals_cv2_filter2d_for_odd_symmetric_psf(make_small):
    image = make_small(np.float32, "gray")
    kernel = make_psf("gaussian", 7).astype(np.float32)
    expected = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)
    assert_close(api.run("restore.blur", image, psf="gaussian", size=7), expected, float_tol=1e-5)


@pytest.mark.parametrize(("params", "name"), [({"psf": "disk"}, "psf"), ({"size": 0}, "size"),
                                              ({"angle": 400.0}, "angle")])
def test_blur_bad_params_name_the_parameter(params, name, make_small):
    with pytest.raises(ValueError, match=name):
        api.run("restore.blur", make_small(), **params)


# -- add_noise --------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "kwargs"), [("gaussian", {"var": 0.1**2}),
                                              ("s&p", {"amount": 0.1}),
                                              ("poisson", {}),
                                              ("speckle", {"var": 0.1**2})])
@dtypes
@kinds
def test_add_noise_equals_skimage_random_noise(mode, kwargs, dtype, kind, make_small):
    image = make_small(dtype, kind)
    out = api.run("restore.add_noise", image, mode=mode, amount=0.1, seed=7)
    noisy = skimage.util.random_noise(image, mode=mode, rng=7, clip=True, **kwargs)
    assert_close(out, to_dtype(noisy, dtype), int_tol=0, float_tol=0)


def test_add_noise_same_seed_same_output_other_seed_other_output(make_small):
    image = make_small(np.uint8, "rgb")
    a = api.run("restore.add_noise", image, seed=3)
    assert np.array_equal(a, api.run("restore.add_noise", image, seed=3))
    assert not np.array_equal(a, api.run("restore.add_noise", image, seed=4))


def test_add_noise_amount_sets_the_noise_level():
    grey = np.full((200, 200), 0.5, np.float32)
    noise = api.run("restore.add_noise", grey, amount=0.05) - grey
    assert noise.std() == pytest.approx(0.05, rel=0.03)
    sp = api.run("restore.add_noise", grey, mode="s&p", amount=0.2)
    assert (sp != grey).mean() == pytest.approx(0.2, abs=0.01)
    assert set(np.unique(sp[sp != grey])) == {0.0, 1.0}


@pytest.mark.parametrize(("params", "name"), [({"amount": 2.0}, "amount"),
                                              ({"mode": "blue"}, "mode"),
                                              ({"seed": -1}, "seed")])
def test_add_noise_bad_params_name_the_parameter(params, name, make_small):
    with pytest.raises(ValueError, match=name):
        api.run("restore.add_noise", make_small(), **params)


# -- wiener -----------------------------------------------------------------------------------


@dtypes
@kinds
def test_wiener_equals_skimage_wiener_on_the_mirrored_image(dtype, kind, make_small):
    image = make_small(dtype, kind)
    out = api.run("restore.wiener", image, psf="gaussian", size=5, balance=0.1)
    kernel = make_psf("gaussian", 5)
    h, w = image.shape[:2]
    expected = per_plane(
        image, lambda p: skimage.restoration.wiener(mirror(p), kernel, 0.1)[:h, :w])
    assert_close(out, expected, float_tol=1e-6)


@pytest.mark.parametrize(("params", "margin"), [({"balance": 0.05}, 1.0),  # measured +1.7 dB
                                                ({}, 0.4)])  # catalog defaults: measured +0.8
def test_wiener_restores_a_blurred_noisy_image(params, margin, camera):
    sharp = camera / 255.0
    blurred = degraded(sharp, "box", 5)
    out = api.run("restore.wiener", blurred.astype(np.float32), psf="box", size=5, **params)
    assert psnr(sharp, out.astype(float), data_range=1) > psnr(sharp, blurred, data_range=1) + margin


@pytest.mark.parametrize(("params", "name"), [({"size": 200}, "size"), ({"balance": 0.0}, "balance"),
                                              ({"psf": "airy"}, "psf")])
def test_wiener_bad_params_name_the_parameter(params, name, make_small):
    with pytest.raises(ValueError, match=name):
        api.run("restore.wiener", make_small(), **params)


# -- unsupervised_wiener ----------------------------------------------------------------------


def test_unsupervised_wiener_equals_skimage_and_beats_the_blurred_input(camera):
    sharp = camera[:64, :64] / 255.0
    blurred = degraded(sharp, "gaussian", 7).astype(np.float32)
    out = api.run("restore.unsupervised_wiener", blurred, psf="gaussian", size=7, seed=5)
    expected, _ = skimage.restoration.unsupervised_wiener(
        mirror(blurred.astype(np.float64)), make_psf("gaussian", 7), rng=5)
    assert_close(out, to_dtype(expected[:64, :64], np.float32), float_tol=1e-6)
    # measured: +3.3 dB
    assert psnr(sharp, out.astype(float), data_range=1) > psnr(sharp, blurred, data_range=1) + 1.5
    assert np.array_equal(out, api.run("restore.unsupervised_wiener", blurred, psf="gaussian",
                                       size=7, seed=5))


def test_unsupervised_wiener_reports_progress_and_can_be_cancelled(camera):
    seen = []

    def callback(fraction, message):
        seen.append(fraction)
        if len(seen) == 5:
            token.cancel()

    token = Progress(callback)
    with pytest.raises(Cancelled):
        api.run("restore.unsupervised_wiener", camera[:32, :32], size=3, progress=token)
    assert seen == sorted(seen) and len(seen) == 5


def test_unsupervised_wiener_bad_params_name_seed(make_small):
    with pytest.raises(ValueError, match="seed"):
        api.run("restore.unsupervised_wiener", make_small(), seed=-3)


# -- pseudo_inverse ---------------------------------------------------------------------------


def test_pseudo_inverse_undoes_a_noise_free_symmetric_blur_exactly(camera):
    sharp = camera / 255.0
    blurred = ndimage.convolve(sharp, make_psf("gaussian", 5), mode="reflect")
    out = api.run("restore.pseudo_inverse", blurred.astype(np.float32), psf="gaussian", size=5,
                  epsilon=1e-4)
    # the mirrored image is exactly a circular convolution; only float32 rounding is amplified
    assert np.abs(out - sharp).max() < 1e-3


def test_pseudo_inverse_is_the_truncated_inverse_filter(make_small):
    image = make_small(np.float32, "gray")
    out = api.run("restore.pseudo_inverse", image, psf="motion", size=6, angle=20.0, epsilon=0.3)
    big = mirror(image.astype(np.float64))
    transfer = uft.ir2tf(make_psf("motion", 6, 20.0), big.shape, is_real=False)
    inverse = np.zeros_like(transfer)
    keep = np.abs(transfer) >= 0.3
    inverse[keep] = 1 / transfer[keep]
    expected = np.real(np.fft.ifft2(np.fft.fft2(big) * inverse))[: image.shape[0], : image.shape[1]]
    assert_close(out, to_dtype(expected, np.float32), float_tol=1e-6)


@pytest.mark.parametrize(("epsilon", "margin"), [(0.1, 2.5),  # measured +4.9 dB
                                                 (0.25, 1.2)])  # catalog default: +2.3 dB
def test_pseudo_inverse_restores_a_blurred_noisy_image(epsilon, margin, camera):
    sharp = camera / 255.0
    blurred = degraded(sharp, "box", 4)
    out = api.run("restore.pseudo_inverse", convert(blurred.astype(np.float32), np.uint16),
                  psf="box", size=4, epsilon=epsilon)
    assert psnr(sharp, out / 65535.0, data_range=1) > psnr(sharp, blurred, data_range=1) + margin


def test_pseudo_inverse_bad_params_name_epsilon(make_small):
    with pytest.raises(ValueError, match="epsilon"):
        api.run("restore.pseudo_inverse", make_small(), epsilon=0.0)


# -- cls --------------------------------------------------------------------------------------


@dtypes
@kinds
def test_cls_equals_skimage_wiener_with_balance_lam_over_16(dtype, kind, make_small):
    # skimage's default regulariser is the Laplacian [[0,-1,0],[-1,4,-1],[0,-1,0]] = -4 C
    image = make_small(dtype, kind)
    out = api.run("restore.cls", image, psf="box", size=3, lam=0.8)
    kernel = make_psf("box", 3)
    h, w = image.shape[:2]
    expected = per_plane(
        image, lambda p: skimage.restoration.wiener(mirror(p), kernel, 0.8 / 16)[:h, :w])
    assert_close(out, expected, float_tol=1e-6)


@pytest.mark.parametrize(("lam", "margin"), [(0.5, 1.3),  # measured +2.6 dB
                                             (2.0, 0.8)])  # catalog default: +1.6 dB
def test_cls_restores_a_blurred_noisy_image(lam, margin, camera):
    sharp = camera / 255.0
    blurred = degraded(sharp, "box", 4)
    out = api.run("restore.cls", to_dtype(blurred, np.uint8), psf="box", size=4, lam=lam)
    assert psnr(sharp, out / 255.0, data_range=1) > psnr(sharp, blurred, data_range=1) + margin


def test_cls_bad_params_name_lam(make_small):
    with pytest.raises(ValueError, match="lam"):
        api.run("restore.cls", make_small(), lam=-1.0)
