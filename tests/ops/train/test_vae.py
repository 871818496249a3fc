"""train.vae: seeded, checkpointed, resumable training of the convolutional VAE."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.models import loading
from imgstudio.models.nets import vae as nets
from imgstudio.ops import _training as tr

SMALL = {"dataset": "digits", "limit": 128, "batch_size": 32}


def _train(tmp_path, file="vae.pt", progress=None, **params):
    args = {**SMALL, "epochs": 2, "output": tmp_path / file, **params}
    return api.run("train.vae", progress=progress, **args)


def _nets(path):
    card = json.loads(path.with_suffix(".json").read_text())
    tensors = loading.state_dict(path)
    encoder, decoder = nets.build(card["config"])
    encoder.load_state_dict(tr.sub_state(tensors, "encoder"))
    decoder.load_state_dict(tr.sub_state(tensors, "decoder"))
    return encoder.eval(), decoder.eval(), card


def _reconstruction_mse(path, x):
    """MSE of the images decoded from their posterior means, computed here from the file."""
    encoder, decoder, _ = _nets(path)
    with torch.no_grad():
        mu, _ = encoder(x)
        return float(((torch.sigmoid(decoder(mu)) - x) ** 2).mean())


def _digits(n=128):
    return torch.from_numpy(tr.load_images("digits", size=16, limit=n).x)[:, None]


def test_training_lowers_the_loss_and_reports_each_epoch(models, tmp_path):
    reports = []
    result = _train(tmp_path, "a.pt", Progress(on_report=lambda n, d: reports.append((n, d))),
                    epochs=1)
    after_one = _reconstruction_mse(tmp_path / "a.pt", _digits())
    longer = _train(tmp_path, "a.pt", epochs=6, resume=True)
    loss = longer.losses.columns["loss"]
    # untrained, the decoder's logits are near 0: every pixel costs ln 2, 256 ln 2 = 177.4
    assert loss[0] < 256 * np.log(2) + 5, loss
    assert loss[-1] < loss[0] - 20, loss  # measured 169.0 → 133.6
    for a, b in zip(longer.losses.columns["loss"], longer.losses.columns["reconstruction"],
                    strict=True):
        assert b < a  # the KL term is positive
    # the written weights reconstruct the training digits better after six epochs than one
    assert _reconstruction_mse(tmp_path / "a.pt", _digits()) < 0.8 * after_one
    assert result.metrics["loss"] == pytest.approx(loss[0])
    epochs = [d for name, d in reports if name == "epoch"]
    assert [d["epoch"] for d in epochs] == [1]
    preview = epochs[0]["preview"]
    assert preview.dtype == np.uint8 and preview.shape == (67, 67)  # 4 × 4 samples of 16 px
    assert preview.std() > 0


def test_resume_continues_to_the_weights_of_an_uninterrupted_run(models, tmp_path):
    first = _train(tmp_path, "r.pt", epochs=2)
    resumed = _train(tmp_path, "r.pt", epochs=4, resume=True)
    straight = _train(tmp_path, "s.pt", epochs=4)
    assert first.epochs == 2 and resumed.epochs == 4
    assert resumed.losses.columns["epoch"] == [1, 2, 3, 4]
    assert resumed.losses.columns["loss"][:2] == first.losses.columns["loss"]
    assert resumed.losses.columns["loss"] == straight.losses.columns["loss"]
    a, b = loading.state_dict(tmp_path / "r.pt"), loading.state_dict(tmp_path / "s.pt")
    assert sorted(a) == sorted(b) and any(k.startswith("encoder.") for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = _train(tmp_path, "o.pt", epochs=1, seed=1)
    c = loading.state_dict(tmp_path / "o.pt")
    assert not all(torch.equal(c[k], loading.state_dict(tmp_path / "s.pt")[k]) for k in c)
    assert other.losses.columns["loss"][0] != straight.losses.columns["loss"][0]


def test_cancel_mid_epoch_keeps_the_last_finished_epoch(models, tmp_path):
    messages = []

    def on_progress(fraction, message):
        messages.append(message)
        if message.startswith("epoch 2/3, batch 2/"):
            progress.cancel()

    progress = Progress(on_progress)
    with pytest.raises(Cancelled, match="epoch 1"):
        _train(tmp_path, "c.pt", progress, epochs=3)
    assert not (tmp_path / "c.pt").exists()  # no weights, no card: nothing half-written
    state = tr.load_checkpoint(tr.checkpoint_path(tmp_path / "c.pt"))
    assert state["epoch"] == 1 and len(state["history"]["loss"]) == 1
    result = _train(tmp_path, "c.pt", epochs=3, resume=True)
    assert result.losses.columns["epoch"] == [1, 2, 3]
    assert result.losses.columns["loss"][0] == state["history"]["loss"][0]


def test_a_trained_vae_is_used_by_name_and_by_file(models, tmp_path):
    result = _train(tmp_path, "mine.pt", epochs=1, name="my-digits-vae")
    assert result.name == "my-digits-vae"
    by_name = api.run("generate.vae_sample", model="my-digits-vae", count=9, seed=4)
    by_path = api.run("generate.vae_sample", model=str(tmp_path / "mine.pt"), count=9, seed=4)
    assert np.array_equal(by_name, by_path)
    # the op's samples are the decoder's pixel probabilities of N(0, 1) latents (PCG64)
    _, decoder, card = _nets(tmp_path / "mine.pt")
    assert card["architecture"] == "conv-vae" and card["config"]["z_dim"] == 8
    z = np.random.default_rng(4).standard_normal((9, 8), dtype=np.float32)
    with torch.no_grad():
        expected = torch.sigmoid(decoder(torch.from_numpy(z)))[:, 0].numpy()
    expected = np.clip(np.rint(expected * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(by_name, tr.grid(expected, 3))
    assert card["training"]["epochs"] == 1 and card["training"]["seed"] == 0


def test_a_folder_of_dark_on_light_images_trains_and_records_its_background(models, tmp_path):
    from imgstudio.core.io import save_image

    folder = tmp_path / "pics"
    folder.mkdir()
    for i, digit in enumerate(tr.load_images("digits", limit=6).x):
        save_image(folder / f"{i}.png", (255 - np.rint(digit * 255)).astype(np.uint8))
    result = _train(tmp_path, "f.pt", dataset=str(folder), epochs=1, size=12, limit=None)
    _, _, card = _nets(tmp_path / "f.pt")
    assert card["config"]["size"] == 12 and card["config"]["background"] == "light"
    assert "6 images" in card["training"]["dataset"]
    out = api.run("generate.vae_sample", model=result.path, count=4)
    assert out.shape == (25, 25)


@pytest.mark.parametrize(("params", "named"), [
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"z_dim": 0}, "z_dim"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"size": 18}, "size"),
    ({"limit": 1}, "limit"),
    ({"dataset": "no-such-dataset"}, "dataset"),
    ({"name": "bad name"}, "name"),
    ({"resume": True}, "resume"),
])
def test_bad_parameters_are_refused_by_name(models, tmp_path, params, named):
    with pytest.raises(ValueError, match=named):
        _train(tmp_path, **params)


def test_output_must_be_a_weights_file(models, tmp_path):
    with pytest.raises(ValueError, match="output"):
        api.run("train.vae", output=tmp_path, epochs=1)
    with pytest.raises(ValueError, match="output"):
        api.run("train.vae", output=tmp_path / "weights.txt", epochs=1)


def test_resume_with_other_settings_is_refused(models, tmp_path):
    _train(tmp_path, "z.pt", epochs=1)
    with pytest.raises(ValueError, match="other settings"):
        _train(tmp_path, "z.pt", epochs=2, z_dim=4, resume=True)
