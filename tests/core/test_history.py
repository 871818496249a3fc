"""Undo/redo history (imgstudio.core.history): groups and atomicity, navigation, the recipe of
the steps, the byte budget and spilling to disk."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.history import Command, Group, History, RemoveLayer, SetLayerProperty, SetPixels
from tests.core.helpers import Recorder, _doc, _edited, _image, _step


class FailsHalfway(Command):
    """Sets opacity, then raises; restores opacity first, as every command must."""

    def __init__(self, layer):
        super().__init__("fails halfway")
        self.layer = layer

    def redo(self):
        old = self.layer.opacity
        self.layer.opacity = 0.25
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            self.layer.opacity = old
            raise

    def undo(self):
        raise AssertionError("never applied")


# -- groups and atomicity ----------------------------------------------------------------------


def test_group_block_undoes_as_one_step():
    original = _image((64, 64), np.uint8)
    doc, layer, history = _doc(original)
    with history.group("Brush stroke"):
        history.execute(SetPixels(layer, _edited(layer.data, 0, 10, 0, 10)))
        history.execute(SetPixels(layer, _edited(layer.data, 20, 30, 20, 30)))
        history.execute(SetLayerProperty(layer, "opacity", 0.5))
    assert len(history.steps) == 1 and history.steps[0].label == "Brush stroke"
    history.undo()
    np.testing.assert_array_equal(layer.data, original)
    assert layer.opacity == 1.0 and not history.can_undo


def test_nested_groups_flatten_into_one_step():
    doc, layer, history = _doc(np.zeros((8, 8), np.uint8))
    with history.group("outer"):
        history.execute(SetLayerProperty(layer, "opacity", 0.5))
        with history.group("inner"):
            history.execute(SetLayerProperty(layer, "visible", False))
    assert [c.label for c in history.steps] == ["outer"]
    assert len(history.steps[0].commands) == 2


def test_exception_in_group_rolls_back_and_records_nothing():
    original = _image((64, 64), np.uint8)
    doc, layer, history = _doc(original)
    changed = Recorder()
    history.changed.connect(changed)
    with pytest.raises(KeyError), history.group("Brush stroke"):
        history.execute(SetPixels(layer, _edited(layer.data, 0, 10, 0, 10)))
        history.execute(SetLayerProperty(layer, "name", "painted"))
        raise KeyError("cancelled")
    np.testing.assert_array_equal(layer.data, original)
    assert layer.name == "base" and history.steps == () and changed.calls == []


def test_failing_command_in_a_group_command_leaves_everything_untouched():
    doc, layer, history = _doc(np.zeros((8, 8), np.uint8))
    history.execute(SetLayerProperty(layer, "name", "first"))
    history.execute(SetLayerProperty(layer, "name", "second"))
    history.undo()  # keep a redo tail, which a failure must not clear
    steps, changed = history.steps, Recorder()
    history.changed.connect(changed)
    bad = Group("bad", [SetLayerProperty(layer, "visible", False), FailsHalfway(layer)])
    with pytest.raises(RuntimeError, match="boom"):
        history.execute(bad)
    assert layer.visible and layer.opacity == 1.0 and layer.name == "first"
    assert history.steps == steps and history.index == 0 and history.can_redo
    assert changed.calls == []


def test_set_pixels_recorded_for_another_shape_fails_without_side_effects():
    doc, layer, history = _doc(np.zeros((40, 40), np.uint8))
    stale = SetPixels(layer, np.ones((40, 40), np.uint8))
    history.execute(SetPixels(layer, np.zeros((20, 20), np.uint8), label="Crop"))
    before = layer.data.copy()
    with pytest.raises(ValueError, match="recorded for"):
        history.execute(stale)
    np.testing.assert_array_equal(layer.data, before)
    assert len(history.steps) == 1 and history.index == 0


def test_set_pixels_with_an_invalid_array_fails_without_side_effects():
    original = _image((10, 10), np.uint8)
    doc, layer, history = _doc(original)
    with pytest.raises(ValueError, match="uint8, uint16 or float32"):
        history.execute(SetPixels(layer, np.zeros((10, 10), np.int64)))
    np.testing.assert_array_equal(layer.data, original)
    assert history.steps == () and not history.can_undo


# -- navigation --------------------------------------------------------------------------------
def test_execute_after_undo_clears_redo():
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    history.execute(SetLayerProperty(layer, "opacity", 0.5))
    history.execute(SetLayerProperty(layer, "opacity", 0.25))
    history.undo()
    history.execute(SetLayerProperty(layer, "visible", False))
    assert not history.can_redo and len(history.steps) == 2
    assert history.steps[-1].new_value is False


def test_undo_and_redo_return_false_at_the_ends():
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    assert not history.undo() and not history.redo()
    history.execute(SetLayerProperty(layer, "opacity", 0.5))
    assert not history.redo() and history.undo() and not history.undo()


def test_jump_goes_to_the_state_after_a_step():
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    for value in (0.8, 0.6, 0.4, 0.2):
        history.execute(SetLayerProperty(layer, "opacity", value))
    history.jump(1)
    assert layer.opacity == 0.6 and history.index == 1
    history.jump(-1)
    assert layer.opacity == 1.0 and not history.can_undo
    history.jump(3)
    assert layer.opacity == 0.2 and not history.can_redo
    with pytest.raises(IndexError):
        history.jump(4)


def test_changed_is_emitted_for_every_move():
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    changed = Recorder()
    history.changed.connect(changed)
    history.execute(SetLayerProperty(layer, "opacity", 0.5))
    history.undo()
    history.redo()
    history.jump(-1)
    history.clear()
    assert len(changed.calls) == 5


def test_push_records_an_already_applied_command_without_redoing_it():
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    command = SetLayerProperty(layer, "opacity", 0.5)
    layer.opacity = 0.5
    events = Recorder()
    layer.property_changed.connect(events)
    history.push(command)
    assert events.calls == [] and history.can_undo
    history.undo()
    assert layer.opacity == 1.0


def test_recipe_lists_the_steps_up_to_the_index():
    doc, layer, history = _doc(np.zeros((8, 8), np.uint8))
    blur = _step(layer, "enhance.gaussian", {"sigma": 2.0})
    invert = _step(layer, "basic.invert")
    history.execute(SetPixels(layer, np.full((8, 8), 1, np.uint8), step=blur))
    history.execute(SetLayerProperty(layer, "opacity", 0.5))  # not an op: no recipe step
    history.execute(SetPixels(layer, np.full((8, 8), 2, np.uint8), step=invert))
    assert history.recorded_steps() == [blur, invert]
    assert [s.op_id for s in history.recipe().steps] == ["enhance.gaussian", "basic.invert"]
    history.undo()
    assert history.recorded_steps() == [blur]
    assert history.recipe().sources == (layer.name,)


def test_recipe_names_layers_as_they_are_called_now():
    doc, layer, history = _doc(np.zeros((8, 8), np.uint8))
    history.execute(SetPixels(layer, np.full((8, 8), 1, np.uint8), step=_step(layer, "basic.invert")))
    layer.name = "renamed"
    recipe = history.recipe()
    assert recipe.sources == ("renamed",) and recipe.steps[0].output == "renamed"
    assert recipe.layer_ids == {"renamed": layer.id}


# -- budget ------------------------------------------------------------------------------------
def _random_block_edits(layer, history, count, size=64, seed=0):
    rng = np.random.default_rng(seed)
    h, w = layer.shape
    for _ in range(count):
        y, x = int(rng.integers(0, h - size)), int(rng.integers(0, w - size))
        new = layer.data.copy()
        new[y : y + size, x : x + size] = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        history.execute(SetPixels(layer, new))
        yield


def test_budget_spills_to_disk_and_every_step_still_undoes_exactly(tmp_path):
    original = _image((512, 512, 3), np.uint8)
    doc, layer, _ = _doc(original)
    budget = 2_000_000
    history = History(doc, budget_bytes=budget, spill_dir=tmp_path)
    for _ in _random_block_edits(layer, history, 200):
        assert history.memory_bytes <= budget
    final = layer.data.copy()
    assert len(history.steps) == 200 and history.spilled_bytes > 0
    history.jump(-1)
    np.testing.assert_array_equal(layer.data, original)
    history.jump(199)
    np.testing.assert_array_equal(layer.data, final)


def test_spilled_command_loads_back_transparently(tmp_path):
    original = _image((300, 300, 3), np.uint8)
    doc, layer, history = _doc(original)
    new = _edited(original, 0, 200, 0, 200)
    command = SetPixels(layer, new)
    history.execute(command)
    held = command.nbytes
    assert command.spill(str(tmp_path)) == held and command.nbytes == 0
    assert command.spilled_bytes == held
    history.undo()
    np.testing.assert_array_equal(layer.data, original)
    history.redo()
    np.testing.assert_array_equal(layer.data, new)


def test_small_spill_budget_drops_oldest_steps_with_a_notice(tmp_path):
    original = _image((256, 256, 3), np.uint8)
    doc, layer, _ = _doc(original)
    history = History(doc, budget_bytes=50_000, spill_dir=tmp_path, spill_budget_bytes=100_000)
    notices = Recorder()
    history.notice.connect(notices)
    states = [layer.data.copy()]
    for _ in _random_block_edits(layer, history, 20, size=48):
        states.append(layer.data.copy())
        assert history.spilled_bytes <= 100_000 and history.memory_bytes <= 50_000
    kept = len(history.steps)
    assert 0 < kept < 20
    messages = [args[0] for args in notices.calls]
    assert messages and all(m.startswith("Dropped 1 oldest undo step") for m in messages)
    assert "97.7 KiB on-disk undo budget" in messages[0]  # the spill budget forced it
    while history.undo():
        pass
    assert not history.can_undo
    np.testing.assert_array_equal(layer.data, states[20 - kept])
    history.jump(kept - 1)
    np.testing.assert_array_equal(layer.data, states[-1])


def test_close_removes_spill_files(tmp_path):
    doc, layer, _ = _doc(_image((256, 256, 3), np.uint8))
    history = History(doc, budget_bytes=10_000, spill_dir=tmp_path)
    for _ in _random_block_edits(layer, history, 5):
        pass
    assert history.spill_dir is not None and os.listdir(history.spill_dir)
    history.close()
    assert os.listdir(tmp_path) == [] and history.steps == ()


def test_collected_history_removes_its_spill_folder(tmp_path):
    doc, layer, _ = _doc(_image((256, 256, 3), np.uint8))
    history = History(doc, budget_bytes=10_000, spill_dir=tmp_path)
    for _ in _random_block_edits(layer, history, 3):
        pass
    assert os.listdir(tmp_path)
    del history
    gc.collect()
    assert os.listdir(tmp_path) == []


def test_removed_layer_counts_against_the_memory_budget():
    layer = ImageLayer(np.zeros((100, 100, 3), np.uint8))
    doc = Document([layer, ImageLayer(np.zeros((100, 100, 3), np.uint8))])
    history = History(doc)
    history.execute(RemoveLayer(doc, layer))
    assert history.memory_bytes == layer.data.nbytes
    history.undo()
    assert history.memory_bytes == 0


@pytest.mark.parametrize("change", ["every pixel", "crop"])
def test_large_edits_split_into_chunks_round_trip_exactly(change):
    original = _image((1200, 1500, 3), np.uint8)  # 5.4 MB: several chunks, on several threads
    doc, layer, history = _doc(original)
    new = 255 - original if change == "every pixel" else original[7:1100, 3:1400].copy()
    command = SetPixels(layer, new)
    history.execute(command)
    np.testing.assert_array_equal(layer.data, new)
    history.undo()
    np.testing.assert_array_equal(layer.data, original)
    history.redo()
    np.testing.assert_array_equal(layer.data, new)
