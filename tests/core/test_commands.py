"""Undoable commands (imgstudio.core.commands) through the history: exact pixel round trips,
tile storage, layer structure, properties and data."""

from __future__ import annotations

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
    History,
    MoveLayer,
    RemoveLayer,
    SetLayerData,
    SetLayerProperty,
    SetPixels,
)
from tests.core.helpers import Recorder, _doc, _edited, _image, _round_trip, _step

# -- pixels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [(), (3,)], ids=["gray", "rgb"])
def test_set_pixels_undo_redo_restore_exact_pixels(dtype, channels):
    original = _image((300, 520, *channels), dtype)
    doc, layer, history = _doc(original)
    new = _edited(original, 100, 280, 250, 400)
    _round_trip(history, layer, original, SetPixels(layer, new), new)


def test_set_pixels_on_labels_layer_round_trips():
    original = np.zeros((200, 300), np.int32)
    original[20:80, 30:90] = 1
    doc, layer, history = _doc(original, LabelsLayer)
    new = original.copy()
    new[100:180, 200:290] = 7
    _round_trip(history, layer, original, SetPixels(layer, new), new)


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
