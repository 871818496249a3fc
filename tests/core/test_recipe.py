"""Recipes: saved as JSON, replayed on other images, exported as a runnable script."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.recipe import (
    RecipeStep,
    load_recipe,
    replay,
    save_recipe,
    to_script,
)

STEPS = [
    RecipeStep("basic.invert"),
    RecipeStep("basic.crop", {"x": 4, "y": 2, "width": 20, "height": 10}),
    RecipeStep("basic.flip", {"axis": "horizontal"}),
]


def reference(image):
    return np.fliplr((255 - image)[2:12, 4:24])


def test_replay_equals_calling_each_op(astronaut_small):
    outcome = replay(STEPS, astronaut_small)
    assert outcome.kind == "image"
    assert np.array_equal(outcome.data, reference(astronaut_small))


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "r.json"
    save_recipe(path, STEPS)
    assert load_recipe(path) == STEPS


@pytest.mark.parametrize("text", ["", "[]", '{"format": "other"}',
                                  '{"format": "imgstudio-recipe", "version": 9, "steps": []}',
                                  '{"format": "imgstudio-recipe", "steps": [{"params": {}}]}'])
def test_bad_recipe_files_name_the_file(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="bad.json"):
        load_recipe(path)


def test_replay_reports_a_missing_layer_input(astronaut_small):
    step = RecipeStep("basic.affine", inputs={"src": "pts-a", "dst": "pts-b"})
    with pytest.raises(ValueError, match="pts-a"):
        replay([step], astronaut_small)


def test_replay_validates_params_naming_them(astronaut_small):
    with pytest.raises(ValueError, match="gamma"):
        replay([RecipeStep("basic.gamma", {"gamma": -1.0})], astronaut_small)


def test_exported_script_runs_and_matches(tmp_path, astronaut_small):
    script = tmp_path / "recipe.py"
    script.write_text(to_script(STEPS))
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    api.save_image(src, astronaut_small)
    proc = subprocess.run([sys.executable, str(script), str(src), str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(api.load_image(out), reference(astronaut_small))
