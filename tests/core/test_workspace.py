"""The workspace: open, import, save, modified state."""

from __future__ import annotations

import numpy as np
import pytest

from imgstudio.core.apply import apply_operation
from imgstudio.core.workspace import Workspace


def test_open_image_gives_one_layer_named_after_the_file(png, astronaut_small):
    ws = Workspace.open(png)
    assert [lay.name for lay in ws.document] == ["photo"]
    assert np.array_equal(ws.document[0].data, astronaut_small)
    assert ws.path is None and ws.title == "photo.png" and not ws.modified
    ws.close()


def test_edit_marks_modified_and_undo_back_to_saved_clears_it(png):
    ws = Workspace.open(png)
    seen = []
    ws.modified_changed.connect(seen.append)
    apply_operation(ws.document, ws.history, "basic.invert")
    assert ws.modified and ws.title.endswith("*")
    ws.history.undo()
    assert not ws.modified and seen == [True, False]
    ws.close()


def test_save_writes_a_project_and_reopens_identically(tmp_path, png):
    ws = Workspace.open(png)
    apply_operation(ws.document, ws.history, "basic.invert")
    ws.import_layer(png)
    target = ws.save(tmp_path / "work")
    assert target.endswith("work.imgs") and not ws.modified
    again = Workspace.open(target)
    assert [lay.name for lay in again.document] == ["photo", "photo 2"]
    assert np.array_equal(again.document[0].data, ws.document[0].data)
    from imgstudio.core.project import load_project

    assert [s.op_id for s in load_project(target).recipe.steps] == ["basic.invert"]
    assert again.history.recipe().to_json() == ws.history.recipe().to_json()
    assert again.history.recipe().layer_ids == ws.history.recipe().layer_ids
    ws.close()
    again.close()


def test_import_layer_is_one_undoable_step(png):
    ws = Workspace.open(png)
    layer = ws.import_layer(png)
    assert ws.document.active is layer and len(ws.history.steps) == 1
    ws.history.undo()
    assert len(ws.document) == 1
    ws.close()


def test_new_labels_layer_matches_the_image_size(png, astronaut_small):
    ws = Workspace.open(png)
    labels = ws.new_labels_layer()
    assert labels.data.shape == astronaut_small.shape[:2] and labels.data.max() == 0
    ws.close()


def test_new_labels_layer_needs_an_image():
    ws = Workspace()
    with pytest.raises(ValueError, match="open an image"):
        ws.new_labels_layer()


def test_save_untitled_without_a_name_is_refused():
    with pytest.raises(ValueError, match="no file name"):
        Workspace().save()


def test_export_labels_layer_as_16_bit_when_needed(tmp_path, png):
    from imgstudio.core.io import load_image

    ws = Workspace.open(png)
    labels = ws.new_labels_layer()
    labels.data[0, 0] = 300
    ws.export_layer(labels, tmp_path / "labels.png")
    out = load_image(tmp_path / "labels.png")
    assert out.dtype == np.uint16 and out[0, 0] == 300
    ws.close()


def test_labels_from_mask_and_conversions(png):
    ws = Workspace.open(png)
    mask = np.zeros(ws.document.size, bool)
    mask[2:6, 3:9] = True
    mask[10:12, 10:12] = True
    layer = ws.labels_from_mask(mask, value=3)
    assert np.array_equal(layer.data, np.where(mask, 3, 0))
    components = ws.convert_labels(layer, "labels")
    assert sorted(np.unique(components.data)) == [0, 1, 2]
    binary = ws.convert_labels(components, "mask")
    assert np.array_equal(binary.data, mask.astype(np.int32))
    assert len(ws.history.steps) == 3
    with pytest.raises(ValueError, match="image's size"):
        ws.labels_from_mask(np.zeros((3, 3), bool))
    ws.close()
