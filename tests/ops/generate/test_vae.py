"""generate.vae_sample and generate.vae_interpolate with the shipped ``vae-default`` model,
checked against the decoder run here and on the 297 digits it was not trained on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import imgstudio.api as api
from imgstudio.core.progress import Progress
from imgstudio.models import loading, store
from imgstudio.models.nets import vae as nets
from imgstudio.ops import _training as tr

CELL = 17  # 16-pixel samples and a 1-pixel gap


@pytest.fixture(scope="module")
def shipped():
    info = store.find("vae-default")
    tensors = loading.state_dict(info.path)
    encoder, decoder = nets.build(info.info.config)
    encoder.load_state_dict(tr.sub_state(tensors, "encoder"))
    decoder.load_state_dict(tr.sub_state(tensors, "decoder"))
    return encoder.eval(), decoder.eval(), info.info


@pytest.fixture(scope="module")
def heldout():
    """The digits the shipped model was not trained on (sklearn order, from 1,500), 16×16."""
    return tr.load_images("digits", size=16).x[1500:]


def _cells(grid, count, columns):
    return np.stack([grid[(i // columns) * CELL:(i // columns) * CELL + 16,
                          (i % columns) * CELL:(i % columns) * CELL + 16] for i in range(count)])


def _decode(decoder, z):
    with torch.no_grad():
        x = torch.sigmoid(decoder(torch.as_tensor(z, dtype=torch.float32)))[:, 0].numpy()
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)


def test_the_shipped_card_describes_the_model(shipped):
    *_, info = shipped
    assert info.architecture == "conv-vae" and info.shipped
    assert info.config["size"] == 16 and info.config["z_dim"] == 8
    assert info.training["epochs"] >= 20 and info.training["seed"] == 0
    assert store.find("vae-default").path.stat().st_size < 5 * 2**20


def test_samples_are_the_decoder_of_seeded_normal_latents(models, shipped):
    _, decoder, _ = shipped
    out = api.run("generate.vae_sample", count=16, seed=0)
    assert out.dtype == np.uint8 and out.shape == (67, 67)
    z = np.random.default_rng(0).standard_normal((16, 8), dtype=np.float32)
    assert np.array_equal(_cells(out, 16, 4), _decode(decoder, z))
    assert np.array_equal(out, api.run("generate.vae_sample", count=16, seed=0))
    other = api.run("generate.vae_sample", count=16, seed=1)
    assert not np.array_equal(out, other)
    five = api.run("generate.vae_sample", count=5, seed=0)
    assert five.shape == (2 * CELL - 1, 3 * CELL - 1)  # ⌈√5⌉ = 3 columns, 2 rows
    assert np.array_equal(_cells(five, 5, 3), _cells(out, 5, 4))  # the first five of sixteen


def test_samples_are_reported_as_they_are_made(models):
    reports = []
    out = api.run("generate.vae_sample", count=10, seed=2,
                  progress=Progress(on_report=lambda n, d: reports.append((n, d))))
    assert [d["index"] for n, d in reports if n == "sample"] == list(range(10))
    final = _cells(out, 10, 4)
    for _, data in reports:
        cells = _cells(data["image"], 10, 4)
        k = data["index"]
        assert data["count"] == 10 and data["image"].dtype == np.uint8
        assert np.array_equal(cells[:k + 1], final[:k + 1]) and not cells[k + 1:].any()


def test_interpolation_ends_reconstruct_the_inputs_better_than_prior_samples(models, heldout):
    pairs = [(heldout[i], heldout[i + 1]) for i in range(0, 40, 2)]
    ends, prior = [], []
    samples = _cells(api.run("generate.vae_sample", count=40, seed=5), 40, 7) / 255.0
    for k, (a, b) in enumerate(pairs):
        strip = api.run("generate.vae_interpolate", a, other=b, steps=6)
        assert strip.shape == (16, 6 * CELL - 1) and strip.dtype == np.uint8
        cells = _cells(strip, 6, 6) / 255.0
        ends += [np.mean((cells[0] - a) ** 2), np.mean((cells[-1] - b) ** 2)]
        prior += [np.mean((samples[2 * k] - a) ** 2), np.mean((samples[2 * k + 1] - b) ** 2)]
    assert np.mean(ends) < 0.5 * np.mean(prior), (np.mean(ends), np.mean(prior))  # 0.011 vs 0.074


def test_interpolation_decodes_the_line_between_the_posterior_means(models, shipped, heldout):
    encoder, decoder, _ = shipped
    a, b = heldout[3], heldout[10]
    strip = api.run("generate.vae_interpolate", a, other=b, steps=5)
    with torch.no_grad():
        mu, _ = encoder(torch.from_numpy(np.stack([a, b]))[:, None])
    t = torch.linspace(0, 1, 5)[:, None]
    expected = _decode(decoder, (1 - t) * mu[0] + t * mu[1])
    got = _cells(strip, 5, 5).astype(int)
    assert np.abs(got - expected).max() <= 1  # same maths, rounding of the float sums aside


def test_a_dark_digit_on_white_paper_is_made_to_look_like_the_training_data(models, heldout):
    """An inverted, enlarged RGB copy of two digits interpolates like the digits themselves."""
    import cv2

    a, b = heldout[0], heldout[1]

    def paper(digit):
        big = cv2.resize(1.0 - digit, (48, 48), interpolation=cv2.INTER_LINEAR)
        return np.repeat(np.rint(big * 255).astype(np.uint8)[..., None], 3, axis=2)

    plain = _cells(api.run("generate.vae_interpolate", a, other=b, steps=4), 4, 4) / 255.0
    printed = _cells(api.run("generate.vae_interpolate", paper(a), other=paper(b), steps=4),
                     4, 4) / 255.0
    assert np.mean((plain - printed) ** 2) < 0.01
    assert np.mean((printed[0] - a) ** 2) < 0.03


@pytest.mark.parametrize(("op", "params", "named"), [
    ("generate.vae_sample", {"count": 0}, "count"),
    ("generate.vae_sample", {"seed": -1}, "seed"),
    ("generate.vae_sample", {"model": ""}, "model"),
    ("generate.vae_sample", {"model": "gan-default"}, "model"),
    ("generate.vae_interpolate", {"steps": 1}, "steps"),
    ("generate.vae_interpolate", {"model": "gan-default"}, "model"),
])
def test_bad_parameters_are_refused_by_name(models, op, params, named):
    inputs = () if op == "generate.vae_sample" else (np.zeros((8, 8), np.float32),)
    extra = {} if op == "generate.vae_sample" else {"other": np.ones((8, 8), np.float32)}
    with pytest.raises(ValueError, match=named):
        api.run(op, *inputs, **extra, **params)


def test_weights_of_another_architecture_under_a_vae_card_are_refused(models, tmp_path):
    """A GAN's generator file with a card claiming ``conv-vae``: refused, naming the model."""
    import json
    import shutil

    fake = tmp_path / "fake.pt"
    shutil.copyfile(store.find("gan-default").path, fake)
    card = store.find("vae-default").info.to_json()
    card.update(name="fake", file="fake.pt", sha256=store.sha256_of(fake))
    fake.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="model: 'fake'.*encoder"):
        api.run("generate.vae_sample", model=str(fake))
    with pytest.raises(ValueError, match="model"):
        api.run("generate.vae_sample", model=str(tmp_path / "missing.pt"))
