"""Restoration: MRF binary denoising, dictionary-learning denoising, wavelet compression."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import pywt
import skimage.data
from skimage.metrics import peak_signal_noise_ratio as psnr
from skimage.util import img_as_float32, img_as_uint

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Table
from imgstudio.ops.restore.dictionary import PatchAverager, omp
from imgstudio.ops.restore.wavelet import WaveletCompressed

DTYPES = [np.uint8, np.uint16, np.float32]
DTYPE_IDS = ["uint8", "uint16", "float32"]
TOP = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
kinds = pytest.mark.parametrize("kind", ["gray", "rgb"])


def convert(image: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(
        {np.uint8: np.array, np.uint16: img_as_uint, np.float32: img_as_float32}[dtype](image))


def add_noise(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(image + rng.normal(0, sigma, image.shape)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def horse() -> np.ndarray:
    """An 82×100 binary silhouette (1 = horse) and the same with 10 % of its pixels flipped."""
    shape = (~skimage.data.horse()[::4, ::4]).astype(np.uint8)
    rng = np.random.default_rng(0)
    flipped = rng.random(shape.shape) < 0.10
    return shape, np.where(flipped, 1 - shape, shape).astype(np.uint8)


@pytest.fixture(scope="module")
def small_rgb() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[100:260:4, 150:342:4])


# -- mrf_denoise ------------------------------------------------------------------------------


def icm_reference(y: np.ndarray, eta: float, zeta: float, sweeps: int, seed: int) -> np.ndarray:
    """Plain sequential ICM, one pixel at a time, in the documented visiting order."""
    h, w = y.shape
    x = y.astype(int).copy()
    rank = np.random.default_rng(seed).permutation(h * w)
    visit = np.argsort(rank)
    for _ in range(sweeps):
        changed = 0
        for p in visit:
            i, j = divmod(int(p), w)
            s = sum(x[a, b] for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1))
                    if 0 <= a < h and 0 <= b < w)
            field = eta * y[i, j] + zeta * s
            new = 1 if field > 0 else -1 if field < 0 else x[i, j]
            changed += new != x[i, j]
            x[i, j] = new
        if not changed:
            break
    return (x > 0).astype(np.int32)


@pytest.mark.parametrize(("eta", "zeta", "seed"), [(2.0, 1.5, 0), (1.0, 1.0, 3), (0.5, 2.0, 9)])
def test_mrf_equals_sequential_icm_in_random_order(eta, zeta, seed):
    rng = np.random.default_rng(seed + 100)
    y = np.where(rng.random((19, 23)) < 0.4, 1, -1)
    image = ((y + 1) // 2).astype(np.uint8)
    out = api.run("restore.mrf_denoise", image, eta=eta, zeta=zeta, sweeps=4, seed=seed)
    assert out.dtype == np.int32
    assert np.array_equal(out, icm_reference(y, eta, zeta, 4, seed))


def test_mrf_removes_most_flipped_pixels(horse):
    clean, noisy = horse
    out = api.run("restore.mrf_denoise", noisy * 255)
    wrong_before = np.count_nonzero(noisy != clean)  # 850 of 8200
    # measured: 121 wrong pixels left (-86 %); require at least -70 %
    assert np.count_nonzero(out != clean) < 0.3 * wrong_before


def test_mrf_same_seed_same_output(horse):
    _, noisy = horse
    a = api.run("restore.mrf_denoise", noisy, seed=4)
    assert np.array_equal(a, api.run("restore.mrf_denoise", noisy, seed=4))
    assert not np.array_equal(a, api.run("restore.mrf_denoise", noisy, seed=5))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_mrf_thresholds_any_dtype_and_colour_at_the_midpoint(dtype, horse):
    _, noisy = horse
    expected = api.run("restore.mrf_denoise", noisy)
    scaled = convert((noisy * 200 + 30).astype(np.uint8), dtype)  # 30 / 230: midpoint 130
    assert np.array_equal(api.run("restore.mrf_denoise", scaled), expected)
    rgb = np.dstack([scaled] * 3)
    assert np.array_equal(api.run("restore.mrf_denoise", rgb), expected)


def test_mrf_does_not_mutate_its_input(horse):
    _, noisy = horse
    before = noisy.copy()
    api.run("restore.mrf_denoise", noisy)
    assert np.array_equal(noisy, before)


def test_mrf_with_zero_smoothness_returns_the_observation(horse):
    _, noisy = horse
    assert np.array_equal(api.run("restore.mrf_denoise", noisy, zeta=0.0), noisy)


@pytest.mark.parametrize(("params", "name"), [({"sweeps": 0}, "sweeps"), ({"eta": -1.0}, "eta")])
def test_mrf_bad_params_name_the_parameter(params, name, horse):
    with pytest.raises(ValueError, match=name):
        api.run("restore.mrf_denoise", horse[1], **params)


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


# -- wavelet_compress -------------------------------------------------------------------------


def reference_compress(plane255: np.ndarray, wavelet: str, threshold: float):
    coeffs = pywt.wavedec2(plane255, wavelet)
    kept = [coeffs[0]] + [tuple(pywt.threshold(d, threshold, mode="soft") for d in lv)
                          for lv in coeffs[1:]]
    arrays = [kept[0], *(d for lv in kept[1:] for d in lv)]
    zeros = sum(int(np.count_nonzero(a == 0)) for a in arrays)
    rec = pywt.waverec2(kept, wavelet)[: plane255.shape[0], : plane255.shape[1]]
    return rec, zeros, sum(a.size for a in arrays)


@dtypes
@kinds
def test_wavelet_compress_with_threshold_zero_rebuilds_the_input(dtype, kind, small_rgb):
    image = convert(small_rgb if kind == "rgb" else small_rgb[..., 1], dtype)
    result = api.run("restore.wavelet_compress", image, threshold=0.0)
    assert isinstance(result, WaveletCompressed)
    assert result.image.dtype == dtype and result.image.shape == image.shape
    tol = 1e-6 if dtype == np.float32 else 0
    assert np.abs(result.image.astype(float) - image.astype(float)).max() <= tol


@pytest.mark.parametrize(("wavelet", "threshold"), [("db4", 12.0), ("haar", 30.0)])
def test_wavelet_compress_equals_pywt_soft_thresholding(wavelet, threshold, small_rgb):
    before = small_rgb.copy()
    result = api.run("restore.wavelet_compress", small_rgb, wavelet=wavelet, threshold=threshold)
    assert np.array_equal(small_rgb, before)
    assert result.table.columns["channel"] == ["red", "green", "blue"]
    for c in range(3):
        rec, zeros, total = reference_compress(small_rgb[..., c].astype(float), wavelet, threshold)
        expected = np.clip(np.rint(rec), 0, 255)
        assert np.abs(result.image[..., c] - expected).max() <= 1  # .5 rounding ties
        assert result.table.columns["zeros"][c] == zeros
        assert result.table.columns["coefficients"][c] == total
        assert result.table.columns["zero_fraction"][c] == pytest.approx(zeros / total)


def test_wavelet_compress_threshold_scale_is_independent_of_dtype(small_rgb):
    grey = small_rgb[..., 0]
    a = api.run("restore.wavelet_compress", grey, threshold=20.0)
    b = api.run("restore.wavelet_compress", convert(grey, np.float32), threshold=20.0)
    assert a.table.columns["zeros"] == b.table.columns["zeros"]
    assert np.abs(a.image / 255.0 - b.image).max() < 0.5 / 255 + 1e-6


def test_wavelet_compress_higher_threshold_more_zeros_more_error(small_rgb):
    grey = small_rgb[..., 2]
    fractions, errors = [], []
    for threshold in (0.0, 5.0, 20.0, 80.0):
        result = api.run("restore.wavelet_compress", grey, threshold=threshold)
        fractions.append(result.table.columns["zero_fraction"][0])
        errors.append(np.abs(result.image.astype(float) - grey).mean())
    # measured zero fractions: 0, 0.35, ..., 0.86
    assert fractions == sorted(fractions) and fractions[-1] > 0.8 and fractions[0] < 0.01
    assert errors == sorted(errors) and errors[0] == 0


def test_wavelet_compress_result_json_has_the_table_not_the_image(small_rgb):
    result = api.run("restore.wavelet_compress", small_rgb[..., 0])
    assert isinstance(result.table, Table) and len(result.table) == 1
    data = result.to_json()
    assert set(data) == {"table"} and data["table"]["columns"]["channel"] == ["gray"]


@pytest.mark.parametrize(("params", "name"), [({"wavelet": "mexh"}, "wavelet"),
                                              ({"threshold": -1.0}, "threshold")])
def test_wavelet_compress_bad_params_name_the_parameter(params, name, small_rgb):
    with pytest.raises(ValueError, match=name):
        api.run("restore.wavelet_compress", small_rgb, **params)
