"""train.gan: seeded, checkpointed, resumable training of the tiny DCGAN."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.models import loading
from imgstudio.models.nets import gan as nets
from imgstudio.ops import _training as tr

SMALL = {"dataset": "digits", "limit": 128, "batch_size": 32}


def _train(tmp_path, file="gan.pt", progress=None, **params):
    args = {**SMALL, "epochs": 2, "output": tmp_path / file, **params}
    return api.run("train.gan", progress=progress, **args)


def _generator(path):
    card = json.loads(path.with_suffix(".json").read_text())
    config = card["config"]
    net = nets.Generator(config["size"], config["z_dim"], config["width"])
    net.load_state_dict(tr.sub_state(loading.state_dict(path), "generator"))
    return net.eval(), card


def test_training_brings_the_samples_towards_the_data(models, tmp_path):
    reports = []
    result = _train(tmp_path, epochs=6, limit=256, batch_size=16,
                    progress=Progress(on_report=lambda n, d: reports.append((n, d))))
    cols = result.losses.columns
    assert cols["epoch"] == [1, 2, 3, 4, 5, 6]
    # the distance of fixed-latent samples to the nearest training digit falls
    assert cols["distance"][-1] < 0.8 * cols["distance"][0], cols["distance"]
    # ... and it is what it says: recomputed here from the written generator
    net, card = _generator(tmp_path / "gan.pt")
    z = np.random.default_rng(0).standard_normal((64, 32), dtype=np.float32)
    with torch.no_grad():
        samples = net(torch.from_numpy(z)).reshape(64, -1).double()
    data = torch.from_numpy(tr.load_images("digits", size=16, limit=256).x).reshape(256, -1)
    nearest = torch.cdist(samples, data.double()).min(1).values.mean()
    assert float(nearest) == pytest.approx(cols["distance"][-1], rel=1e-6)
    # the discriminator's loss is the logistic loss: D(real) above D(fake) once it learned
    assert cols["d_real"][-1] > cols["d_fake"][-1]
    assert card["architecture"] == "dcgan" and card["config"]["z_dim"] == 32
    epochs = [d for name, d in reports if name == "epoch"]
    assert [d["epoch"] for d in epochs] == list(range(1, 7))
    preview = epochs[-1]["preview"]
    assert preview.dtype == np.uint8 and preview.shape == (67, 67) and preview.std() > 0
    assert set(loading.state_dict(tmp_path / "gan.pt")) == {
        f"generator.{k}" for k in net.state_dict()}  # inference weights: the generator only


def test_resume_continues_to_the_weights_of_an_uninterrupted_run(models, tmp_path):
    first = _train(tmp_path, "r.pt", epochs=2)
    resumed = _train(tmp_path, "r.pt", epochs=4, resume=True)
    straight = _train(tmp_path, "s.pt", epochs=4)
    assert resumed.epochs == 4 and resumed.losses.columns["epoch"] == [1, 2, 3, 4]
    for key in ("loss_d", "loss_g", "distance"):
        assert resumed.losses.columns[key][:2] == first.losses.columns[key]
        assert resumed.losses.columns[key] == straight.losses.columns[key]
    a, b = loading.state_dict(tmp_path / "r.pt"), loading.state_dict(tmp_path / "s.pt")
    assert sorted(a) == sorted(b)
    assert all(torch.equal(a[k], b[k]) for k in a)  # batch-norm running statistics too
    # the discriminator and both optimisers continued too: the checkpoints agree
    ca = tr.load_checkpoint(tr.checkpoint_path(tmp_path / "r.pt"))
    cb = tr.load_checkpoint(tr.checkpoint_path(tmp_path / "s.pt"))
    da, db = ca["modules"]["discriminator"], cb["modules"]["discriminator"]
    assert all(torch.equal(da[k], db[k]) for k in da)
    _train(tmp_path, "o.pt", epochs=1, seed=9)
    c = loading.state_dict(tmp_path / "o.pt")
    assert not all(torch.equal(c[k], b[k]) for k in c)


def test_cancel_mid_epoch_keeps_the_last_finished_epoch(models, tmp_path):
    def on_progress(fraction, message):
        if message.startswith("epoch 3/4, batch 3/"):
            progress.cancel()

    progress = Progress(on_progress)
    with pytest.raises(Cancelled):
        _train(tmp_path, "c.pt", progress, epochs=4)
    assert not (tmp_path / "c.pt").exists()
    state = tr.load_checkpoint(tr.checkpoint_path(tmp_path / "c.pt"))
    assert state["epoch"] == 2 and state["history"]["epoch"] == [1, 2]
    assert set(state["modules"]) == {"generator", "discriminator"}
    result = _train(tmp_path, "c.pt", epochs=3, resume=True)
    assert result.losses.columns["epoch"] == [1, 2, 3]


def test_a_trained_gan_is_used_by_name_and_by_file(models, tmp_path):
    _train(tmp_path, "mine.pt", epochs=1, name="my-digits-gan", z_dim=12)
    by_name = api.run("generate.gan_sample", model="my-digits-gan", count=4, seed=1)
    by_path = api.run("generate.gan_sample", model=str(tmp_path / "mine.pt"), count=4, seed=1)
    assert by_name.shape == (33, 33) and np.array_equal(by_name, by_path)
    net, _ = _generator(tmp_path / "mine.pt")
    with torch.no_grad():
        x = net(torch.from_numpy(np.random.default_rng(1).standard_normal((4, 12),
                                                                           dtype=np.float32)))
    expected = np.clip(np.rint(x[:, 0].numpy() * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(by_name, tr.grid(expected, 2))
    with pytest.raises(ValueError, match="model"):
        api.run("generate.vae_sample", model="my-digits-gan")


@pytest.mark.parametrize(("params", "named"), [
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 1}, "batch_size"),
    ({"z_dim": 0}, "z_dim"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"size": 10}, "size"),
    ({"dataset": "/no/such/folder"}, "dataset"),
    ({"name": ""}, "name"),
    ({"resume": True}, "resume"),
])
def test_bad_parameters_are_refused_by_name(models, tmp_path, params, named):
    with pytest.raises(ValueError, match=named):
        _train(tmp_path, **params)
