"""train.rbm: seeded, checkpointed, resumable training of scikit-learn's BernoulliRBM."""

from __future__ import annotations

import json

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.models import loading, store

SMALL = {"dataset": "digits", "limit": 300, "n_components": 64, "batch_size": 10,
         "learning_rate": 0.2}


def _train(tmp_path, file="rbm.npz", progress=None, **params):
    args = {**SMALL, "epochs": 2, "output": tmp_path / file, **params}
    return api.run("train.rbm", progress=progress, **args)


def _arrays(path):
    return loading.npz(path)


def test_training_raises_the_pseudo_likelihood_and_reports_each_epoch(models, tmp_path):
    reports = []
    progress = Progress(on_report=lambda name, data: reports.append((name, data)))
    result = _train(tmp_path, epochs=6, progress=progress)
    pl = result.losses.columns["pseudo_likelihood"]
    assert len(pl) == 6 and result.epochs == 6
    # untrained (weights ~0, biases 0) every pixel is on with probability 1/2 and the
    # pseudo-likelihood is -64 ln 2 = -44.4; one epoch is far above that, six further still
    assert pl[0] > -64 * np.log(2) + 10, pl
    assert pl[-1] > pl[0] + 2.0, pl  # measured -26.9 → -22.8
    assert result.metrics["pseudo_likelihood"] == pytest.approx(pl[-1])
    epochs = [d for name, d in reports if name == "epoch"]
    assert [d["epoch"] for d in epochs] == list(range(1, 7))
    preview = epochs[-1]["preview"]
    assert preview.dtype == np.uint8 and preview.ndim == 2 and max(preview.shape) <= 256
    assert preview.std() > 0  # not a blank picture


def test_the_pseudo_likelihood_is_scikit_learns_score_samples(models, tmp_path):
    """The arrays written are an RBM: rebuilt as a BernoulliRBM, its ``score_samples`` mean on
    the training digits is the reported final pseudo-likelihood."""
    from sklearn.datasets import load_digits
    from sklearn.neural_network import BernoulliRBM

    result = _train(tmp_path, epochs=1, seed=3)
    arrays = _arrays(result.path)
    rbm = BernoulliRBM(n_components=64, random_state=3)
    rbm.components_ = arrays["components_"]
    rbm.intercept_hidden_ = arrays["intercept_hidden_"]
    rbm.intercept_visible_ = arrays["intercept_visible_"]
    rbm.n_features_in_ = 64
    x = load_digits().images[:300].reshape(300, -1) / 16.0
    assert np.mean(rbm.score_samples(x)) == pytest.approx(result.metrics["pseudo_likelihood"], rel=1e-12)
    assert list(arrays["image_shape"]) == [8, 8]


def test_same_seed_same_model_other_seed_other_model(models, tmp_path):
    a = _arrays(_train(tmp_path, "a.npz", epochs=1, name="a").path)
    b = _arrays(_train(tmp_path, "b.npz", epochs=1, name="b").path)
    c = _arrays(_train(tmp_path, "c.npz", epochs=1, name="c", seed=1).path)
    assert np.array_equal(a["components_"], b["components_"])
    assert not np.allclose(a["components_"], c["components_"])


def test_resume_continues_exactly_where_it_stopped(models, tmp_path):
    straight = _arrays(_train(tmp_path, "straight.npz", epochs=3, name="straight").path)
    _train(tmp_path, "parts.npz", epochs=1, name="parts")
    resumed = _train(tmp_path, "parts.npz", epochs=3, name="parts", resume=True)
    assert resumed.epochs == 3 and resumed.losses.columns["epoch"] == [1.0, 2.0, 3.0]
    parts = _arrays(resumed.path)
    for key in ("components_", "intercept_hidden_", "intercept_visible_"):
        assert np.array_equal(parts[key], straight[key]), key
    with pytest.raises(ValueError, match="resume.*other settings"):
        _train(tmp_path, "parts.npz", epochs=4, name="parts", resume=True, learning_rate=0.05)


def test_cancel_keeps_the_last_epochs_checkpoint_and_no_model_file(models, tmp_path):
    progress = Progress()

    def on_report(name, data):
        if name == "epoch" and data["epoch"] == 2:
            progress.cancel()

    progress._on_report = on_report
    with pytest.raises(Cancelled, match="after 2 of 5 epochs.*resume=True"):
        _train(tmp_path, "cut.npz", epochs=5, name="cut", progress=progress)
    assert not (tmp_path / "cut.npz").exists()
    ckpt = tmp_path / "cut.npz.ckpt"
    with np.load(ckpt, allow_pickle=False) as saved:  # a plain npz: no pickle in it
        assert int(saved["epoch"]) == 2
        assert json.loads(str(saved["config"]))["n_components"] == 64
    done = _train(tmp_path, "cut.npz", epochs=3, name="cut", resume=True)
    assert done.epochs == 3 and len(done.losses.columns["pseudo_likelihood"]) == 3


def test_a_trained_model_is_registered_and_samples(models, tmp_path):
    result = _train(tmp_path, "mine.npz", epochs=1, name="mine")
    located = store.find("mine")
    assert located.info.format == "npz" and located.info.config["n_components"] == 64
    assert located.info.training["epochs"] == 1
    assert (tmp_path / "mine.json").is_file()  # the card beside the output
    by_name = api.run("generate.rbm_sample", model="mine", count=4, gibbs_steps=20)
    by_path = api.run("generate.rbm_sample", model=result.path, count=4, gibbs_steps=20)
    assert by_name.shape == (17, 17) and np.array_equal(by_name, by_path)


def test_default_output_goes_to_the_user_model_folder(models):
    result = api.run("train.rbm", **{**SMALL, "limit": 40}, epochs=1)
    assert result.name == "my-rbm"
    assert result.path == str(store.user_folders()[0] / "my-rbm.npz")


@pytest.mark.parametrize("params, named", [
    ({"n_components": 0}, "n_components"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"seed": -1}, "seed"),
    ({"dataset": "no-such-dataset"}, "dataset"),
    ({"name": "bad name!"}, "name"),
    ({"output": "model.pt"}, "output"),
    ({"resume": True, "output": "never-trained.npz"}, "resume"),
])
def test_bad_parameters_raise_value_errors_naming_them(models, tmp_path, params, named):
    if "output" in params:
        params = {**params, "output": tmp_path / params["output"]}
    with pytest.raises(ValueError, match=named):
        api.run("train.rbm", **{**SMALL, "epochs": 1, **params})
