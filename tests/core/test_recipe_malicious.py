"""Hostile recipe files: every failure of load_recipe / recipe_from_text / check is one
RecipeError (a ValueError) naming the file (for load_recipe) and the field or step."""

from __future__ import annotations

import json
import os
import re

import pytest

import imgstudio.api as api
from imgstudio.core import recipe as recipe_module
from imgstudio.core.recipe import RecipeError, check, load_recipe, recipe_from_text

GOOD = {"format": "imgstudio-recipe", "version": 2, "sources": ["photo", "Seeds"],
        "steps": [{"op": "basic.gamma", "params": {"gamma": 2.0}, "inputs": {"image": "photo"},
                   "output": "photo"},
                  {"op": "segment.random_walker", "params": {"beta": 130.0},
                   "inputs": {"image": "photo", "seeds": "Seeds"}, "output": "Walker"}],
        "result": "Walker"}


def _with(path, value):
    data = json.loads(json.dumps(GOOD))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(data)


def _deep(depth, inner="1"):
    return "[" * depth + inner + "]" * depth


CASES = [
    # nesting: never a RecursionError, wherever it is and however deep
    ("nested 100000 deep", _deep(100_000), r"nested too deeply"),
    ("nested 990 deep", _deep(990), r"nested too deeply"),
    ("nested 200 deep in a parameter", json.dumps(GOOD).replace(
        '"gamma": 2.0', '"gamma": ' + _deep(200)), r"nested too deeply \(more than 64 levels\)"),
    ("nested objects", '{"a": ' * 5000 + "1" + "}" * 5000, r"nested too deeply"),
    # numbers JSON allows and Python cannot take
    ("NaN", json.dumps(GOOD).replace("2.0", "NaN"), r"NaN is not a number"),
    ("Infinity", json.dumps(GOOD).replace("2.0", "-Infinity"), r"-Infinity is not a number"),
    ("5000-digit integer", json.dumps(GOOD).replace("2.0", "9" * 5000),
     r"not valid JSON: Exceeds the limit"),
    # the top level
    ("empty", "", r"not valid JSON"),
    ("a list", "[]", r"not an imgstudio recipe"),
    ("format a list", _with(["format"], ["imgstudio-recipe"]), r"not an imgstudio recipe"),
    ("version a string", _with(["version"], "2"), r"recipe version must be a whole number"),
    ("version a float", _with(["version"], 2.0), r"recipe version must be a whole number"),
    ("version true", _with(["version"], True), r"recipe version must be a whole number"),
    ("version 0", _with(["version"], 0), r"recipe version must be a whole number"),
    ("version newer", _with(["version"], 3), r"recipe version 3 is newer"),
    ("steps an object", _with(["steps"], {}), r"no 'steps' list"),
    ("sources a string", _with(["sources"], "photo"), r"sources must be a list"),
    ("source a number", _with(["sources", 0], 5), r"a source layer name must be a non-empty"),
    ("source empty", _with(["sources", 0], ""), r"a source layer name must be a non-empty"),
    ("sources repeated", _with(["sources", 1], "photo"), r"sources name the same layer twice"),
    ("result a number", _with(["result"], 5), r"result must be a non-empty string; got 5"),
    ("result a list", _with(["result"], ["Walker"]), r"result must be a non-empty string"),
    # steps
    ("step a string", _with(["steps", 0], "basic.gamma"), r"step 1 must be an object"),
    ("op a number", _with(["steps", 0, "op"], 5), r"step 1 needs an 'op' id; got 5"),
    ("op an object", _with(["steps", 1, "op"], {}), r"step 2 needs an 'op' id"),
    ("params a list", _with(["steps", 0, "params"], [1]),
     r"step 1 \(basic.gamma\): params must be an object"),
    ("inputs a list", _with(["steps", 0, "inputs"], ["photo"]),
     r"step 1 \(basic.gamma\): inputs must be an object"),
    ("input a number", _with(["steps", 1, "inputs", "seeds"], 3),
     r"step 2 \(segment.random_walker\): input seeds must be a non-empty string; got 3"),
    ("input an object", _with(["steps", 0, "inputs", "image"], {"a": 1}), r"input image"),
    ("input list of lists", _with(["steps", 0, "inputs", "image"], [["photo"]]), r"input image"),
    ("output a number", _with(["steps", 0, "output"], 1),
     r"step 1 \(basic.gamma\): output must be a non-empty string; got 1"),
    ("output a list", _with(["steps", 1, "output"], ["W"]), r"step 2 .*output must be"),
    # version 1: its output modes
    ("v1 output a number", json.dumps({"format": "imgstudio-recipe", "version": 1, "steps": [
        {"op": "basic.invert", "output": 5}]}), r"step 1 \(basic.invert\): output must be one of "
                                                r"'replace', 'new_layer'"),
    ("v1 unknown op", json.dumps({"format": "imgstudio-recipe", "version": 1, "steps": [
        {"op": "basic.nope"}]}), r"step 1 \(basic.nope\)"),
]


