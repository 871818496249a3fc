"""generate.rbm_sample: Gibbs samples of the shipped rbm-default, checked against digits."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import imgstudio.api as api
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.models.nets.rbm import sigmoid


def _cells(grid, count, side=8):
    """The ``count`` images of a grid of ``side``-pixel images, 1 pixel apart, as rows."""
    cols = int(np.ceil(np.sqrt(count)))
    out = []
    for i in range(count):
        r, c = divmod(i, cols)
        out.append(grid[r * (side + 1): r * (side + 1) + side, c * (side + 1): c * (side + 1) + side])
    return np.asarray(out, dtype=np.float64).reshape(count, -1) / 255.0


def _nearest(rows, reference):
    d2 = ((rows[:, None, :] - reference[None]) ** 2).sum(-1)
    return float(np.sqrt(d2.min(1)).mean())


def test_same_seed_same_grid_other_seed_other_grid():
    a = api.run("generate.rbm_sample", count=9, gibbs_steps=100, seed=5)
    b = api.run("generate.rbm_sample", count=9, gibbs_steps=100, seed=5)
    c = api.run("generate.rbm_sample", count=9, gibbs_steps=100, seed=6)
    assert a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("count, shape", [(1, (8, 8)), (6, (17, 26)), (16, (35, 35)), (17, (35, 44))])
def test_the_grid_shape_follows_count(count, shape):
    assert api.run("generate.rbm_sample", count=count, gibbs_steps=5).shape == shape


def test_samples_look_like_held_out_digits_not_like_shuffled_pixels():
    """rbm-default was trained on the first 1,500 digits: its samples lie nearer (mean L2 pixel
    distance to the nearest one) to the 297 held-out digits than those digits with their pixels
    shuffled do (measured 1.3 vs 3.6)."""
    held = load_digits().images[1500:].reshape(-1, 64) / 16.0
    samples = _cells(api.run("generate.rbm_sample", count=64, gibbs_steps=1000, seed=0), 64)
    shuffled = np.random.default_rng(0).permuted(held[:64], axis=1)
    near, far = _nearest(samples, held), _nearest(shuffled, held)
    assert near < 0.6 * far, (near, far)
    assert samples.std(axis=0).mean() > 0.05  # the chains do not all show one picture


def test_the_gibbs_steps_follow_the_models_conditionals(models, tmp_path):
    """A one-pixel, one-hidden-unit RBM with known weights: over many chains, the fraction of
    samples whose shown P(v | h) is the 'h = 1' value equals P(h = 1 | v) of the stationary
    chain, computed here by hand from the 2×2 transition matrix."""
    from imgstudio.models.loading import npz_bytes
    from imgstudio.models.nets.rbm import model_arrays

    w, c, b = 2.0, -1.0, 0.5
    path = tmp_path / "tiny.npz"
    path.write_bytes(npz_bytes(model_arrays(np.array([[w]]), np.array([c]), np.array([b]), (1, 1))))
    out = api.run("generate.rbm_sample", model=str(path), count=1024, gibbs_steps=30, seed=1)
    shown = _cells(out, 1024, side=1).ravel()
    on = np.isclose(shown, np.round(sigmoid(np.array(w + b)) * 255) / 255)
    # stationary distribution of the visible unit: p(v=1) solves p = P(v=1|v=1)p + P(v=1|v=0)(1-p)
    ph = sigmoid(np.array([c, w + c]))  # P(h=1 | v=0), P(h=1 | v=1)
    pv = sigmoid(np.array([b, w + b]))  # P(v=1 | h=0), P(v=1 | h=1)
    t = np.array([[1 - ((1 - ph[v]) * pv[0] + ph[v] * pv[1]), (1 - ph[v]) * pv[0] + ph[v] * pv[1]]
                  for v in (0, 1)])
    p1 = t[0, 1] / (t[0, 1] + t[1, 0])
    expected = (1 - p1) * ph[0] + p1 * ph[1]  # the last hidden draw is on
    assert abs(on.mean() - expected) < 0.05, (on.mean(), expected)


def test_progress_reports_the_grid_and_cancel_stops_it():
    reports = []
    progress = Progress(on_report=lambda name, data: reports.append((name, data)))
    final = api.run("generate.rbm_sample", count=4, gibbs_steps=40, progress=progress)
    samples = [d for name, d in reports if name == "sample"]
    assert [d["index"] for d in samples] == list(range(2, 41, 2))
    assert all(d["count"] == 40 for d in samples)
    assert np.array_equal(samples[-1]["image"], final)
    stopper = Progress()
    stopper._callback = lambda fraction, message: stopper.cancel() if fraction > 0.1 else None
    with pytest.raises(Cancelled):
        api.run("generate.rbm_sample", count=4, gibbs_steps=1000, progress=stopper)


@pytest.mark.parametrize("params, named", [
    ({"count": 0}, "count"), ({"gibbs_steps": 0}, "gibbs_steps"), ({"seed": -3}, "seed"),
    ({"model": "/no/such/rbm.npz"}, "model"),
])
def test_bad_parameters_raise_value_errors_naming_them(params, named):
    with pytest.raises(ValueError, match=named):
        api.run("generate.rbm_sample", **params)


def test_a_model_that_is_not_an_rbm_is_refused(models, tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, coef_=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="not an RBM"):
        api.run("generate.rbm_sample", model=str(path))
    with pytest.raises(ModelNotFoundError):
        api.run("generate.rbm_sample", model="no-such-rbm")
