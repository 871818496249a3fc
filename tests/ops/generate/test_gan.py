"""generate.gan_sample with the shipped ``gan-default`` model, checked against the generator
run here and against the 297 digits it was not trained on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import imgstudio.api as api
from imgstudio.core.progress import Progress
from imgstudio.models import loading, store
from imgstudio.models.nets import gan as nets
from imgstudio.ops import _training as tr

CELL = 17  # 16-pixel samples and a 1-pixel gap


@pytest.fixture(scope="module")
def shipped():
    located = store.find("gan-default")
    config = located.info.config
    net = nets.Generator(config["size"], config["z_dim"], config["width"])
    net.load_state_dict(tr.sub_state(loading.state_dict(located.path), "generator"))
    return net.eval(), located.info


def _cells(grid, count, columns):
    return np.stack([grid[(i // columns) * CELL:(i // columns) * CELL + 16,
                          (i % columns) * CELL:(i % columns) * CELL + 16] for i in range(count)])


def test_the_shipped_card_describes_the_model(shipped):
    _, info = shipped
    assert info.architecture == "dcgan" and info.shipped
    assert info.config == {"size": 16, "z_dim": 32, "width": 64, "d_width": 32}
    assert info.training["seed"] == 0
    assert store.find("gan-default").path.stat().st_size < 5 * 2**20
    tensors = loading.state_dict(store.find("gan-default").path)
    assert all(k.startswith("generator.") for k in tensors)  # the discriminator is not kept


def test_samples_are_the_generator_of_seeded_normal_latents(models, shipped):
    net, _ = shipped
    out = api.run("generate.gan_sample", count=16, seed=0)
    assert out.dtype == np.uint8 and out.shape == (67, 67)
    z = np.random.default_rng(0).standard_normal((16, 32), dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(z))[:, 0].numpy()
    assert np.array_equal(_cells(out, 16, 4),
                          np.clip(np.rint(expected * 255), 0, 255).astype(np.uint8))
    assert np.array_equal(out, api.run("generate.gan_sample", count=16, seed=0))
    assert not np.array_equal(out, api.run("generate.gan_sample", count=16, seed=1))
    three = api.run("generate.gan_sample", count=3, seed=0)
    assert three.shape == (2 * CELL - 1, 2 * CELL - 1)  # ⌈√3⌉ = 2 columns, 2 rows
    assert np.array_equal(_cells(three, 3, 2), _cells(out, 3, 4))
    assert api.run("generate.gan_sample", count=30).shape == (5 * CELL - 1, 6 * CELL - 1)


def test_samples_are_reported_as_they_are_made(models):
    reports = []
    out = api.run("generate.gan_sample", count=11, seed=3,
                  progress=Progress(on_report=lambda n, d: reports.append((n, d))))
    assert [d["index"] for n, d in reports if n == "sample"] == list(range(11))
    final = _cells(out, 11, 4)
    for _, data in reports:
        cells = _cells(data["image"], 11, 4)
        k = data["index"]
        assert np.array_equal(cells[:k + 1], final[:k + 1]) and not cells[k + 1:].any()


def test_samples_look_like_held_out_digits(models):
    """Mean distance from each of 256 samples to its nearest held-out digit, against the same
    samples with their pixels shuffled (same grey levels, no strokes)."""
    heldout = tr.load_images("digits", size=16).x[1500:].reshape(297, -1).astype(np.float64)
    samples = _cells(api.run("generate.gan_sample", count=256, seed=7), 256, 16)
    samples = samples.reshape(256, -1) / 255.0
    rng = np.random.default_rng(0)
    shuffled = np.stack([rng.permutation(row) for row in samples])

    def nearest(x):
        d2 = (x ** 2).sum(1)[:, None] - 2 * x @ heldout.T + (heldout ** 2).sum(1)[None]
        return float(np.sqrt(np.maximum(d2.min(1), 0)).mean())

    real = nearest(tr.load_images("digits", size=16).x[:256].reshape(256, -1).astype(np.float64))
    assert nearest(samples) < 0.6 * nearest(shuffled), (nearest(samples), nearest(shuffled))
    assert nearest(samples) < 1.5 * real, (nearest(samples), real)


@pytest.mark.parametrize(("params", "named"), [
    ({"count": 0}, "count"),
    ({"count": 5000}, "count"),
    ({"seed": 2**31}, "seed"),
    ({"model": "vae-default"}, "model"),
    ({"model": "no-such-model"}, "no-such-model"),
])
def test_bad_parameters_are_refused_by_name(models, params, named):
    with pytest.raises(ValueError, match=named):
        api.run("generate.gan_sample", **params)


def test_weights_of_another_architecture_under_a_gan_card_are_refused(models, tmp_path):
    import json
    import shutil

    fake = tmp_path / "fake.pt"
    shutil.copyfile(store.find("vae-default").path, fake)
    card = store.find("gan-default").info.to_json()
    card.update(name="fake", file="fake.pt", sha256=store.sha256_of(fake))
    fake.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="model: 'fake'.*generator"):
        api.run("generate.gan_sample", model=str(fake))
    card["config"] = {"size": 18, "z_dim": 32, "width": 64}  # not a multiple of 4
    fake.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="size"):
        api.run("generate.gan_sample", model=str(fake))
