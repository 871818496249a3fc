"""Undo/redo history: exact pixel round trips, tile storage, atomicity, groups, budget, recipe."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

from imgstudio.core.document import (
    Document,
    ImageLayer,
    LabelsLayer,
    PointsLayer,
    Shape,
    ShapesLayer,
)
from imgstudio.core.history import (
    AddLayer,
    Command,
    Group,
    History,
    MoveLayer,
    RemoveLayer,
    SetLayerData,
    SetLayerProperty,
    SetPixels,
)
from imgstudio.core.recipe import LayerRef, RecordedStep


def _image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.float32:
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def _doc(data, cls=ImageLayer):
    layer = cls(data.copy(), "base")
    doc = Document([layer])
    return doc, layer, History(doc)


def _edited(data, y0, y1, x0, x1, seed=1):
    new = data.copy()
    new[y0:y1, x0:x1] = _image(new[y0:y1, x0:x1].shape, data.dtype, seed)
    return new


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(args)


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


# -- pixels ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [(), (3,)], ids=["gray", "rgb"])
def test_set_pixels_undo_redo_restore_exact_pixels(dtype, channels):
    original = _image((300, 520, *channels), dtype)
    doc, layer, history = _doc(original)
    new = _edited(original, 100, 280, 250, 400)
    history.execute(SetPixels(layer, new))
    np.testing.assert_array_equal(layer.data, new)
    history.undo()
    np.testing.assert_array_equal(layer.data, original)
    history.redo()
    np.testing.assert_array_equal(layer.data, new)


def test_set_pixels_on_labels_layer_round_trips():
    original = np.zeros((200, 300), np.int32)
    original[20:80, 30:90] = 1
    doc, layer, history = _doc(original, LabelsLayer)
    new = original.copy()
    new[100:180, 200:290] = 7
    history.execute(SetPixels(layer, new))
    np.testing.assert_array_equal(layer.data, new)
    history.undo()
    np.testing.assert_array_equal(layer.data, original)
    history.redo()
    np.testing.assert_array_equal(layer.data, new)


def test_set_pixels_casts_narrower_labels_to_the_layer_dtype():
    doc, layer, history = _doc(np.zeros((40, 50), np.int32), LabelsLayer)
    new = np.zeros((40, 50), np.uint8)
    new[5:9, 5:9] = 3
    command = SetPixels(layer, new)
    history.execute(command)
    assert layer.data.dtype == np.int32
    assert command.region == (5, 9, 5, 9)


def test_float_nan_and_negative_zero_round_trip_bit_exactly():
    original = np.zeros((20, 20), np.float32)
    original[0, 0] = np.nan
    doc, layer, history = _doc(original)
    new = original.copy()
    new[0, 0] = 0.5
    new[5, 5] = -0.0
    command = SetPixels(layer, new)
    history.execute(command)
    assert command.region == (0, 6, 0, 6)
    history.undo()
    assert layer.data.tobytes() == original.tobytes()
    history.redo()
    assert layer.data.tobytes() == new.tobytes()


def test_one_pixel_change_on_large_rgb_image_stores_a_few_bytes():
    original = _image((2000, 2000, 3), np.uint8)
    doc, layer, history = _doc(original)
    new = original.copy()
    new[1234, 567] = 255 - new[1234, 567]
    command = SetPixels(layer, new)
    history.execute(command)
    assert command.nbytes < 512
    assert history.memory_bytes == command.nbytes
    history.undo()
    np.testing.assert_array_equal(layer.data, original)


def test_set_pixels_without_changes_is_a_harmless_step(tmp_path):
    original = _image((50, 60, 3), np.uint8)
    doc, layer, history = _doc(original)
    events = Recorder()
    layer.data_changed.connect(events)
    command = SetPixels(layer, original.copy(), step=_step(layer, "basic.invert"))
    history.execute(command)
    command.spill(str(tmp_path))
    history.undo()
    history.redo()
    assert command.region is None and events.calls == [] and history.recorded_steps() == [command.step]
    np.testing.assert_array_equal(layer.data, original)


def test_set_pixels_notifies_the_bounding_box_of_the_change():
    doc, layer, history = _doc(np.zeros((600, 700), np.uint8))
    new = layer.data.copy()
    new[10, 20] = 1
    new[400, 650] = 1  # in another tile
    events = Recorder()
    layer.data_changed.connect(events)
    history.execute(SetPixels(layer, new))
    history.undo()
    assert events.calls == [(layer, (10, 401, 20, 651))] * 2


def test_undo_and_redo_write_in_place_without_replacing_the_array():
    doc, layer, history = _doc(_image((300, 300, 3), np.uint8))
    array = layer.data
    history.execute(SetPixels(layer, _edited(array, 0, 10, 0, 10)))
    history.undo()
    history.redo()
    assert layer.data is array


def test_set_pixels_neither_keeps_nor_modifies_the_new_array():
    original = _image((100, 120), np.uint16)
    doc, layer, history = _doc(original)
    new = _edited(original, 10, 50, 10, 60)
    expected = new.copy()
    history.execute(SetPixels(layer, new))
    np.testing.assert_array_equal(new, expected)
    new[:] = 0
    history.undo()
    history.redo()
    np.testing.assert_array_equal(layer.data, expected)


def test_set_pixels_rejects_the_layers_own_array():
    doc, layer, history = _doc(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="from_region"):
        SetPixels(layer, layer.data)


def test_overlapping_edits_undo_through_every_intermediate_state():
    doc, layer, history = _doc(_image((400, 500, 3), np.uint8))
    states = [layer.data.copy()]
    for i, (y, x) in enumerate([(0, 0), (100, 150), (50, 60), (300, 200), (120, 160)]):
        history.execute(SetPixels(layer, _edited(layer.data, y, y + 120, x, x + 300, seed=i + 1)))
        states.append(layer.data.copy())
    for state in reversed(states[:-1]):
        history.undo()
        np.testing.assert_array_equal(layer.data, state)
    for state in states[1:]:
        history.redo()
        np.testing.assert_array_equal(layer.data, state)


@pytest.mark.parametrize("change", ["crop", "dtype"])
def test_shape_or_dtype_change_undoes_to_the_original(change):
    original = _image((120, 160, 3), np.uint8)
    doc, layer, history = _doc(original)
    if change == "crop":
        new = original[10:70, 20:100].copy()
    else:
        new = original.astype(np.float32) / 255
    events = Recorder()
    layer.data_changed.connect(events)
    history.execute(SetPixels(layer, new, label="Crop"))
    np.testing.assert_array_equal(layer.data, new)
    history.undo()
    assert layer.data.dtype == np.uint8
    np.testing.assert_array_equal(layer.data, original)
    history.redo()
    np.testing.assert_array_equal(layer.data, new)
    assert events.calls == [(layer, None)] * 3


def test_from_region_records_an_in_place_brush_edit():
    original = _image((300, 400, 3), np.uint8)
    doc, layer, history = _doc(original)
    region = (40, 90, 250, 330)
    y0, y1, x0, x1 = region
    old = layer.data[y0:y1, x0:x1].copy()
    layer.data[y0 + 5 : y1 - 5, x0 + 5 : x1 - 5] = (255, 0, 0)
    painted = layer.data.copy()
    command = SetPixels.from_region(layer, region, old)
    command.redo()  # first redo rewrites the same values
    np.testing.assert_array_equal(layer.data, painted)
    history.push(command)
    assert command.region == (45, 85, 255, 325)
    history.undo()
    np.testing.assert_array_equal(layer.data, original)
    history.redo()
    np.testing.assert_array_equal(layer.data, painted)


@pytest.mark.parametrize(
    ("region", "old_shape", "match"),
    [((0, 10, 0, 10), (5, 5), "shape"), ((-1, 5, 0, 5), (6, 5), "region")],
)
def test_from_region_rejects_bad_region_or_old_values(region, old_shape, match):
    doc, layer, history = _doc(np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match=match):
        SetPixels.from_region(layer, region, np.zeros(old_shape, np.uint8))


# -- layers ------------------------------------------------------------------------------------
def test_add_layer_undo_redo_emits_insert_and_remove():
    doc, base, history = _doc(np.zeros((8, 8), np.uint8))
    inserted, removed = Recorder(), Recorder()
    doc.layer_inserted.connect(inserted)
    doc.layer_removed.connect(removed)
    top = ImageLayer(np.ones((8, 8), np.uint8), "top")
    history.execute(AddLayer(doc, top))
    assert doc.layers == (base, top) and doc.active is top
    history.undo()
    assert doc.layers == (base,) and doc.active is base
    history.redo()
    assert inserted.calls == [(1, top), (1, top)] and removed.calls == [(1, top)]


def test_remove_layer_undo_restores_index_and_active_layer():
    a, b, c = (ImageLayer(np.zeros((4, 4), np.uint8), n) for n in "abc")
    doc = Document([a, b, c])
    doc.active = b
    history = History(doc)
    history.execute(RemoveLayer(doc, b))
    assert doc.layers == (a, c)
    history.undo()
    assert doc.layers == (a, b, c) and doc.active is b


def test_move_layer_undo_redo_emit_moves():
    a, b, c = (ImageLayer(np.zeros((4, 4), np.uint8), n) for n in "abc")
    doc = Document([a, b, c])
    history = History(doc)
    moved = Recorder()
    doc.layer_moved.connect(moved)
    history.execute(MoveLayer(doc, a, 2))
    assert doc.layers == (b, c, a)
    history.undo()
    assert doc.layers == (a, b, c)
    assert moved.calls == [(0, 2), (2, 0)]


@pytest.mark.parametrize(
    ("name", "value"),
    [("name", "renamed"), ("visible", False), ("opacity", 0.5), ("blend_mode", "multiply")],
)
def test_set_layer_property_undo_redo_emit_property_changed(name, value):
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    old = getattr(layer, name)
    changed = Recorder()
    layer.property_changed.connect(changed)
    history.execute(SetLayerProperty(layer, name, value))
    assert getattr(layer, name) == value
    history.undo()
    assert getattr(layer, name) == old
    assert changed.calls == [(layer, name)] * 2


def test_set_layer_property_rejects_unknown_property():
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="name"):
        SetLayerProperty(layer, "data", None)


def test_invalid_property_value_leaves_layer_and_history_untouched():
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="opacity"):
        history.execute(SetLayerProperty(layer, "opacity", 2.0))
    assert layer.opacity == 1.0 and history.steps == ()


def test_set_layer_data_undo_redo_for_points_keeps_copies():
    layer = PointsLayer([[1.0, 2.0]])
    doc = Document([layer])
    history = History(doc)
    new = np.array([[3.0, 4.0], [5.0, 6.0]])
    history.execute(SetLayerData(layer, new))
    new[:] = 0
    np.testing.assert_array_equal(layer.data, [[3.0, 4.0], [5.0, 6.0]])
    layer.data[:] = -1  # edits of the live array do not leak into the history
    history.undo()
    np.testing.assert_array_equal(layer.data, [[1.0, 2.0]])
    history.redo()
    np.testing.assert_array_equal(layer.data, [[3.0, 4.0], [5.0, 6.0]])


def test_set_layer_data_undo_redo_for_shapes():
    box = Shape("box", np.array([[0.0, 0.0], [5.0, 5.0]]), text="cat")
    layer = ShapesLayer([box])
    history = History(Document([layer]))
    history.execute(SetLayerData(layer, []))
    assert layer.data == []
    history.undo()
    assert [s.text for s in layer.data] == ["cat"]
    np.testing.assert_array_equal(layer.data[0].points, box.points)


def test_set_layer_data_rejects_raster_layers():
    doc, layer, history = _doc(np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match="points or shapes"):
        SetLayerData(layer, [])


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


def _step(layer, op_id: str, params: dict | None = None) -> RecordedStep:
    """A recorded in-place op call on ``layer``."""
    return RecordedStep(op_id, params or {}, {"image": LayerRef(layer.id, layer.name)},
                        layer.name, ((None, layer.id),))


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
    assert "48.8 KiB undo budget" in messages[0]
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
