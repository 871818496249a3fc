"""segment.unet: the shipped unet-default finds held-out synthetic shapes; any size, grey,
RGB(A) and 16-bit give a 0/1 mask of the image's size; tiles agree with one pass; bad
parameters and models are refused by name."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.models import store
from imgstudio.ops.segment.unet import load_net, probabilities, rgb_unit
from imgstudio.ops.train._shapes import VALIDATION_SEED, shapes
from imgstudio.ops.train.unet import iou

#: A seed neither the training (its seeds are drawn from its generator) nor train.unet's
#: validation set uses.
HELD_OUT = 271_828


@pytest.fixture(scope="module")
def held_out():
    assert HELD_OUT != VALIDATION_SEED
    return shapes(128, 64, HELD_OUT)


def test_shipped_model_finds_held_out_shapes(held_out):
    x, y = held_out
    masks = np.stack([api.run("segment.unet", im) for im in x])
    assert masks.dtype == np.int32 and set(np.unique(masks)) <= {0, 1}
    assert iou(masks, y) >= 0.8  # the training script measured it on other held-out images
    # a blank photo crop has nothing to find: far fewer foreground pixels than the shapes
    assert masks.sum() < 1.5 * y.sum()


def test_shipped_model_card_and_file():
    located = store.find("unet-default")
    info = located.info
    assert info.shipped and info.architecture == "imgstudio-unet" and len(info.sha256) == 64
    assert store.sha256_of(located.path) == info.sha256
    assert located.path.stat().st_size < 5_000_000
    assert info.config == {"in_channels": 3, "base": 8, "depth": 4}
    assert info.training["metrics"]["iou"] >= 0.85 and info.training["seed"] == 0


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (37, 53), (64, 64), (17, 100, 3),
                                   (33, 31, 4)])
def test_any_size_gives_a_mask_of_that_size(shape):
    rng = np.random.default_rng(1)
    image = (rng.random(shape) * 255).astype(np.uint8)
    out = api.run("segment.unet", image)
    assert out.shape == shape[:2] and out.dtype == np.int32 and out.flags.c_contiguous
    assert set(np.unique(out)) <= {0, 1}


def test_grey_rgb_rgba_and_16_bit_are_read_alike(held_out):
    x, _ = held_out
    grey8 = np.rint(x[:4].mean(axis=3) * 255).astype(np.uint8)
    for g in grey8[:, 3:60, 5:62]:  # 57×57: padded to 64 and cropped back
        rgb = np.repeat(g[..., None], 3, axis=2)
        rgba = np.dstack([rgb, np.full(g.shape, 7, np.uint8)])
        base = api.run("segment.unet", g)
        assert base.shape == g.shape
        assert np.array_equal(api.run("segment.unet", rgb), base)
        assert np.array_equal(api.run("segment.unet", rgba), base)  # alpha ignored
        as16 = api.run("segment.unet", g.astype(np.uint16) * 257)
        assert np.mean(as16 == base) > 0.999  # the same values, rounded apart in the last bit
        asfloat = api.run("segment.unet", g.astype(np.float32) / 255)
        assert np.mean(asfloat == base) > 0.999


def test_threshold_orders_the_masks(held_out):
    x, y = held_out
    im = x[int(np.argmax(y.sum(axis=(1, 2))))]  # the image with the most shape pixels
    low, mid, high = (api.run("segment.unet", im, threshold=t) for t in (0.1, 0.5, 0.9))
    assert np.all(low >= mid) and np.all(mid >= high) and low.sum() > high.sum()
    assert api.run("segment.unet", im, threshold=1.0).sum() == 0


def test_tiles_agree_with_one_pass_and_cancel_between_tiles(held_out):
    net, lock, stride, _ = load_net("unet-default")
    x, _ = held_out
    # a 200×136 mosaic of held-out images, run whole and in 128-pixel tiles (32 of margin)
    mosaic = rgb_unit(np.ascontiguousarray(np.concatenate(
        [np.concatenate(list(x[3 * r: 3 * r + 3]), axis=1) for r in range(4)])[:200, :136]))
    assert mosaic.shape == (200, 136, 3)
    messages: list[str] = []
    with lock:
        whole = probabilities(net, mosaic, stride)
        tiled = probabilities(net, mosaic, stride, Progress(lambda f, m: messages.append(m)),
                              tile=128, margin=32)
    assert whole.shape == tiled.shape == (200, 136)
    assert np.mean((whole > 0.5) == (tiled > 0.5)) > 0.995
    assert "tile 1/" in messages[0] and len(messages) == len(set(messages)) > 4
    job = Progress(lambda f, m: job.cancel() if m.startswith("tile 2/") else None)
    with pytest.raises(Cancelled), lock:
        probabilities(net, mosaic, stride, job, tile=128, margin=32)


def test_big_image_runs_in_tiles_through_the_op(held_out):
    x, y = held_out
    # 10 × 6 held-out images as one 600×370 picture: tiles of 512 with 32 pixels of margin
    x, y = np.concatenate([x, x[:12, ::-1]]), np.concatenate([y, y[:12, ::-1]])
    big = np.concatenate([np.concatenate(list(x[6 * r: 6 * r + 6]), axis=1) for r in range(10)])
    truth = np.concatenate([np.concatenate(list(y[6 * r: 6 * r + 6]), axis=1) for r in range(10)])
    big, truth = np.ascontiguousarray(big[:600, :370]), truth[:600, :370]
    seen: list[str] = []
    out = api.run("segment.unet", big, progress=Progress(lambda f, m: seen.append(m)))
    assert out.shape == (600, 370) and any(m.startswith("tile 2/2") for m in seen)
    assert iou(out, truth) >= 0.75


@pytest.mark.parametrize("params, name", [
    ({"threshold": 1.5}, "threshold"), ({"threshold": float("nan")}, "threshold"),
    ({"threshold": -0.1}, "threshold"), ({"model": ""}, "model"),
    ({"model": "no-such-unet"}, "no-such-unet"), ({"model": "digits-hog-logreg"}, "model"),
])
def test_bad_parameters_are_refused_by_name(params, name):
    with pytest.raises(ValueError, match=name):
        api.run("segment.unet", np.zeros((8, 8), np.uint8), **params)
