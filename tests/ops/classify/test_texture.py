"""classify.gabor_texture: textures told apart from painted samples by Gabor energies."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
import skimage.filters
from scipy import ndimage as ndi

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops.classify.texture import gabor_bank, gabor_energy, gabor_texture


def _mosaic(equalise: bool) -> tuple[np.ndarray, np.ndarray]:
    """A 512² mosaic: brick, grass / gravel, brick turned 90° (each the 512² texture halved),
    and the quadrant of each pixel (1..4). ``equalise``: every quadrant given the same mean and
    standard deviation, so that only texture tells them apart."""
    sources = [skimage.data.brick(), skimage.data.grass(), skimage.data.gravel(),
               np.ascontiguousarray(skimage.data.brick().T)]
    tiles = []
    for src in sources:
        tile = cv2.resize(src, (256, 256), interpolation=cv2.INTER_AREA).astype(np.float64)
        if equalise:
            tile = (tile - tile.mean()) / tile.std() * 40 + 128
        tiles.append(tile)
    image = np.clip(np.block([[tiles[0], tiles[1]], [tiles[2], tiles[3]]]), 0, 255)
    truth = np.ones((512, 512), np.int32)
    truth[:256, 256:], truth[256:, :256], truth[256:, 256:] = 2, 3, 4
    return np.rint(image).astype(np.uint8), truth


def _strokes(shape, values=(1, 2, 3, 4)) -> np.ndarray:
    """One short painted stroke (3 px wide) in each quadrant."""
    samples = np.zeros(shape, np.int32)
    h, w = shape[0] // 2, shape[1] // 2
    for value, (y, x) in zip(values, [(0, 0), (0, w), (h, 0), (h, w)], strict=True):
        cv2.line(samples, (x + w // 5, y + h // 5), (x + 4 * w // 5, y + 3 * h // 5), int(value), 3)
    return samples


@pytest.mark.parametrize("equalise", [False, True])
def test_gabor_texture_classifies_a_mosaic_by_quadrant(equalise):
    image, truth = _mosaic(equalise)
    samples = _strokes(image.shape)
    assert (samples > 0).mean() < 0.02  # the painted strokes cover 1.5 % of the pixels
    out = api.run("classify.gabor_texture", image, samples=samples)
    assert out.shape == truth.shape and out.dtype == np.int32
    per_quadrant = [float((out[truth == q] == q).mean()) for q in range(1, 5)]
    # measured: plain 0.977 (0.996, 0.994, 0.932, 0.986); equalised 0.950 (0.992, 0.838,
    # 0.995, 0.977)
    assert (out == truth).mean() >= 0.90, per_quadrant
    assert min(per_quadrant) >= 0.80, per_quadrant


def test_gabor_texture_tells_grating_orientations_apart():
    """Left: vertical stripes, right: horizontal ones, both of period 10 px (frequency 0.1)."""
    y, x = np.mgrid[:96, :128]
    image = np.where(x < 64, 0.5 + 0.4 * np.sin(2 * np.pi * 0.1 * x),
                     0.5 + 0.4 * np.sin(2 * np.pi * 0.1 * y)).astype(np.float32)
    samples = np.zeros((96, 128), np.int32)
    samples[40:50, 20:30], samples[40:50, 100:110] = 5, 9
    out = api.run("classify.gabor_texture", image, samples=samples, window=15)
    truth = np.where(x < 64, 5, 9)
    assert set(np.unique(out)) == {5, 9}
    assert (out == truth).mean() >= 0.95


def test_gabor_texture_keeps_the_painted_values():
    image, truth = _mosaic(False)
    small, small_truth = image[::2, ::2], truth[::2, ::2]
    values = (7, 3, 20, 12)
    out = api.run("classify.gabor_texture", small, samples=_strokes(small.shape, values))
    assert set(np.unique(out)) <= set(values)
    lut = dict(zip(range(1, 5), values, strict=True))
    assert (out == np.vectorize(lut.get)(small_truth)).mean() >= 0.85


def test_gabor_energy_equals_the_modulus_of_scipy_convolutions():
    """The filter bank's responses, against ``ndimage.convolve`` (mirrored borders) with the
    same kernels; the odd (imaginary) kernel is skimage's ``gabor`` response itself."""
    rng = np.random.default_rng(0)
    grey = rng.random((40, 52)).astype(np.float32)
    for frequency, theta, kernel in gabor_bank((0.15, 0.3), 3):
        got = gabor_energy(grey, kernel, 1)
        re = ndi.convolve(grey.astype(np.float64), kernel.real, mode="reflect")
        im = ndi.convolve(grey.astype(np.float64), kernel.imag, mode="reflect")
        assert np.allclose(got, np.hypot(re, im), atol=1e-5)
        _, sk_im = skimage.filters.gabor(grey.astype(np.float64), frequency, theta=theta,
                                         mode="reflect")
        assert np.allclose(np.abs(im), np.abs(sk_im), atol=1e-6)
        assert abs(kernel.real.sum()) < 1e-9  # flat areas respond 0


@pytest.mark.parametrize("kind", ["uint16", "float32", "rgb", "rgba"])
def test_gabor_texture_same_classes_for_every_dtype_and_layout(kind):
    image, _ = _mosaic(False)
    small = image[::2, ::2]
    samples = _strokes(small.shape)
    ref = api.run("classify.gabor_texture", small, samples=samples)
    other = {
        "uint16": small.astype(np.uint16) * np.uint16(257),
        "float32": small.astype(np.float32) / np.float32(255),
        "rgb": np.repeat(small[..., None], 3, axis=2),
        "rgba": np.dstack([small] * 3 + [np.full_like(small, 90)]),
    }[kind]
    out = api.run("classify.gabor_texture", other, samples=samples)
    assert (out == ref).mean() >= 0.999


def test_gabor_texture_cancels_between_filters():
    image, _ = _mosaic(False)
    token = Progress()
    token.cancel()
    with pytest.raises(Cancelled):
        gabor_texture(image[::4, ::4], _strokes((128, 128)), progress=token)


def test_gabor_texture_bad_samples():
    image = np.zeros((32, 40), np.uint8)
    samples = np.zeros((32, 40), np.int32)
    with pytest.raises(ValueError, match="samples is empty"):
        api.run("classify.gabor_texture", image, samples=samples)
    samples[2:6, 2:6] = 1
    with pytest.raises(ValueError, match="samples must contain at least two"):
        api.run("classify.gabor_texture", image, samples=samples)
    samples[20:24, 20:24] = 2
    with pytest.raises(ValueError, match="samples must have the image's size"):
        api.run("classify.gabor_texture", image, samples=samples[:, :30])
    samples[0, 0] = -1
    with pytest.raises(ValueError, match="samples must be >= 0"):
        api.run("classify.gabor_texture", image, samples=samples)


def test_gabor_texture_bad_params():
    image = np.zeros((32, 40), np.uint8)
    samples = _strokes((32, 40))
    with pytest.raises(ValueError, match="frequencies"):
        api.run("classify.gabor_texture", image, samples=samples, frequencies=(0.1, 0.9))
    with pytest.raises(ValueError, match="frequencies"):
        api.run("classify.gabor_texture", image, samples=samples, frequencies=())
    with pytest.raises(ValueError, match="orientations"):
        api.run("classify.gabor_texture", image, samples=samples, orientations=0)
    with pytest.raises(ValueError, match="window"):
        api.run("classify.gabor_texture", image, samples=samples, window=1)
    # called directly, without the spec's checks
    with pytest.raises(ValueError, match="frequencies"):
        gabor_texture(image, samples, frequencies=(0.0,))
