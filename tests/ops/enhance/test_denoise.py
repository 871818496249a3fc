"""enhance.nl_means, enhance.anisotropic_diffusion, enhance.tv_denoise, enhance.wavelet_denoise
(imgstudio.ops.enhance.denoise): the library call each wraps (or an independent reference
implementation) and the PSNR gain on a noisy camera crop (256×256, Gaussian noise sigma 0.1,
seed 0: 20.6 dB)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.restoration import denoise_tv_chambolle, denoise_wavelet

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops import enhance
from tests.ops.enhance.helpers import assert_close, bgr, noisy_camera, psnr, to_dtype, unit
from tests.ops.helpers import TOP, dtypes, kinds


@pytest.fixture(scope="module")
def noisy():
    return noisy_camera(sigma=0.1, seed=0)


# -- non-local means --------------------------------------------------------------------------


@kinds
def test_nl_means_uint8_is_bit_exact_cv2(kind, make):
    image = make(np.uint8, kind)
    if kind == "rgb":
        expected = bgr(cv2.fastNlMeansDenoisingColored(bgr(image), None, 15.0, 15.0, 7, 21))
    else:
        expected = cv2.fastNlMeansDenoising(image, None, 15.0, 7, 21)
    assert_close(api.run("enhance.nl_means", image, h=15.0), expected)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
@kinds
def test_nl_means_other_dtypes_are_denoised_at_8_bits(dtype, kind, make):
    image = make(dtype, kind)  # exactly representable in 8 bits
    via8 = api.run("enhance.nl_means", make(np.uint8, kind), h=15.0)
    assert_close(api.run("enhance.nl_means", image, h=15.0), to_dtype(via8 / 255.0, dtype),
                 float_tol=1e-7)


def test_nl_means_gains_over_6db_on_noisy_camera(noisy):
    """h = 25 (about the noise sigma in 8-bit levels): measured +7.8 dB; margin 1.8 dB."""
    clean, image = noisy
    noisy8 = np.rint(image * 255).astype(np.uint8)
    assert psnr(api.run("enhance.nl_means", noisy8, h=25.0), clean) >= psnr(noisy8, clean) + 6.0


def test_nl_means_bad_params_name_h(make):
    with pytest.raises(ValueError, match="h"):
        api.run("enhance.nl_means", make(), h=0.0)
    with pytest.raises(ValueError, match="h"):
        api.run("enhance.nl_means", make(), h=-1.0)


# -- anisotropic diffusion --------------------------------------------------------------------


def perona_malik(img: np.ndarray, niter: int, kappa: float, gamma: float, option: int):
    """Reference: the classic NumPy Perona–Malik loop (A. Muldal's), in float64."""
    out = img.astype(np.float64).copy()
    delta_s, delta_e = np.zeros_like(out), np.zeros_like(out)
    ns, ew = np.zeros_like(out), np.zeros_like(out)
    for _ in range(niter):
        delta_s[:-1, :] = np.diff(out, axis=0)
        delta_e[:, :-1] = np.diff(out, axis=1)
        if option == 1:
            g_s, g_e = np.exp(-((delta_s / kappa) ** 2)), np.exp(-((delta_e / kappa) ** 2))
        else:
            g_s, g_e = 1.0 / (1.0 + (delta_s / kappa) ** 2), 1.0 / (1.0 + (delta_e / kappa) ** 2)
        s, e = g_s * delta_s, g_e * delta_e
        ns[:] = s
        ew[:] = e
        ns[1:, :] -= s[:-1, :]
        ew[:, 1:] -= e[:, :-1]
        out += gamma * (ns + ew)
    return out


@pytest.mark.parametrize("option", [1, 2])
@kinds
def test_anisotropic_diffusion_matches_reference_perona_malik(option, kind, make):
    image = make(np.float32, kind)
    out = api.run("enhance.anisotropic_diffusion", image, kappa=30.0, niter=10, gamma=0.2,
                  option=option)
    planes = [image] if kind == "gray" else [image[..., c] for c in range(3)]
    expected = np.stack([perona_malik(p, 10, 30.0 / 255.0, 0.2, option) for p in planes], -1)
    assert_close(out, expected.reshape(image.shape).astype(np.float32), float_tol=2e-5)


@dtypes
def test_anisotropic_diffusion_dtypes_agree_and_preserve_the_mean(dtype, make):
    image = make(dtype, "gray")
    out = api.run("enhance.anisotropic_diffusion", image, kappa=30.0, niter=15, gamma=0.25)
    reference = api.run("enhance.anisotropic_diffusion", make(np.float32, "gray"), kappa=30.0,
                        niter=15, gamma=0.25)
    assert np.abs(unit(out) - reference).max() <= 0.5 / TOP[np.dtype(dtype)] + 1e-6
    # no flux through the border and no clipping (max principle at gamma <= 0.25)
    assert abs(unit(reference).mean() - unit(make(np.float32, "gray")).mean()) < 1e-5


def test_anisotropic_diffusion_gains_over_5db_on_noisy_camera(noisy):
    """kappa 30, 20 steps of 0.1: measured +6.2 dB; margin 1.2 dB."""
    clean, image = noisy
    out = api.run("enhance.anisotropic_diffusion", image, kappa=30.0, niter=20, gamma=0.1)
    assert psnr(out, clean) >= psnr(image, clean) + 5.0


@pytest.mark.parametrize(("params", "name"), [({"gamma": 0.3}, "gamma"), ({"kappa": 0.0}, "kappa"),
                                              ({"niter": 0}, "niter"), ({"option": 3}, "option")])
def test_anisotropic_diffusion_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("enhance.anisotropic_diffusion", make(), **params)


def test_anisotropic_diffusion_bad_params_name_gamma_far_above_its_range(make):
    with pytest.raises(ValueError, match="gamma"):
        api.run("enhance.anisotropic_diffusion", make(), gamma=0.5)


# -- total variation --------------------------------------------------------------------------


@dtypes
@kinds
def test_tv_denoise_equals_skimage_chambolle(dtype, kind, make):
    image = make(dtype, kind)
    f = unit(image).astype(np.float32)
    expected = denoise_tv_chambolle(f, weight=0.08, channel_axis=-1 if kind == "rgb" else None)
    # integers: 1 level, as the float32 input of the reference may differ by 1 ulp from ours
    assert_close(api.run("enhance.tv_denoise", image, weight=0.08), to_dtype(expected, dtype),
                 int_tol=1, float_tol=0.0)


def test_tv_denoise_gains_over_6db_on_noisy_camera(noisy):
    """weight 0.1: measured +7.8 dB; margin 1.8 dB."""
    clean, image = noisy
    assert psnr(api.run("enhance.tv_denoise", image), clean) >= psnr(image, clean) + 6.0


def test_tv_denoise_can_be_cancelled_between_iterations(noisy):
    calls = []

    def on_progress(fraction, message):
        calls.append(fraction)
        if len(calls) == 5:
            token.cancel()

    token = Progress(on_progress)
    with pytest.raises(Cancelled):
        api.run("enhance.tv_denoise", noisy[1], progress=token)
    assert len(calls) == 5


def test_tv_denoise_bad_params_name_weight(make):
    with pytest.raises(ValueError, match="weight"):
        api.run("enhance.tv_denoise", make(), weight=0.0)
    with pytest.raises(ValueError, match="weight"):
        api.run("enhance.tv_denoise", make(), weight=-1.0)


# -- wavelet ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("wavelet", "mode", "sigma"),
                         [("db1", "soft", None), ("sym4", "hard", None), ("db2", "soft", 0.05)])
