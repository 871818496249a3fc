"""enhance.denoise_autoencoder with the shipped dae-default (trained without camera and
astronaut, which are the test images here)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress

SIGMA = 25.0


def psnr(a: np.ndarray, b: np.ndarray, top: float = 255.0) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(top**2 / mse))


def noisy_copy(clean: np.ndarray, sigma: float = SIGMA, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(clean + rng.normal(0.0, sigma, clean.shape)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.camera()[40:232, 180:372])  # head, coat, camera


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[30:190, 150:310])


def test_the_shipped_model_is_a_checked_manifest_entry():
    from imgstudio.models import store
    from imgstudio.ops.train.dae import HELD_OUT

    located = store.find("dae-default")
    assert located.info.shipped and located.info.architecture == "dncnn-residual"
    assert located.path.stat().st_size < 5 * 2**20
    # trained on the photos dataset, which leaves out the photos tested here
    assert located.info.training["settings"]["dataset"] == "photos"
    assert {"camera", "astronaut"} <= set(HELD_OUT)


def test_held_out_camera_gains_6_db_and_beats_the_best_gaussian_blur(camera):
    noisy = noisy_copy(camera)
    out = api.run("enhance.denoise_autoencoder", noisy)
    before, after = psnr(noisy, camera), psnr(out, camera)
    assert after - before >= 6.0, (before, after)
    best_blur = max(psnr(api.run("enhance.gaussian", noisy, sigma=s), camera)
                    for s in np.arange(0.25, 3.01, 0.25))
    assert after > best_blur + 0.5, (after, best_blur)


def test_held_out_colour_photo_per_channel(astronaut):
    noisy = noisy_copy(astronaut, seed=1)
    out = api.run("enhance.denoise_autoencoder", noisy)
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert psnr(out, astronaut) - psnr(noisy, astronaut) >= 5.0
    # channels are denoised independently: the red plane alone gives the same red result
    red = api.run("enhance.denoise_autoencoder", np.ascontiguousarray(noisy[..., 0]))
    np.testing.assert_array_equal(red, out[..., 0])


def test_dtypes_shapes_and_alpha_are_kept(camera, astronaut):
    grey8 = noisy_copy(camera[:64, :80])
    rgba = np.dstack([noisy_copy(astronaut[:48, :40]), np.linspace(0, 255, 48 * 40)
                      .reshape(48, 40).astype(np.uint8)])
    as16 = grey8.astype(np.uint16) * 257
    asf = (grey8 / np.float32(255)).astype(np.float32)
    r8 = api.run("enhance.denoise_autoencoder", grey8)
    r16 = api.run("enhance.denoise_autoencoder", as16)
    rf = api.run("enhance.denoise_autoencoder", asf)
    ra = api.run("enhance.denoise_autoencoder", rgba)
    assert (r8.dtype, r16.dtype, rf.dtype, ra.dtype) == (np.uint8, np.uint16, np.float32, np.uint8)
    assert r8.shape == r16.shape == rf.shape == grey8.shape and ra.shape == rgba.shape
    np.testing.assert_array_equal(ra[..., 3], rgba[..., 3])
    # one and the same picture in three dtypes gives one result
    np.testing.assert_allclose(r16 / 65535.0, rf, atol=2e-5)
    assert np.abs(r8.astype(np.float64) - rf * 255.0).max() <= 0.5 + 1e-3
    assert 0.0 <= rf.min() and rf.max() <= 1.0
    tiny = api.run("enhance.denoise_autoencoder", np.full((1, 1), 77, np.uint8))
    assert tiny.shape == (1, 1)


def test_strength_zero_changes_nothing_and_half_is_between(camera):
    noisy = noisy_copy(camera[:50, :60])
    np.testing.assert_array_equal(api.run("enhance.denoise_autoencoder", noisy, strength=0.0),
                                  noisy)
    full = api.run("enhance.denoise_autoencoder", noisy).astype(np.float64)
    half = api.run("enhance.denoise_autoencoder", noisy, strength=0.5).astype(np.float64)
    assert np.abs(half - (noisy + full) / 2).max() <= 1.0


def test_tiles_give_the_untiled_result_and_cancel_between_tiles(monkeypatch, camera):
    from imgstudio.ops.enhance import autoencoder

    image = (noisy_copy(camera[:100, :130]) / np.float32(255)).astype(np.float32)
    whole = api.run("enhance.denoise_autoencoder", image)
    monkeypatch.setattr(autoencoder, "TILE", 40)
    messages: list[str] = []
    tiled = api.run("enhance.denoise_autoencoder", image,
                    progress=Progress(lambda f, m: messages.append(m)))
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    assert "tile 12/12" in messages  # 3 × 4 tiles
    progress = Progress(lambda f, m: progress.cancel() if m == "tile 2/12" else None)
    with pytest.raises(Cancelled):
        api.run("enhance.denoise_autoencoder", image, progress=progress)


@pytest.mark.parametrize(("params", "named"), [
    ({"strength": 1.5}, "strength"),
    ({"strength": -0.1}, "strength"),
    ({"model": ""}, "model"),
    ({"model": "no-such-denoiser"}, "model"),
    ({"model": "digits-hog-logreg"}, "model"),
    ({"model": "/no/such/file.pt"}, "model"),
])
def test_bad_parameters_raise_value_errors_naming_them(params, named):
    with pytest.raises(ValueError, match=named):
        api.run("enhance.denoise_autoencoder", np.zeros((8, 8), np.uint8), **params)
