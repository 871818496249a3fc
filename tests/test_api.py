"""The public headless API."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api


def test_list_operations_returns_sorted_specs():
    ops = api.list_operations()
    ids = [op.id for op in ops]
    assert ids == sorted(ids) and "basic.invert" in ids
    assert all(op.summary for op in ops)


def test_run_returns_a_plain_array(astronaut_small):
    out = api.run("basic.invert", astronaut_small)
    assert type(out) is np.ndarray and np.array_equal(out, 255 - astronaut_small)


def test_run_unknown_op_suggests_close_ids():
    with pytest.raises(KeyError, match="basic.invert"):
        api.run("basic.invrt", np.zeros((2, 2), np.uint8))


def test_run_rejects_bad_params_before_running(astronaut_small):
    with pytest.raises(ValueError, match="angle"):
        api.run("basic.rotate", astronaut_small, angle="sideways")


def test_run_checks_layer_inputs(astronaut_small):
    with pytest.raises(ValueError, match="image"):
        api.run("basic.invert", np.zeros((4, 4), np.int64))
    with pytest.raises(ValueError, match="required"):
        api.run("basic.invert")
    with pytest.raises(ValueError, match="positional"):
        api.run("basic.invert", astronaut_small, astronaut_small)


def test_run_passes_keyword_layer_inputs(astronaut_small):
    src = np.array([[0, 0], [10, 0], [0, 10]], float)
    out = api.run("basic.affine", astronaut_small, src=src, dst=src)
    assert np.abs(out.astype(int) - astronaut_small).max() <= 1


def test_load_and_save_round_trip(tmp_path):
    image = np.arange(12 * 7 * 3, dtype=np.uint16).reshape(12, 7, 3) * 50
    api.save_image(tmp_path / "a.png", image)
    again = api.load_image(tmp_path / "a.png")
    assert again.dtype == np.uint16 and np.array_equal(again, image)