@kinds
def test_wavelet_denoise_float32_equals_skimage(wavelet, mode, sigma, kind, make):
    image = make(np.float32, kind)
    expected = denoise_wavelet(image, sigma=sigma, wavelet=wavelet, mode=mode,
                               channel_axis=-1 if kind == "rgb" else None)
    out = api.run("enhance.wavelet_denoise", image, wavelet=wavelet, mode=mode, sigma=sigma)
    assert_close(out, np.clip(expected, 0, 1).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16], ids=["uint8", "uint16"])
@kinds
def test_wavelet_denoise_integers_equal_skimage_within_one_level(dtype, kind, make):
    image = make(dtype, kind)
    # skimage on the integer image works in float64 and takes sigma in the image's units
    expected = denoise_wavelet(image, sigma=0.04 * TOP[np.dtype(dtype)], wavelet="db2",
                               channel_axis=-1 if kind == "rgb" else None)
    out = api.run("enhance.wavelet_denoise", image, wavelet="db2", sigma=0.04)
    assert_close(out, to_dtype(expected, dtype), int_tol=1)


def test_wavelet_denoise_gains_over_5db_on_noisy_camera(noisy):
    """db1, soft, estimated sigma: measured +5.9 dB; margin 0.9 dB."""
    clean, image = noisy
    assert psnr(api.run("enhance.wavelet_denoise", image), clean) >= psnr(image, clean) + 5.0


def test_wavelet_denoise_estimate_is_close_to_the_true_noise(noisy):
    """With sigma given as the true 0.1 the result is about as good as with the estimate."""
    clean, image = noisy
    given = psnr(api.run("enhance.wavelet_denoise", image, sigma=0.1), clean)
    estimated = psnr(api.run("enhance.wavelet_denoise", image), clean)
    assert abs(given - estimated) < 1.0


@pytest.mark.parametrize("sigma", [None, 0.0])
def test_wavelet_denoise_without_noise_estimate_returns_the_image(sigma):
    """skimage gives all-NaN here (no fine diagonal detail in a ramp, or sigma 0)."""
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1))
    assert np.array_equal(api.run("enhance.wavelet_denoise", ramp, sigma=sigma), ramp)


def test_wavelet_denoise_rejects_an_image_too_small_for_the_wavelet():
    with pytest.raises(ValueError, match="image"):
        api.run("enhance.wavelet_denoise", np.zeros((8, 8), np.uint8), wavelet="db8")


@pytest.mark.parametrize(("params", "name"), [({"mode": "medium"}, "mode"), ({"sigma": 2.0}, "sigma"),
                                              ({"wavelet": "bior2.2"}, "wavelet")])
def test_wavelet_denoise_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("enhance.wavelet_denoise", make(), **params)


def test_wavelet_denoise_direct_call_rejects_non_orthogonal_wavelet(make):
    with pytest.raises(ValueError, match="wavelet"):
        enhance.wavelet_denoise(make(), wavelet="bior2.2")
