"""restore.mrf_denoise (imgstudio.ops.restore.mrf): MRF binary denoising against sequential ICM."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

import imgstudio.api as api
from tests.ops.helpers import DTYPE_IDS, DTYPES, convert


@pytest.fixture(scope="module")
def horse() -> np.ndarray:
    """An 82×100 binary silhouette (1 = horse) and the same with 10 % of its pixels flipped."""
    shape = (~skimage.data.horse()[::4, ::4]).astype(np.uint8)
    rng = np.random.default_rng(0)
    flipped = rng.random(shape.shape) < 0.10
    return shape, np.where(flipped, 1 - shape, shape).astype(np.uint8)


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
