"""generate.colorize: lightness kept exactly, colour from our shipped CNN or a (tiny, hand-made)
Zhang et al. caffe model run through cv2.dnn."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.color import rgb2lab

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.models import store
from imgstudio.ops.generate.colorize import (
    ZHANG_ANNEAL,
    fit_chroma,
    lab_to_rgb,
    srgb_bins,
    zhang_bins,
)

LEVEL = 100.0 / 255.0  # one level of 8-bit L* (OpenCV's and most 8-bit Lab encodings)


def _unit(image):
    return image.astype(np.float64) / {np.uint8: 255.0, np.uint16: 65535.0}.get(image.dtype.type, 1.0)


def _lab(rgb):
    return rgb2lab(_unit(rgb)[..., :3])


def _grey_lightness(image):
    """L* of the image's grey value: itself if grey, else 0.299 R + 0.587 G + 0.114 B."""
    x = _unit(image)
    grey = x if x.ndim == 2 else x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114
    return rgb2lab(np.repeat(grey[..., None], 3, axis=2))[..., 0]


@pytest.fixture(scope="module")
def cat():
    """The held-out photo (not used in training), longer side 256 as in training."""
    rgb = data.chelsea()
    return cv2.resize(rgb, (256, 170), interpolation=cv2.INTER_AREA)


# -- ours: colorize-default ---------------------------------------------------------------------

def test_ours_keeps_the_lightness_of_a_grey_uint8_image_within_one_8bit_level():
    grey = cv2.resize(data.camera(), (400, 300), interpolation=cv2.INTER_AREA)  # > work size
    out = api.run("generate.colorize", grey)
    assert out.shape == (300, 400, 3) and out.dtype == np.uint8
    diff = np.abs(_lab(out)[..., 0] - _grey_lightness(grey))
    assert diff.max() <= LEVEL, diff.max()  # measured 0.2
    assert np.abs(_lab(out)[..., 1:]).max() > 5  # and it did colour something


