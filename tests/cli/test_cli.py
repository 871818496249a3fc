"""The imgstudio command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from imgstudio.core.io import load_image, save_image
from imgstudio.core.recipe import Recipe, RecipeStep, save_recipe


def imgstudio(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "imgstudio", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env=env,
    )


def test_run_invert_writes_the_inverted_image(tmp_path, png, astronaut_small):
    out = tmp_path / "out.png"
    proc = imgstudio("run", "basic.invert", str(png), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(load_image(out), 255 - astronaut_small)


def test_run_passes_parameters(tmp_path, png, astronaut_small):
    out = tmp_path / "out.png"
    proc = imgstudio("run", "basic.crop", str(png), "-o", str(out),
                     "-p", "x=2", "-p", "y=3", "-p", "width=10", "-p", "height=5", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["shape"] == [5, 10, 3]
    assert np.array_equal(load_image(out), astronaut_small[3:8, 2:12])


def test_unknown_operation_exits_2_with_a_suggestion(tmp_path, png):
    proc = imgstudio("run", "basic.invertt", str(png), "-o", str(tmp_path / "o.png"))
    assert proc.returncode == 2
    assert "unknown operation 'basic.invertt'" in proc.stderr and "basic.invert" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_parameter_exits_2_naming_it(tmp_path, png):
    proc = imgstudio("run", "basic.gamma", str(png), "-o", str(tmp_path / "o.png"),
                     "-p", "gamma=-3")
    assert proc.returncode == 2
    assert "gamma" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.png").exists()


def test_unknown_parameter_exits_2(tmp_path, png):
    proc = imgstudio("run", "basic.invert", str(png), "-o", str(tmp_path / "o.png"),
                     "-p", "strength=3")
    assert proc.returncode == 2 and "strength" in proc.stderr


def test_missing_input_file_exits_2_naming_it(tmp_path):
    proc = imgstudio("run", "basic.invert", str(tmp_path / "nope.png"), "-o",
                     str(tmp_path / "o.png"))
    assert proc.returncode == 2 and "nope.png" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupt_input_file_exits_2_naming_it(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    proc = imgstudio("run", "basic.invert", str(bad), "-o", str(tmp_path / "o.png"))
    assert proc.returncode == 2 and "broken.png" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_output_option_exits_2(png):
    proc = imgstudio("run", "basic.invert", str(png))
    assert proc.returncode == 2 and "-o" in proc.stderr


def test_ops_json_lists_every_basic_operation():
    proc = imgstudio("ops", "--json")
    assert proc.returncode == 0, proc.stderr
    ids = {op["id"] for op in json.loads(proc.stdout)}
    assert {"basic.invert", "basic.crop", "basic.rotate", "basic.color_mask"} <= ids


def test_ops_plain_listing_shows_summary_lines():
    proc = imgstudio("ops")
    assert proc.returncode == 0
    assert any(line.startswith("basic.invert") for line in proc.stdout.splitlines())


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["batch", "--help"],
                                  ["ops", "--help"], ["script", "--help"]])
def test_help_everywhere(args):
    proc = imgstudio(*args)
    assert proc.returncode == 0 and "usage" in proc.stdout.lower()


def test_batch_replays_a_recipe_and_skips_a_bad_file(tmp_path, astronaut_small):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        save_image(src / f"img{i}.png", np.roll(astronaut_small, i, axis=1))
    (src / "zbroken.png").write_bytes(b"not a png at all")
    recipe = tmp_path / "r.json"
    save_recipe(recipe, Recipe(("photo",), (
        RecipeStep("basic.invert", {}, {"image": "photo"}, "photo"),
        RecipeStep("basic.flip", {"axis": "vertical"}, {"image": "photo"}, "Flipped"))))
    out = tmp_path / "out"
    proc = imgstudio("batch", str(recipe), str(src), str(out), "--workers", "2")
    assert proc.returncode == 1
    assert "zbroken.png" in proc.stdout and "3 done, 1 failed" in proc.stdout
    for i in range(3):
        expected = np.flipud(255 - np.roll(astronaut_small, i, axis=1))
        assert np.array_equal(load_image(out / f"img{i}.png"), expected)


def test_batch_still_reads_version_1_recipes(tmp_path, astronaut_small):
    src = tmp_path / "in"
    src.mkdir()
    save_image(src / "a.png", astronaut_small)
    recipe = tmp_path / "v1.json"
    recipe.write_text(json.dumps({"format": "imgstudio-recipe", "version": 1, "steps": [
        {"op": "basic.invert", "params": {}, "inputs": {}, "output": "replace"},
        {"op": "basic.color_mask", "params": {}, "inputs": {}, "output": "new_layer"}]}))
    proc = imgstudio("batch", str(recipe), str(src), str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    expected = np.asarray(api_run("basic.color_mask", 255 - astronaut_small), np.uint8)
    assert np.array_equal(load_image(tmp_path / "out" / "a.png"), expected)


def api_run(op_id, *args, **kwargs):
    import imgstudio.api as api

    return api.run(op_id, *args, **kwargs)


def test_batch_with_a_bad_recipe_exits_2(tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text("{}")
    (tmp_path / "in").mkdir()
    proc = imgstudio("batch", str(recipe), str(tmp_path / "in"), str(tmp_path / "out"))
    assert proc.returncode == 2 and "r.json" in proc.stderr


def test_importing_the_cli_does_not_load_qt():
    code = ("import sys, imgstudio.cli, imgstudio.api; import imgstudio.core.registry as r; "
            "r.all_specs(); print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6','torch','SimpleITK','dlib','sklearn','cv2','skimage','scipy')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- recipes: batch --layer, script, whole-recipe checks -------------------------------------------

def _seeded_recipe(path):
    save_recipe(path, Recipe(("photo", "Seeds"), (
        RecipeStep("segment.random_walker", {"beta": 90.0}, {"image": "photo", "seeds": "Seeds"},
                   "Walker"),
        RecipeStep("measure.regions", {}, {"labels": "Walker"}))))


def _seeds_png(path, shape):
    seeds = np.zeros(shape[:2], np.uint8)
    seeds[2:6, 2:6], seeds[-6:-2, -6:-2] = 1, 2
    save_image(path, seeds)
    return seeds


def test_batch_binds_other_sources_with_layer(tmp_path, astronaut_small):
    import imgstudio.api as api

    src = tmp_path / "in"
    src.mkdir()
    save_image(src / "a.png", astronaut_small)
    seeds = _seeds_png(tmp_path / "seeds.png", astronaut_small.shape)
    _seeded_recipe(tmp_path / "r.json")
    proc = imgstudio("batch", str(tmp_path / "r.json"), str(src), str(tmp_path / "out"),
                     "--layer", f"Seeds={tmp_path / 'seeds.png'}")
    assert proc.returncode == 0, proc.stderr
    expected = api.run("segment.random_walker", astronaut_small, seeds=seeds.astype(np.int32),
                       beta=90.0)
    assert np.array_equal(load_image(tmp_path / "out" / "a.png"), expected.astype(np.uint8))
    table = json.loads((tmp_path / "out" / "a.json").read_text())
    assert table[0]["op"] == "measure.regions" and "area" in table[0]["result"]["columns"]


@pytest.mark.parametrize("extra, message", [
    ([], "source layer 'Seeds' is not given"),
    (["--layer", "Other=x.png"], "no other source layer 'Other'"),
    (["--layer", "Seeds=missing.png"], "--layer Seeds: no such file"),
])
def test_batch_source_layer_errors_exit_2_before_any_file(tmp_path, astronaut_small, extra,
                                                         message):
    src = tmp_path / "in"
    src.mkdir()
    save_image(src / "a.png", astronaut_small)
    _seeded_recipe(tmp_path / "r.json")
    proc = imgstudio("batch", str(tmp_path / "r.json"), str(src), str(tmp_path / "out"), *extra,
                     cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("recipe, message", [
    ({"format": "imgstudio-recipe", "version": 2, "sources": ["p"], "steps": [
        {"op": "basic.invert", "inputs": {"image": "p"}, "output": "p"},
        {"op": "basic.gamma", "params": {"gamma": "lots"}, "inputs": {"image": "p"},
         "output": "p"}]}, "step 2 (basic.gamma): gamma must be a number"),
    ({"format": "imgstudio-recipe", "version": 2, "sources": ["p"], "steps": [
        {"op": "basic.nothing", "inputs": {"image": "p"}, "output": "p"}]},
     "step 1 (basic.nothing): unknown operation"),
    ({"format": "imgstudio-recipe", "version": 2, "sources": ["p"], "steps": [
        {"op": "basic.invert", "inputs": {"image": "q"}, "output": "p"}]}, "layer 'q'"),
    ({"format": "imgstudio-recipe", "version": 2, "steps": "nope"}, "no 'steps' list"),
])
@pytest.mark.parametrize("command", ["batch", "script"])
def test_a_bad_recipe_is_one_line_naming_the_step(tmp_path, recipe, message, command):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recipe))
    (tmp_path / "in").mkdir()
    args = [str(tmp_path / "in"), str(tmp_path / "out")] if command == "batch" else []
    proc = imgstudio(command, str(path), *args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_deeply_nested_json_is_a_clear_error_not_a_traceback(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"format": "imgstudio-recipe", "version": 2, "steps": ['
                    + "[" * 200_000 + "]" * 200_000 + "]}")
    for command in ("script", "batch"):
        extra = [str(tmp_path), str(tmp_path / "out")] if command == "batch" else []
        proc = imgstudio(command, str(path), *extra)
        assert proc.returncode == 2 and "nested too deeply" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_script_command_writes_a_runnable_script(tmp_path, astronaut_small):
    _seeded_recipe(tmp_path / "r.json")
    proc = imgstudio("script", str(tmp_path / "r.json"), "-o", str(tmp_path / "replay.py"))
    assert proc.returncode == 0, proc.stderr
    save_image(tmp_path / "a.png", astronaut_small)
    _seeds_png(tmp_path / "seeds.png", astronaut_small.shape)
    run = subprocess.run([sys.executable, str(tmp_path / "replay.py"), str(tmp_path / "a.png"),
                          str(tmp_path / "o.png"), f"Seeds={tmp_path / 'seeds.png'}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    src = tmp_path / "in"
    src.mkdir()
    save_image(src / "a.png", astronaut_small)
    batch = imgstudio("batch", str(tmp_path / "r.json"), str(src), str(tmp_path / "out"),
                      "--layer", f"Seeds={tmp_path / 'seeds.png'}")
    assert batch.returncode == 0, batch.stderr
    assert (tmp_path / "o.png").read_bytes() == (tmp_path / "out" / "a.png").read_bytes()
    to_stdout = imgstudio("script", str(tmp_path / "r.json"))
    assert to_stdout.stdout == (tmp_path / "replay.py").read_text()
