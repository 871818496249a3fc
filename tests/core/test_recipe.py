"""Recipes (format 2): JSON round trip, version 1 conversion, whole-recipe checks, replay over
named layers, and the exported script, which holds only literals."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.recipe import (
    Recipe,
    RecipeError,
    RecipeStep,
    check,
    load_recipe,
    recipe_from_json,
    recipe_from_text,
    save_recipe,
)
from imgstudio.core.replay import Replay, replay, to_script
from imgstudio.core.types import LayerKind

CHAIN = Recipe(("photo",), (
    RecipeStep("basic.invert", {}, {"image": "photo"}, "photo"),
    RecipeStep("basic.crop", {"x": 4, "y": 2, "width": 20, "height": 10},
               {"image": "photo"}, "Crop"),
    RecipeStep("basic.flip", {"axis": "horizontal"}, {"image": "Crop"}, "Crop"),
))


def reference(image):
    return np.fliplr((255 - image)[2:12, 4:24])


def test_replay_equals_calling_each_op(astronaut_small):
    layers = replay(CHAIN, {"photo": astronaut_small})
    assert np.array_equal(layers.layer("Crop").data, reference(astronaut_small))
    assert np.array_equal(layers.layer("photo").data, 255 - astronaut_small)
    assert CHAIN.result_layer == "Crop"


def test_replay_never_writes_into_the_source_array(astronaut_small):
    source = astronaut_small.copy()
    replay(CHAIN, {"photo": source})
    assert np.array_equal(source, astronaut_small)


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "r.json"
    save_recipe(path, CHAIN)
    again = load_recipe(path)
    assert again == Recipe(CHAIN.sources, CHAIN.steps, "Crop")
    data = json.loads(path.read_text())
    assert data["version"] == 2 and data["sources"] == ["photo"] and data["result"] == "Crop"
    assert data["steps"][1] == {"op": "basic.crop", "params": {"x": 4, "y": 2, "width": 20,
                                                               "height": 10},
                                "inputs": {"image": "photo"}, "output": "Crop"}


def test_a_step_with_several_layer_outputs_writes_name_dot_field(astronaut_small):
    recipe = Recipe(("photo",), (
        RecipeStep("segment.mean_shift", {}, {"image": "photo"}, "MS"),
        RecipeStep("basic.invert", {}, {"image": "MS.image"}, "Inverted")))
    layers = replay(recipe, {"photo": astronaut_small})
    expected = api.run("segment.mean_shift", astronaut_small)
    assert np.array_equal(layers.layer("MS.labels").data, expected.labels)
    assert np.array_equal(layers.layer("Inverted").data, 255 - expected.image)
    assert check(recipe).result == "Inverted"


def test_non_layer_results_are_collected(astronaut_small):
    recipe = Recipe(("photo",), (
        RecipeStep("basic.color_mask", {}, {"image": "photo"}, "Mask"),
        RecipeStep("measure.regions", {}, {"labels": "Mask"})))
    layers = replay(recipe, {"photo": astronaut_small})
    (n, op, table), = layers.results
    assert (n, op) == (2, "measure.regions") and "area" in table.columns
    assert recipe.result_layer == "Mask"


def test_version_1_recipes_load_as_a_chain(astronaut_small):
    v1 = {"format": "imgstudio-recipe", "version": 1, "steps": [
        {"op": "basic.invert", "params": {}, "inputs": {}, "output": "replace"},
        {"op": "basic.color_mask", "params": {}, "inputs": {}, "output": "new_layer"},
        {"op": "binary.fill_holes", "params": {}, "inputs": {}, "output": "new_layer"}]}
    recipe = recipe_from_json(v1)
    assert recipe.sources == ("image",)
    assert [s.inputs["image"] for s in recipe.steps] == ["image", "image", recipe.steps[1].output]
    layers = replay(recipe, {"image": astronaut_small})
    expected = api.run("binary.fill_holes", api.run("basic.color_mask", 255 - astronaut_small))
    assert np.array_equal(layers.layer(recipe.result_layer).data, expected)


@pytest.mark.parametrize("text", ["", "[]", '{"format": "other"}',
                                  '{"format": "imgstudio-recipe", "version": 9, "steps": []}',
                                  '{"format": "imgstudio-recipe", "steps": [{"params": {}}]}'])
def test_bad_recipe_files_name_the_file(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(RecipeError, match="bad.json"):
        load_recipe(path)


@pytest.mark.parametrize("text, match", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"format": "imgstudio-recipe", "version": "2", "steps": []}', "version"),
    ('{"format": "imgstudio-recipe", "version": true, "steps": []}', "version"),
    ('{"format": "imgstudio-recipe", "version": 2, "steps": {}}', "steps"),
    ('{"format": "imgstudio-recipe", "version": 2, "sources": "a", "steps": []}', "sources"),
    ('{"format": "imgstudio-recipe", "version": 2, "sources": [3], "steps": []}', "source"),
    ('{"format": "imgstudio-recipe", "version": 2, "steps": [5]}', "step 1"),
    ('{"format": "imgstudio-recipe", "version": 2, "steps": [{"op": 5}]}', "step 1"),
    ('{"format": "imgstudio-recipe", "version": 2, "steps": '
     '[{"op": "basic.invert", "params": [1]}]}', r"step 1 \(basic.invert\): params"),
    ('{"format": "imgstudio-recipe", "version": 2, "steps": '
     '[{"op": "basic.invert", "inputs": {"image": {"a": 1}}}]}', "input image"),
    ('{"format": "imgstudio-recipe", "version": 2, "steps": '
     '[{"op": "basic.gamma", "params": {"gamma": NaN}}]}', "NaN"),
])
def test_malformed_json_is_one_clear_error(text, match):
    with pytest.raises(RecipeError, match=match):
        recipe_from_text(text)


def _recipe(*steps, sources=("photo",)):
    return Recipe(tuple(sources), tuple(RecipeStep(*s) for s in steps))


@pytest.mark.parametrize("recipe, match", [
    (_recipe(("basic.invert", {}, {"image": "photo"}, "photo"),
             ("basic.nope", {}, {"image": "photo"}, "x")), r"step 2 \(basic.nope\).*unknown"),
    (_recipe(("basic.gamma", {"gama": 2.0}, {"image": "photo"}, "photo")),
     r"step 1 \(basic.gamma\): unknown parameter 'gama'"),
    (_recipe(("basic.gamma", {"gamma": -1.0}, {"image": "photo"}, "photo")),
     r"step 1 \(basic.gamma\): gamma must be"),
    (_recipe(("basic.invert", {}, {"image": "elsewhere"}, "photo")),
     r"step 1 \(basic.invert\): layer 'elsewhere' \(input image\)"),
    (_recipe(("basic.invert", {}, {}, "photo")), r"step 1 \(basic.invert\): no layer .* image"),
    (_recipe(("basic.invert", {}, {"image": "photo", "mask": "photo"}, "photo")), "no input"),
    (_recipe(("basic.invert", {}, {"image": "photo"}, None)), "give the step an 'output'"),
    (_recipe(("measure.regions", {}, {"labels": "photo"}, "T")), "writes no layer"),
    (_recipe(("basic.color_mask", {}, {"image": "photo"}, "M"),
             ("segment.random_walker", {}, {"image": "photo", "seeds": "photo"}, "R")),
     r"step 2 .*seeds takes a labels layer; 'photo' is a image layer"),
    (_recipe(("enhance.focus_stack", {}, {"images": "photo"}, "F")), "list of layer names"),
    (Recipe(("photo",), (RecipeStep("basic.invert", {}, {"image": "photo"}, "photo"),),
            "ghost"), "result"),
])
def test_check_names_the_step_at_fault(recipe, match):
    with pytest.raises(RecipeError, match=match):
        check(recipe)


def test_check_finds_the_kind_of_each_source():
    recipe = _recipe(("segment.random_walker", {}, {"image": "coins", "seeds": "Seeds"}, "R"),
                     sources=("coins", "Seeds"))
    assert check(recipe).source_kinds == {"coins": LayerKind.IMAGE, "Seeds": LayerKind.LABELS}


def test_a_labels_layer_feeds_an_image_input_as_in_the_editor(astronaut_small):
    recipe = _recipe(("basic.color_mask", {}, {"image": "photo"}, "Mask"),
                     ("basic.invert", {}, {"image": "Mask"}, "Inverted"))
    layers = replay(recipe, {"photo": astronaut_small})
    mask = api.run("basic.color_mask", astronaut_small)
    assert np.array_equal(layers.layer("Inverted").data, 255 - mask.astype(np.uint8) * 255)


def test_replay_object_runs_step_by_step_like_the_api(astronaut_small):
    layers = Replay()
    layers.add("photo", astronaut_small)
    out = layers.run("basic.gamma", {"image": "photo"}, "G", {"gamma": 2.0})
    assert np.array_equal(out, api.run("basic.gamma", astronaut_small, gamma=2.0))
    assert np.array_equal(layers.layer("G").data, out)
    with pytest.raises(ValueError, match="'nope'"):
        layers.run("basic.invert", {"image": "nope"}, "x")


# -- the exported script ------------------------------------------------------------------------

def _run_script(tmp_path, recipe, *args, timeout=120):
    script = tmp_path / "recipe.py"
    script.write_text(to_script(recipe))
    return subprocess.run([sys.executable, str(script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def test_exported_script_runs_and_matches(tmp_path, astronaut_small):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    api.save_image(src, astronaut_small)
    proc = _run_script(tmp_path, CHAIN, src, out)
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(api.load_image(out), reference(astronaut_small))


def test_script_called_wrongly_prints_a_usage_line(tmp_path, astronaut_small):
    recipe = _recipe(("segment.random_walker", {}, {"image": "coins", "seeds": "Seeds"}, "R"),
                     sources=("coins", "Seeds"))
    src = tmp_path / "in.png"
    api.save_image(src, astronaut_small)
    for args in ([], [src], [src, tmp_path / "o.png"], [src, tmp_path / "o.png", "Other=x.png"]):
        proc = _run_script(tmp_path, recipe, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "usage: python" in proc.stderr and "INPUT OUTPUT Seeds=PATH" in proc.stderr
        assert "Traceback" not in proc.stderr


HOSTILE = [
    "x'); __import__('os').system('touch PWNED'); ('",
    'x"""\nimport os; os.system("touch PWNED")\n"""',
    "__import__('os').system('touch PWNED')",
    "a\nb\\'c",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_and_values_never_become_code(tmp_path, astronaut_small, name):
    recipe = Recipe((name,), (
        RecipeStep("restore.stego_hide", {"message": name}, {"image": name}, name + "!"),
        RecipeStep("restore.stego_reveal", {}, {"image": name + "!"})), name + "!")
    text = to_script(recipe)
    tree = ast.parse(text)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr == "run"]
    assert len(calls) == 2
    for call in calls:
        for arg in call.args:
            ast.literal_eval(arg)  # only literals: a name or value never became code
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    api.save_image(src, astronaut_small)
    proc = _run_script(tmp_path, recipe, src, out)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "PWNED").exists()
    revealed = json.loads((tmp_path / "out.json").read_text())
    assert revealed[0]["result"]["text"] == name


def test_a_recipe_that_does_not_check_exports_no_script():
    with pytest.raises(RecipeError, match="gama"):
        to_script(_recipe(("basic.gamma", {"gama": 2.0}, {"image": "photo"}, "photo")))