def test_an_rgb_input_is_taken_as_its_luma_and_alpha_is_kept(cat):
    rgba = np.dstack([cat, np.full(cat.shape[:2], 77, np.uint8)])
    out = api.run("generate.colorize", rgba)
    assert out.shape == (*cat.shape[:2], 4) and out.dtype == np.uint8
    assert (out[..., 3] == 77).all()
    assert np.abs(_lab(out)[..., 0] - _grey_lightness(cat)).max() <= LEVEL
    # an RGB image and its grey version get the same colours
    grey = np.rint(cat @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    assert np.abs(out[..., :3].astype(int) - api.run("generate.colorize", grey).astype(int)).max() <= 2


@pytest.mark.parametrize("dtype, tol", [(np.uint16, 0.01), (np.float32, 1e-3)])
def test_other_dtypes_keep_their_dtype_and_lightness_more_precisely(dtype, tol):
    ramp = np.linspace(0.0, 1.0, 64 * 48).reshape(48, 64)
    image = (ramp * 65535).round().astype(np.uint16) if dtype == np.uint16 else ramp.astype(np.float32)
    out = api.run("generate.colorize", image)
    assert out.dtype == dtype and out.shape == (48, 64, 3)
    assert np.abs(_lab(out)[..., 0] - _grey_lightness(image)).max() < tol


def test_ours_on_the_held_out_photo_beats_leaving_it_grey(cat):
    """scikit-image's chelsea was held out of training. The a*b* error (mean Euclidean distance
    to the photo's own a*b*) of our prediction is below that of a grey (a*b* = 0) output, and
    the output is measurably colourful. Measured: error 16.8 vs 22.9 grey; chroma 37 (the
    photo's is 23: the cast is too strong)."""
    truth = _lab(cat)[..., 1:]
    grey = np.rint(cat @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    pred = _lab(api.run("generate.colorize", grey))[..., 1:]
    error = np.sqrt(((pred - truth) ** 2).sum(-1)).mean()
    grey_error = np.sqrt((truth ** 2).sum(-1)).mean()
    chroma = np.sqrt((pred ** 2).sum(-1)).mean()
    assert error < 0.85 * grey_error, (error, grey_error)
    assert chroma > 5.0, chroma


# -- the gamut, and the bins of Zhang et al. ------------------------------------------------------

def test_fit_chroma_keeps_lightness_and_hue_and_shrinks_only_as_needed():
    lightness = np.array([[30.0, 50.0, 90.0, 60.0]])
    ab = np.array([[[80.0, -100.0], [0.0, 100.0], [-60.0, 90.0], [10.0, 10.0]]])
    fitted = fit_chroma(lightness, ab)
    rgb_in = lab_to_rgb(lightness, fitted)
    back = rgb2lab(rgb_in)
    assert np.abs(back[..., 0] - lightness).max() < 1e-6
    assert np.allclose(back[..., 1:], fitted, atol=1e-4)  # in gamut: no clipping happened
    assert np.allclose(fitted[0, 3], ab[0, 3])  # an in-gamut colour is left alone
    factor = np.linalg.norm(fitted[0, :3], axis=-1) / np.linalg.norm(ab[0, :3], axis=-1)
    assert (factor < 1).all()
    assert np.allclose(fitted[0, :3] / factor[:, None], ab[0, :3])  # same hue
    # 1 % more chroma would leave the gamut: the largest factor that fits was found
    from imgstudio.ops.generate.colorize import _in_gamut

    more = fitted[0, :3] * 1.01
    assert not _in_gamut(lightness[0, :3], more[:, 0], more[:, 1]).any()


def test_the_313_bins_are_a_10_grid_ordered_a_then_b_and_hold_the_srgb_grid_points():
    bins = zhang_bins()
    assert bins.shape == (313, 2) and len({tuple(p) for p in bins}) == 313
    assert (bins % 10 == 0).all() and bins.min() >= -110 and bins.max() <= 110
    order = np.lexsort((bins[:, 1], bins[:, 0]))
    assert (order == np.arange(313)).all()
    computed = {tuple(p) for p in srgb_bins(reach=0, levels=1001)}
    assert len(computed) == 229  # grid points whose own colour is sRGB at some L*
    assert computed <= {tuple(p) for p in bins}


# -- bring your own: zhang-eccv16 through cv2.dnn ------------------------------------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2): key, length, bytes."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _blob(values) -> bytes:
    """caffe's BlobProto: shape (field 7, a BlobShape whose packed int64 dims are field 1)
    and data (field 5, packed little-endian float32)."""
    values = np.asarray(values, dtype="<f4")
    return _field(7, _field(1, b"".join(_varint(d) for d in values.shape))) + _field(5, values.tobytes())


def _layer(name: str, kind: str, blobs) -> bytes:
    """caffe's LayerParameter: name (1), type (2), blobs (7, repeated)."""
    return _field(1, name.encode()) + _field(2, kind.encode()) + b"".join(_field(7, _blob(b)) for b in blobs)


PROTOTXT = """name: "tiny-colorization"
input: "data_l"
input_shape { dim: 1 dim: 1 dim: 224 dim: 224 }
layer { name: "conv8_313" type: "Convolution" bottom: "data_l" top: "conv8_313"
  convolution_param { num_output: 313 kernel_size: 1 } }
layer { name: "conv8_313_rh" type: "Scale" bottom: "conv8_313" top: "conv8_313_rh"
  scale_param { bias_term: false } }
layer { name: "class8_313_rh" type: "Softmax" bottom: "conv8_313_rh" top: "class8_313_rh" }
layer { name: "class8_ab" type: "Convolution" bottom: "class8_313_rh" top: "class8_ab"
  convolution_param { num_output: 2 kernel_size: 1 bias_term: false } }
"""


def _tiny_zhang(folder, weight, bias, name="zhang-eccv16"):
    """A caffe model shaped like the end of Zhang et al.'s (313 logits → ×2.606 → softmax →
    a*b* by the bin centres), its 313 logits a 1×1 convolution of the centred L*: ``weight *
    (L* − 50) + bias``. The caffemodel (NetParameter: layers are field 100) is written here by
    hand; the scale and the centres are left wrong (1 and 0) for the op to set."""
    model = _field(1, b"tiny-colorization")
    model += _field(100, _layer("conv8_313", "Convolution",
                                [np.reshape(weight, (313, 1, 1, 1)), np.reshape(bias, 313)]))
    model += _field(100, _layer("conv8_313_rh", "Scale", [np.ones((1, 313))]))
    model += _field(100, _layer("class8_ab", "Convolution", [np.zeros((2, 313, 1, 1))]))
    (folder / "tiny.caffemodel").write_bytes(model)
    (folder / "tiny.prototxt").write_text(PROTOTXT)
    store.import_file(folder / "tiny.caffemodel", name, format="caffe",
                      companions=[folder / "tiny.prototxt"])


def _in_gamut_bin(lightness):
    from imgstudio.ops.generate.colorize import _in_gamut

    bins = zhang_bins().astype(np.float64)
    ok = _in_gamut(np.full(313, lightness), bins[:, 0] * 1.2, bins[:, 1] * 1.2)
    return [i for i in np.flatnonzero(ok) if np.hypot(*bins[i]) >= 30]


def test_byo_zhang_runs_through_cv2_dnn_and_decodes_with_the_bin_centres(models, tmp_path):
    """Known answer: logit +1·(L*−50) for bin j, −1·(L*−50) for bin k. A dark left half (L* ≈ 25)
    makes k win the softmax, a bright right half (L* ≈ 80) j: the output's a*b* there are those
    bins' centres, and its L* the input's. (Without the −50, every pixel would be j.)"""
    dark_bins, bright_bins = _in_gamut_bin(25.0), _in_gamut_bin(80.0)
    j, k = bright_bins[len(bright_bins) // 2], dark_bins[len(dark_bins) // 3]
    weight = np.zeros(313)
    weight[j], weight[k] = 1.0, -1.0
    _tiny_zhang(tmp_path, weight, np.zeros(313))
    image = np.zeros((60, 90), np.float32)
    image[:, :45], image[:, 45:] = 0.24, 0.78  # sRGB greys of L* ≈ 25 and ≈ 80
    out = api.run("generate.colorize", image, model="zhang-eccv16")
    lab = _lab(out)
    assert np.abs(lab[..., 0] - _grey_lightness(image)).max() < 1e-3
    centres = zhang_bins()
    assert np.allclose(lab[:, :35, 1:], centres[k], atol=0.05)
    assert np.allclose(lab[:, 55:, 1:], centres[j], atol=0.05)
    out8 = api.run("generate.colorize", (image * 255).round().astype(np.uint8), model="zhang-eccv16")
    assert np.abs(_lab(out8)[..., 0] - _grey_lightness((image * 255).round().astype(np.uint8))).max() <= LEVEL
    assert np.allclose(_lab(out8)[:, 55:, 1:], centres[j], atol=1.5)


def test_byo_zhang_is_the_annealed_mean_of_the_softmax(models, tmp_path):
    """Random small logits: the output's a*b* is Σ softmax(2.606 · z) · centre, computed here."""
    rng = np.random.default_rng(3)
    weight, bias = rng.normal(0, 0.02, 313), rng.normal(0, 0.6, 313)
    _tiny_zhang(tmp_path, weight, bias)
    lightness = 60.0
    grey = float(lab_to_rgb(np.array([lightness]), np.zeros((1, 2)))[0, 0])
    out = api.run("generate.colorize", np.full((16, 16), grey, np.float32), model="zhang-eccv16")
    z = ZHANG_ANNEAL * (weight * (lightness - 50.0) + bias)
    p = np.exp(z - z.max())
    expected = (p / p.sum()) @ zhang_bins().astype(np.float64)
    got = _lab(out)[8, 8]
    assert abs(got[0] - lightness) < 1e-3
    assert np.hypot(*expected) > 3  # a real colour, not grey
    assert np.allclose(got[1:], expected, atol=0.05), (got, expected)


def test_missing_zhang_names_the_import_command(models):
    with pytest.raises(ModelNotFoundError) as err:
        api.run("generate.colorize", np.zeros((8, 8), np.uint8), model="zhang-eccv16")
    assert "imgstudio models import colorization_release_v2.caffemodel --name zhang-eccv16" in str(err.value)
    assert "colorization_deploy_v2.prototxt" in str(err.value)


def test_a_model_of_another_kind_is_refused(models):
    with pytest.raises(ValueError, match="model"):
        api.run("generate.colorize", np.zeros((8, 8), np.uint8), model="rbm-default")
    with pytest.raises(ValueError, match="model"):
        api.run("generate.colorize", np.zeros((8, 8), np.uint8), model=" ")
