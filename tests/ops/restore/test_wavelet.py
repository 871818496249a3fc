"""restore.wavelet_compress (imgstudio.ops.restore.wavelet) against PyWavelets thresholding."""

from __future__ import annotations

import numpy as np
import pytest
import pywt

import imgstudio.api as api
from imgstudio.core.types import Table
from imgstudio.ops.restore.wavelet import WaveletCompressed
from tests.ops.helpers import convert, dtypes, kinds

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
