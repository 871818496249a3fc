"""restore.dictionary_denoise and its OMP and patch averaging (imgstudio.ops.restore.dictionary),
against scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import skimage.data
from skimage.metrics import peak_signal_noise_ratio as psnr

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops.restore.dictionary import PatchAverager, omp
from tests.ops.helpers import convert


def add_noise(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(image + rng.normal(0, sigma, image.shape)), 0, 255).astype(np.uint8)


# -- dictionary_denoise -----------------------------------------------------------------------


@pytest.mark.parametrize("n_nonzero", [1, 3])
def test_omp_equals_sklearn_dictionary_transform(n_nonzero):
    from sklearn.decomposition import MiniBatchDictionaryLearning
    from sklearn.feature_extraction.image import extract_patches_2d

    image = skimage.data.camera()[::4, ::4] / 255.0
    patches = extract_patches_2d(image, (5, 5), max_patches=1500, random_state=0)
    data = patches.reshape(len(patches), -1)
    data = data - data.mean(axis=1, keepdims=True)
    data[:3] = 0.0  # flat patches: OMP stops at once
    learner = MiniBatchDictionaryLearning(n_components=24, batch_size=256, max_iter=3,
                                          random_state=0).fit(data[500:1000])
    learner.set_params(transform_algorithm="omp", transform_n_nonzero_coefs=n_nonzero)
    with warnings.catch_warnings():  # "OMP ended prematurely" on the flat patches
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = learner.transform(data[:500])
    codes = omp(learner.components_, data[:500], n_nonzero)
    assert np.abs(codes - expected).max() < 1e-10
    assert (np.count_nonzero(codes, axis=1) <= n_nonzero).all() and not codes[:3].any()


@pytest.mark.parametrize("shape", [(13, 17), (11, 9, 3)])
def test_patch_averager_equals_sklearn_reconstruct_from_patches(shape):
    from sklearn.feature_extraction.image import reconstruct_from_patches_2d

    rng = np.random.default_rng(0)
    p = 4
    rows, cols = shape[0] - p + 1, shape[1] - p + 1
    patches = rng.random((rows * cols, p, p) + shape[2:])
    averager = PatchAverager(shape, p)
    grid = patches.reshape(rows, cols, *patches.shape[1:])
    for top in range(0, rows, 3):  # fed in strips of 3 patch rows
        averager.add(grid[top:top + 3], top)
    assert np.allclose(averager.result(), reconstruct_from_patches_2d(patches, shape))


def test_dictionary_denoise_raises_psnr_of_a_noisy_grey_crop():
    clean = np.ascontiguousarray(skimage.data.camera()[::4, ::4][16:80, 16:80])
    noisy = add_noise(clean, 20)
    out = api.run("restore.dictionary_denoise", noisy, n_components=32, patch_size=5,
                  max_patches=1000)
    assert out.dtype == np.uint8 and out.shape == clean.shape
    # measured: 22.6 dB -> 24.1 dB
    assert psnr(clean, out) > psnr(clean, noisy) + 0.8


def test_dictionary_denoise_raises_psnr_of_a_noisy_colour_crop():
    clean = np.ascontiguousarray(skimage.data.coffee()[::4, ::4][20:68, 30:78])
    noisy = convert(add_noise(clean, 20, seed=1), np.float32)
    out = api.run("restore.dictionary_denoise", noisy, n_components=16, patch_size=5,
                  max_patches=500, nonzero_coefs=3)
    assert out.dtype == np.float32 and out.shape == clean.shape
    # measured: 22.8 dB -> 25.2 dB
    assert psnr(clean / 255.0, out.astype(float)) > psnr(clean / 255.0, noisy.astype(float)) + 1.2


def test_dictionary_denoise_same_seed_same_output_and_alpha_kept(small_rgb):
    rgba = np.dstack([small_rgb[:20, :20], np.full((20, 20), 99, np.uint8)])
    params = {"n_components": 8, "patch_size": 4, "max_patches": 200, "seed": 2}
    before = rgba.copy()
    a = api.run("restore.dictionary_denoise", rgba, **params)
    assert np.array_equal(rgba, before)
    assert np.array_equal(a, api.run("restore.dictionary_denoise", rgba, **params))
    assert np.array_equal(a[..., 3], rgba[..., 3])


def test_dictionary_denoise_reports_progress_and_can_be_cancelled(small_rgb):
    seen = []

    def callback(fraction, message):
        seen.append(fraction)
        if fraction >= 0.4:  # once learning is done
            token.cancel()

    token = Progress(callback)
    with pytest.raises(Cancelled):
        api.run("restore.dictionary_denoise", small_rgb[..., 0], n_components=8, patch_size=4,
                max_patches=300, progress=token)
    assert seen == sorted(seen) and 0 < len(seen)


@pytest.mark.parametrize(("params", "name"), [({"patch_size": 30}, "patch_size"),
                                              ({"n_components": 4, "nonzero_coefs": 5},
                                               "nonzero_coefs"),
                                              ({"alpha": 0.0}, "alpha")])
def test_dictionary_denoise_bad_params_name_the_parameter(params, name, small_rgb):
    with pytest.raises(ValueError, match=name):
        api.run("restore.dictionary_denoise", small_rgb[:20, :20], **params)
