"""enhance.frequency_filter (imgstudio.ops.enhance.frequency) against the closed-form transfer
functions applied here with numpy.fft to the mirror-extended image, and its basic properties."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from tests.ops.enhance.helpers import assert_close, camera, to_dtype, unit
from tests.ops.helpers import dtypes

KINDS = ["ideal_lowpass", "gaussian_lowpass", "butterworth_lowpass", "ideal_highpass",
         "gaussian_highpass", "butterworth_highpass", "notch"]


def closed_form(kind: str, d: np.ndarray, d0: float, n: int, w: float) -> np.ndarray:
    """Textbook (Gonzalez & Woods) transfer functions H(D)."""
    with np.errstate(divide="ignore", over="ignore"):
        low = {
            "ideal": (d <= d0).astype(float),
            "gaussian": np.exp(-(d**2) / (2 * d0**2)),
            "butterworth": 1 / (1 + (d / d0) ** (2 * n)),
        }
        if kind == "notch":  # Butterworth band-reject
            return 1 / (1 + (d * w / (d**2 - d0**2)) ** (2 * n))
    family, pass_ = kind.split("_")
    return low[family] if pass_ == "lowpass" else 1 - low[family]


def fft_reference(image: np.ndarray, kind: str, d0: float, n: int = 2, w: float = 10.0):
    """Mirror each plane to 2H × 2W, multiply its full FFT by H(D) with D in pixels of the
    original image's centred spectrum (half the padded index), crop; float64 in [0, 1] units."""
    x = unit(image)
    planes = x[..., None] if x.ndim == 2 else x
    out = np.empty(planes.shape)
    h, wd = x.shape[:2]
    u = np.fft.fftfreq(2 * h) * 2 * h / 2
    v = np.fft.fftfreq(2 * wd) * 2 * wd / 2
    gain = closed_form(kind, np.hypot(u[:, None], v[None, :]), d0, n, w)
    for c in range(planes.shape[2]):
        big = np.pad(planes[..., c], ((0, h), (0, wd)), mode="symmetric")
        out[..., c] = np.fft.ifft2(np.fft.fft2(big) * gain).real[:h, :wd]
    if kind.endswith("highpass"):
        out += 0.5
    return out.reshape(x.shape)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("image_kind", ["gray", "rgb"])
def test_frequency_filter_float32_equals_closed_form_fft(kind, image_kind, make):
    image = make(np.float32, image_kind)
    expected = fft_reference(image, kind, 12.0, 3, 6.0)
    out = api.run("enhance.frequency_filter", image, kind=kind, cutoff=12.0, order=3, width=6.0)
    assert_close(out, np.clip(expected, 0, 1).astype(np.float32), float_tol=2e-6)


@dtypes
def test_frequency_filter_integer_dtypes_round_the_same_result(dtype, make):
    image = make(dtype, "rgb")
    expected = to_dtype(fft_reference(image, "butterworth_lowpass", 8.0), dtype)
    out = api.run("enhance.frequency_filter", image, kind="butterworth_lowpass", cutoff=8.0)
    assert_close(out, expected, int_tol=1, float_tol=2e-6)


@pytest.mark.parametrize("kind", ["ideal_lowpass", "gaussian_lowpass", "butterworth_lowpass",
                                  "notch"])
@dtypes
def test_lowpass_and_notch_of_a_constant_image_is_the_constant(kind, dtype):
    value = {np.uint8: 77, np.uint16: 40000, np.float32: 0.3}[dtype]
    image = np.full((30, 41, 3), value, dtype)
    out = api.run("enhance.frequency_filter", image, kind=kind, cutoff=5.0)
    assert_close(out, image, int_tol=0, float_tol=1e-6)


@pytest.mark.parametrize("kind", ["ideal_highpass", "gaussian_highpass", "butterworth_highpass"])
def test_highpass_removes_the_mean(kind):
    image = camera()
    out = api.run("enhance.frequency_filter", image, kind=kind, cutoff=10.0)
    # the mean becomes the mid-grey offset (up to clipping of the few extreme values)
    assert abs(out.mean() - 127.5) < 1.0
    flat = api.run("enhance.frequency_filter", np.full((20, 30), 0.8, np.float32), kind=kind,
                   cutoff=10.0)
    assert np.allclose(flat, 0.5, atol=1e-6)


def test_lowpass_smooths_more_with_a_lower_cutoff():
    image = camera()
    detail = [np.abs(np.diff(unit(api.run("enhance.frequency_filter", image, cutoff=c)),
                             axis=1)).mean() for c in (40.0, 20.0, 5.0)]
    assert detail[0] > detail[1] > detail[2]


def test_notch_removes_a_periodic_pattern():
    clean = unit(camera())
    yy, xx = np.mgrid[: clean.shape[0], : clean.shape[1]]
    # 20 cycles across the width: D = 20 in the centred spectrum
    stripes = 0.15 * np.sin(2 * np.pi * 20 * (xx + 0.5) / clean.shape[1])
    noisy = np.clip(clean * 0.7 + 0.15 + stripes, 0, 1).astype(np.float32)
    target = (clean * 0.7 + 0.15).astype(np.float32)
    out = api.run("enhance.frequency_filter", noisy, kind="notch", cutoff=20.0, width=3.0)
    assert np.abs(out - target).mean() < 0.35 * np.abs(noisy - target).mean()


@pytest.mark.parametrize(("params", "name"), [({"cutoff": 0.0}, "cutoff"), ({"order": 0}, "order"),
                                              ({"kind": "bandpass"}, "kind"),
                                              ({"width": 0.0}, "width")])
def test_frequency_filter_bad_params_name_the_parameter(params, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("enhance.frequency_filter", make(), **params)
    with pytest.raises(ValueError, match=name):  # given as text, as the CLI and recipes do
        api.run("enhance.frequency_filter", make(), **{k: str(v) for k, v in params.items()})
