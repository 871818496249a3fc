"""segment.som (imgstudio.ops.segment.som) against a plain reference loop and known answers."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from tests.ops.helpers import TOP, convert, dtypes, kinds
from tests.ops.segment.helpers import same_partition, three_colours, unit_rows

# -- som --------------------------------------------------------------------------------------


def reference_som(image, rows, cols, iterations, sigma, learning_rate, seed):
    """A plain loop over MiniSom's update rule with the op's documented pixel draws."""
    x = unit_rows(image)
    rng = np.random.default_rng(seed)
    w = x[rng.integers(0, len(x), rows * cols)].copy()
    samples = x[rng.integers(0, len(x), iterations)]
    for t, xt in enumerate(samples):
        decay = 1 + t / (iterations / 2)
        lr, s = learning_rate / decay, sigma / decay
        bmu = np.argmin([np.sum((xt - wi) ** 2) for wi in w])
        br, bc = divmod(bmu, cols)
        for i in range(rows * cols):
            r, c = divmod(i, cols)
            h = np.exp(-((r - br) ** 2 + (c - bc) ** 2) / (2 * s * s))
            w[i] = w[i] + lr * h * (xt - w[i])
    return w


@kinds
def test_som_equals_a_reference_loop(kind, make):
    image = make(np.uint8, kind)[:24, :32]
    w = reference_som(image, 2, 3, 150, 1.2, 0.4, seed=7)
    result = api.run("segment.som", image, rows=2, cols=3, iterations=150, sigma=1.2,
                     learning_rate=0.4, seed=7)
    d = ((unit_rows(image)[:, None, :] - w[None]) ** 2).sum(axis=2)
    assert np.array_equal(result.labels.ravel(), np.argmin(d, axis=1) + 1)
    quantised = np.clip(np.rint(w * 255), 0, 255).astype(np.uint8)[result.labels.ravel() - 1]
    assert np.array_equal(result.image.reshape(quantised.shape), quantised.reshape(
        result.image.reshape(quantised.shape).shape))


@dtypes
def test_som_3x1_reproduces_three_flat_colours(dtype):
    image, bands = three_colours()
    image = convert(image, dtype)
    result = api.run("segment.som", image, rows=3, cols=1, sigma=0.5)
    assert result.image.dtype == image.dtype and result.image.shape == image.shape
    error = np.abs(result.image.astype(float) - image.astype(float)).max() / TOP[image.dtype]
    assert error <= 1 / 255
    assert same_partition(result.labels, bands)


@pytest.mark.parametrize(("rows", "cols"), [(1, 1), (2, 2), (3, 3), (4, 2)])
def test_som_has_at_most_rows_times_cols_labels(rows, cols, make):
    result = api.run("segment.som", make(np.uint16, "rgb"), rows=rows, cols=cols, iterations=400)
    values = np.unique(result.labels)
    assert values.min() >= 1 and values.max() <= rows * cols and len(values) <= rows * cols


def test_som_is_deterministic_by_seed(make):
    image = make(np.float32, "rgb")
    a, b = (api.run("segment.som", image, iterations=300, seed=4) for _ in range(2))
    c = api.run("segment.som", image, iterations=300, seed=5)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_som_orders_a_grey_ramp_along_the_map():
    ramp = np.tile(np.linspace(0, 255, 120).astype(np.uint8), (20, 1))
    result = api.run("segment.som", ramp, rows=1, cols=6, iterations=3000, sigma=1.5)
    codebook = [result.image[result.labels == v].mean() for v in range(1, 7)]
    steps = np.diff(codebook)
    assert np.all(steps > 0) or np.all(steps < 0)


def test_som_keeps_alpha(make):
    image = make(np.uint8, "rgba")
    result = api.run("segment.som", image, iterations=200)
    assert np.array_equal(result.image[..., 3], image[..., 3])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"iterations": 0}, "iterations"), ({"iterations": 100_001}, "iterations"),
     ({"rows": 0}, "rows"), ({"sigma": 0.0}, "sigma")],
)
def test_som_bad_params_name_the_parameter(kwargs, name, make):
    with pytest.raises(ValueError, match=name):
        api.run("segment.som", make(), **kwargs)