@pytest.mark.parametrize(("text", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_recipe_file_is_one_recipe_error_naming_the_file_and_the_field(
        tmp_path, text, reason):
    path = tmp_path / "hostile.json"
    path.write_text(text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and "\n" not in message
    assert message.startswith(f"cannot read recipe {path}: "), message
    assert re.search(reason, message), message
    with pytest.raises(RecipeError, match=reason):  # the same without a file
        recipe_from_text(text)


@pytest.mark.parametrize(("value", "reason"), [
    (10**400, r"parameter gamma cannot take the value 1000000000.*OverflowError"),
    (10**30, r"parameter gamma cannot take the value|gamma must be"),
    ("high", r"gamma must be"),
    ([1, 2], r"gamma must be"),
    ({"a": 1}, r"gamma must be"),
    (None, r"gamma"),
    (1e308, r"gamma must be"),
])
def test_a_parameter_no_type_can_take_is_a_recipe_error_naming_step_and_parameter(value, reason):
    recipe = recipe_from_text(_with(["steps", 0, "params", "gamma"], value))
    with pytest.raises(RecipeError, match=r"step 1 \(basic.gamma\): " + reason):
        check(recipe)


def test_every_op_and_parameter_with_hostile_values_checks_to_a_recipe_error():
    """check() raises RecipeError and nothing else for any JSON value of any parameter."""
    values = [[], {}, "x", 10**400, -(10**400), True, None, [[1]], 1e308, -1]
    others = 0
    for spec in api.list_operations():
        inputs = {i.name: (["a"] if i.many else "a") for i in spec.inputs if not i.optional}
        for p in spec.params:
            for value in values:
                data = {"format": "imgstudio-recipe", "version": 2, "sources": ["a"],
                        "steps": [{"op": spec.id, "params": {p.name: value}, "inputs": inputs}]}
                recipe = recipe_from_text(json.dumps(data))
                try:
                    check(recipe)
                except RecipeError as exc:
                    assert str(exc).startswith(f"step 1 ({spec.id}): "), exc
                except Exception as exc:  # noqa: BLE001 - the test's subject
                    others += 1
                    pytest.fail(f"{spec.id} {p.name}={value!r:.40}: {type(exc).__name__}: {exc}")
    assert others == 0


def test_binary_garbage_and_non_utf8_are_recipe_errors(tmp_path):
    path = tmp_path / "garbage.json"
    path.write_bytes(b"\xff\xfe\x00\x81" * 100)
    with pytest.raises(RecipeError, match=r"garbage.json: not valid JSON"):
        load_recipe(path)


def test_a_missing_recipe_is_named(tmp_path):
    with pytest.raises(RecipeError, match=r"cannot read recipe .*nothere.json: no such file"):
        load_recipe(tmp_path / "nothere.json")


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(RecipeError, match=r"dir.json: (it is a directory|not a regular file)"):
        (tmp_path / "dir.json").mkdir()
        load_recipe(tmp_path / "dir.json")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(RecipeError, match=r"pipe.json: not a regular file \(it is a FIFO\)"):
        load_recipe(tmp_path / "pipe.json")


def test_a_link_to_dev_zero_is_refused(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    with pytest.raises(RecipeError, match=r"zero.json: not a regular file \(it is a character"):
        load_recipe(tmp_path / "zero.json")


def test_a_recipe_larger_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(recipe_module, "MAX_RECIPE_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({**GOOD, "padding": "x" * 2000}))
    with pytest.raises(RecipeError, match=r"big.json: the recipe is \d+ bytes, more than the "
                                          r"1000 bytes allowed"):
        load_recipe(path)


def test_a_valid_recipe_still_loads_and_checks(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(GOOD))
    checked = check(load_recipe(path))
    assert [s.op_id for s in checked.steps] == ["basic.gamma", "segment.random_walker"]
    assert checked.result == "Walker"
