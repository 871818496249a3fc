"""Multi-layer sessions recorded through the editor's own workspace API replay faithfully.

Each session opens an image, adds seeds/markers/mask/reference layers, runs ops on different
layers (some replacing a layer in place, some making new layers, one whose result has several
layer fields). Then:

- ``replay`` of the recorded recipe (through JSON) equals every layer of the document, pixel
  for pixel;
- the exported script, run in a subprocess, writes a file identical (byte for byte) to what
  ``imgstudio batch`` writes for the same input, and both hold the editor's result layer;
- a project saved, reopened and exported gives the same pixels again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from imgstudio.cli import result_target
from imgstudio.core.apply import apply_operation
from imgstudio.core.history import SetLayerData, SetPixels
from imgstudio.core.invoke import read_layer_file, write_layer_file
from imgstudio.core.io import load_image, save_image
from imgstudio.core.recipe import recipe_from_text, save_recipe
from imgstudio.core.replay import replay, to_script
from imgstudio.core.types import LayerKind
from imgstudio.core.workspace import Workspace
from tests.core.helpers import _same


def _run(ws: Workspace, op_id: str, layer: str, params=None, **inputs):
    doc = ws.document
    return apply_operation(doc, ws.history, op_id, params or {}, layer=doc.by_name(layer),
                           inputs={k: doc.by_name(v) for k, v in inputs.items()})


def _new(prepared, n: int = 0) -> str:
    """The name of the ``n``-th layer an applied op made."""
    return prepared.new_layers[n].name


def _paint(ws: Workspace, name: str, data: np.ndarray) -> None:
    layer = ws.new_labels_layer(name)
    ws.history.execute(SetPixels(layer, data.astype(np.int32)))


# -- the sessions: each returns {source name: its data when first used} ---------------------------

def segmentation_session(ws: Workspace, tmp: Path) -> None:
    coins = ws.document[0]
    h, w = coins.shape
    seeds = np.zeros((h, w), np.int32)
    seeds[20:24, 30:34], seeds[2:6, 2:40] = 1, 2
    _paint(ws, "Seeds", seeds)
    points = ws.new_points_layer("Clicks")
    ws.history.execute(SetLayerData(points, np.array([[30.0, 22.0], [90.0, 60.0]])))
    markers = ws.points_to_markers(points)
    background = markers.data.copy()
    background[h - 4:, :] = 3
    ws.history.execute(SetPixels(markers, background))
    _run(ws, "segment.random_walker", coins.name, {"beta": 90.0}, seeds="Seeds")
    watershed = _new(_run(ws, "segment.watershed", coins.name, {"min_distance": 8},
                          markers="Markers"))
    _run(ws, "enhance.gaussian", coins.name, {"sigma": 1.5})  # in place
    _run(ws, "segment.mean_shift", coins.name, {"spatial_radius": 6})  # two layer fields
    _run(ws, "binary.fill_holes", _new(_run(ws, "segment.otsu", coins.name)))
    _run(ws, "measure.regions", watershed)  # a table: no layer


def restoration_session(ws: Workspace, tmp: Path) -> None:
    photo = ws.document[0]
    reference = np.ascontiguousarray(skimage.data.chelsea()[:photo.shape[0], :photo.shape[1]])
    save_image(tmp / "reference.png", reference)
    ws.import_layer(tmp / "reference.png")
    mask = np.zeros(photo.shape, np.int32)
    mask[10:18, 12:30] = 1
    _paint(ws, "Mask", mask)
    _run(ws, "restore.blur", photo.name, {"psf": "motion", "size": 7, "angle": 30.0})
    _run(ws, "restore.wiener", photo.name, {"psf": "motion", "size": 7, "angle": 30.0})
    _run(ws, "enhance.histogram_match", photo.name, reference="reference")
    _run(ws, "restore.inpaint", photo.name, {"method": "telea"}, mask="Mask")
    fuzzy = _run(ws, "segment.fuzzy_cmeans", photo.name, {"clusters": 3})  # labels + membership
    _run(ws, "basic.invert", "reference")  # another layer, in place
    _run(ws, "basic.levels", _new(fuzzy, 1), {"black": 10})


def binary_session(ws: Workspace, tmp: Path) -> None:
    coins = ws.document[0]
    other = np.roll(coins.data, 5, axis=1)
    save_image(tmp / "later.png", other)
    ws.import_layer(tmp / "later.png")
    _run(ws, "basic.gamma", "later", {"gamma": 1.5})  # in place
    mask = _new(_run(ws, "binary.threshold", coins.name, {"method": "otsu"}))
    _run(ws, "binary.morphology", mask, {"op": "open", "size": 3})  # labels fed as an image
    _run(ws, "binary.label", mask)
    _run(ws, "measure.change", coins.name, {"threshold": 20}, other="later")
    _run(ws, "edges.canny", "later", {"sigma": 2.0})
    _run(ws, "segment.som", coins.name, {"rows": 2, "cols": 2, "iterations": 200})


def geometry_session(ws: Workspace, tmp: Path) -> None:
    photo = ws.document[0]
    fixed = photo.data.copy()
    save_image(tmp / "fixed.png", fixed)
    ws.import_layer(tmp / "fixed.png")
    _run(ws, "basic.rotate", photo.name, {"angle": 3.0, "expand": False})  # in place
    registered = _new(_run(ws, "register.ecc", photo.name,
                           {"motion": "euclidean", "iterations": 200}, fixed="fixed"))
    corners = ws.new_points_layer("Corners")
    h, w = photo.shape
    ws.history.execute(SetLayerData(corners, np.array(
        [[2.0, 3.0], [w - 4.0, 1.0], [w - 2.0, h - 3.0], [1.0, h - 2.0]])))
    _run(ws, "basic.perspective", registered, {"width": 40, "height": 30}, corners="Corners")
    _run(ws, "basic.crop", registered, {"x": 4, "y": 2, "width": 30, "height": 20})
    _run(ws, "segment.slic", photo.name, {"n_segments": 20})
    _run(ws, "edges.canny", "fixed", {"sigma": 1.5})


SESSIONS = {
    "segmentation": (segmentation_session, "coins"),
    "restoration": (restoration_session, "astronaut"),
    "binary": (binary_session, "coins"),
    "geometry": (geometry_session, "camera"),
}


def _image(name: str) -> np.ndarray:
    image = getattr(skimage.data, name)()
    return np.ascontiguousarray(image[40:136, 60:188] if image.ndim == 2 else image[::4, ::4])


class Recorded:
    """A session run in a workspace opened from a file, with a copy of each source layer as it
    was when a step first read it (the bindings a replay needs)."""

    def __init__(self, session: str, tmp: Path) -> None:
        fn, image_name = SESSIONS[session]
        self.tmp = tmp
        self.primary = tmp / "in" / f"{image_name}.png"
        self.primary.parent.mkdir()
        save_image(self.primary, _image(image_name))
        self.ws = Workspace.open(self.primary)
        snapshots: dict[str, np.ndarray] = {}
        history = self.ws.history
        original = history.execute

        def execute(command):  # snapshot every layer before each op step changes anything
            if getattr(command, "step", None) is not None:
                for layer in self.ws.document:
                    snapshots.setdefault(layer.id, np.array(layer.data, copy=True)
                                         if isinstance(layer.data, np.ndarray) else layer.data)
            return original(command)

        history.execute = execute  # type: ignore[method-assign]
        fn(self.ws, tmp)
        self.recipe = history.recipe()
        self.sources = {name: snapshots[self.recipe.layer_ids[name]]
                        for name in self.recipe.sources}

    def layer(self, name: str):
        return self.ws.document[self.recipe.layer_ids[name]]


@pytest.fixture(params=sorted(SESSIONS))
def recorded(request, tmp_path):
    out = Recorded(request.param, tmp_path)
    yield out
    out.ws.close()


def test_replay_equals_every_layer_of_the_document(recorded):
    recipe = recipe_from_text(json.dumps(recorded.recipe.to_json()))
    ours = recorded.recipe
    assert (recipe.sources, recipe.steps, recipe.result_layer) == (
        ours.sources, ours.steps, ours.result_layer)
    layers = replay(recipe, recorded.sources)
    names = [n for n, i in recorded.recipe.layer_ids.items()
             if any(lay.id == i for lay in recorded.ws.document)]
    assert len(names) >= 5
    for name in names:
        assert _same(layers.layer(name).data, recorded.layer(name).data), name
    kinds = {recorded.layer(n).kind for n in names}
    assert {LayerKind.IMAGE, LayerKind.LABELS} <= kinds


def test_the_recipe_reads_every_input_by_layer_name(recorded):
    steps = recorded.recipe.steps
    assert all(spec_input in step.inputs for step in steps
               for spec_input in [_main_input(step.op_id)] if spec_input)
    outputs = [s.output for s in steps if s.output is not None]
    assert any(s.output in s.inputs.values() for s in steps)  # a layer replaced in place
    assert len(set(outputs)) >= 3  # new layers


def _main_input(op_id: str) -> str | None:
    import imgstudio.api as api

    spec = api.get_operation(op_id)
    return spec.inputs[0].name if spec.inputs else None


def _source_files(recorded: Recorded) -> dict[str, Path]:
    """Files for the sources after the first (labels as 8/16-bit PNG, points as CSV)."""
    from imgstudio.core.recipe import check

    kinds = check(recorded.recipe).source_kinds
    out = {}
    for name in recorded.recipe.sources[1:]:
        ext = ".csv" if kinds[name] == LayerKind.POINTS else ".png"
        path = recorded.tmp / f"source-{len(out)}{ext}"
        write_layer_file(kinds[name], recorded.sources[name], str(path))
        out[name] = path
    return out


def _env() -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen")


def test_script_and_batch_write_the_same_file_holding_the_editor_layer(recorded):
    tmp = recorded.tmp
    named = _source_files(recorded)
    recipe_path, script = tmp / "recipe.json", tmp / "replay.py"
    save_recipe(recipe_path, recorded.recipe)
    script.write_text(to_script(recorded.recipe))
    result = recorded.layer(recorded.recipe.result_layer)
    target = Path(result_target(result.kind, result.data.dtype, str(recorded.primary),
                                str(tmp / "script-out")))
    target.parent.mkdir()
    layer_args = [f"{n}={p}" for n, p in named.items()]
    proc = subprocess.run([sys.executable, str(script), str(recorded.primary), str(target),
                           *layer_args], capture_output=True, text=True, timeout=300,
                          env=_env())
    assert proc.returncode == 0, proc.stderr
    batch_args = [a for n, p in named.items() for a in ("--layer", f"{n}={p}")]
    proc = subprocess.run([sys.executable, "-m", "imgstudio", "batch", str(recipe_path),
                           str(recorded.primary.parent), str(tmp / "batch-out"), *batch_args],
                          capture_output=True, text=True, timeout=300, env=_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from_batch = tmp / "batch-out" / target.name
    assert from_batch.read_bytes() == target.read_bytes()
    written = read_layer_file(result.kind, str(target), "result")
    expected = result.data if result.kind == LayerKind.IMAGE else result.data.astype(np.int32)
    assert np.array_equal(written, expected)
    if recorded.recipe.steps and any(s.output is None for s in recorded.recipe.steps):
        assert (tmp / "batch-out" / (target.stem + ".json")).read_bytes() == \
            target.with_suffix(".json").read_bytes()


def test_a_reopened_project_exports_a_script_giving_the_same_pixels(recorded):
    tmp = recorded.tmp
    project = recorded.ws.save(tmp / "session.imgs")
    again = Workspace.open(project)
    try:
        recipe = again.history.recipe()
        assert recipe.to_json() == recorded.recipe.to_json()
        script = tmp / "from-project.py"
        script.write_text(to_script(recipe))
        result = again.document[recipe.layer_ids[recipe.result_layer]]
        out = Path(result_target(result.kind, result.data.dtype, str(recorded.primary),
                                 str(tmp)))
        named = _source_files(recorded)
        proc = subprocess.run([sys.executable, str(script), str(recorded.primary), str(out),
                               *(f"{n}={p}" for n, p in named.items())],
                              capture_output=True, text=True, timeout=300, env=_env())
        assert proc.returncode == 0, proc.stderr
        written = read_layer_file(result.kind, str(out), "result")
        expected = result.data if result.kind == LayerKind.IMAGE else result.data.astype(np.int32)
        assert np.array_equal(written, expected)
    finally:
        again.close()


def test_steps_after_reopening_continue_the_recipe(tmp_path):
    recorded = Recorded("binary", tmp_path)
    project = recorded.ws.save(tmp_path / "p.imgs")
    recorded.ws.close()
    again = Workspace.open(project)
    before = again.history.recipe()
    _run(again, "basic.invert", "later")
    after = again.history.recipe()
    assert after.steps[:-1] == before.steps and after.steps[-1].op_id == "basic.invert"
    layers = replay(after, recorded.sources)
    assert np.array_equal(layers.layer("later").data, again.document.by_name("later").data)
    assert load_image(tmp_path / "later.png").shape == again.document.by_name("later").shape
    again.close()
