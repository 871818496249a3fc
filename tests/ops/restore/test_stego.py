"""LSB steganography (imgstudio.ops.restore.stego): stego_hide and stego_reveal."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.io import load_image, save_image
from imgstudio.core.types import Text
from tests.ops.helpers import convert

# -- stego ------------------------------------------------------------------------------------


MESSAGE = "Grüße aus Köln! 日本語のテキスト 🎨 — line two\nline three"


@pytest.mark.parametrize("case", ["uint8-gray", "uint8-rgb", "uint8-rgba", "uint16-rgb"])
def test_stego_round_trip_is_lossless_for_unicode(case, rgb):
    dtype, kind = case.split("-")
    image = {"gray": rgb[..., 0], "rgb": rgb,
             "rgba": np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])}[kind]
    image = convert(image, np.dtype(dtype).type)
    before = image.copy()
    hidden = api.run("restore.stego_hide", image, message=MESSAGE)
    assert np.array_equal(image, before)
    assert hidden.dtype == image.dtype and hidden.shape == image.shape
    # only the lowest bits change, and only the first 8 × (12 + bytes) colour samples
    diff = np.abs(hidden.astype(int) - image.astype(int))
    assert diff.max() == 1
    colour = (diff if kind == "gray" else diff[..., :3]).ravel()
    assert not colour[8 * (12 + len(MESSAGE.encode())):].any()
    if kind == "rgba":
        assert np.array_equal(hidden[..., 3], image[..., 3])
    revealed = api.run("restore.stego_reveal", hidden)
    assert isinstance(revealed, Text) and revealed.items == [(MESSAGE, None)]
    assert revealed.text == MESSAGE


def test_stego_survives_a_png_round_trip(tmp_path, rgb):
    hidden = api.run("restore.stego_hide", rgb, message=MESSAGE)
    save_image(tmp_path / "secret.png", hidden)
    assert api.run("restore.stego_reveal", load_image(tmp_path / "secret.png")).text == MESSAGE
    deep = api.run("restore.stego_hide", convert(rgb, np.uint16), message="16-bit ✓")
    save_image(tmp_path / "deep.png", deep)
    assert api.run("restore.stego_reveal", load_image(tmp_path / "deep.png")).text == "16-bit ✓"


def test_stego_reveal_of_a_clean_image_says_no_message(rgb):
    assert api.run("restore.stego_reveal", rgb).items == []
    assert api.run("restore.stego_reveal", rgb[:3, :3]).items == []  # too small for a header


def test_stego_empty_message_is_told_apart_from_no_message(rgb):
    hidden = api.run("restore.stego_hide", rgb, message="")
    assert api.run("restore.stego_reveal", hidden).items == [("", None)]


def test_stego_damaged_message_is_not_revealed(rgb):
    hidden = api.run("restore.stego_hide", rgb, message="hello there")
    damaged = hidden.copy()
    damaged.reshape(-1)[100] ^= 1  # flip one payload bit: the CRC no longer matches
    assert api.run("restore.stego_reveal", damaged).items == []


def test_stego_fills_the_image_to_capacity(rgb):
    capacity = rgb[:8, :8].size // 8 - 12  # bytes
    full = api.run("restore.stego_hide", rgb[:8, :8], message="x" * capacity)
    assert api.run("restore.stego_reveal", full).text == "x" * capacity


def test_stego_bad_params_too_long_message_names_message(rgb):
    with pytest.raises(ValueError, match="message"):
        api.run("restore.stego_hide", rgb[:8, :8], message="x" * (rgb[:8, :8].size // 8 - 11))


def test_stego_bad_params_float_image_names_image(rgb):
    image = convert(rgb, np.float32)
    with pytest.raises(ValueError, match="image"):
        api.run("restore.stego_hide", image, message="hi")
    with pytest.raises(ValueError, match="image"):
        api.run("restore.stego_reveal", image)
