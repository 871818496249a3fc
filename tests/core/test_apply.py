"""Applying operations to a document: one history step, nothing changed on failure."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.apply import apply_operation, commit, prepare_operation
from imgstudio.core.document import Document, ImageLayer, PointsLayer
from imgstudio.core.history import History
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.core.types import Region


@pytest.fixture
def doc_and_history(astronaut_small):
    doc = Document([ImageLayer(astronaut_small.copy(), "photo")])
    history = History(doc)
    yield doc, history
    history.close()


def test_image_op_replaces_pixels_in_one_undoable_step(doc_and_history, astronaut_small):
    doc, history = doc_and_history
    apply_operation(doc, history, "basic.gamma", {"gamma": 2.0})
    assert np.array_equal(doc[0].data, api.run("basic.gamma", astronaut_small, gamma=2.0))
    assert len(history.steps) == 1 and history.recipe().steps[0].params == {"gamma": 2.0}
    history.undo()
    assert np.array_equal(doc[0].data, astronaut_small)


def test_labels_output_becomes_a_new_active_layer(doc_and_history, astronaut_small):
    doc, history = doc_and_history
    done = apply_operation(doc, history, "basic.color_mask")
    assert len(doc) == 2 and doc.active is done.new_layers[0]
    assert np.array_equal(doc[1].data, api.run("basic.color_mask", astronaut_small))
    history.undo()
    assert len(doc) == 1


def test_prepare_changes_nothing_until_commit(doc_and_history, astronaut_small):
    doc, history = doc_and_history
    prepared = prepare_operation(doc, "basic.invert")
    assert np.array_equal(doc[0].data, astronaut_small) and not history.steps
    commit(history, doc, prepared)
    assert np.array_equal(doc[0].data, 255 - astronaut_small)


def test_failing_op_leaves_document_and_history_untouched(doc_and_history, astronaut_small):
    doc, history = doc_and_history
    with pytest.raises(ValueError, match="white"):
        apply_operation(doc, history, "basic.levels", {"black": 200, "white": 100})
    assert not history.steps and np.array_equal(doc[0].data, astronaut_small)


def test_cancelled_op_leaves_everything_untouched(doc_and_history, astronaut_small):
    doc, history = doc_and_history
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        apply_operation(doc, history, "basic.invert", progress=progress)
    assert not history.steps and np.array_equal(doc[0].data, astronaut_small)


def test_extra_layer_inputs_are_recorded_by_name(doc_and_history, astronaut_small):
    doc, history = doc_and_history
    pts = doc.append(PointsLayer([[0, 0], [20, 0], [0, 20]], "pts"))
    doc.active = doc[0]
    apply_operation(doc, history, "basic.affine", inputs={"src": pts, "dst": pts})
    assert history.recipe().steps[0].inputs == {"image": "photo", "src": "pts", "dst": "pts"}


def test_wrong_layer_kind_is_named(doc_and_history):
    doc, history = doc_and_history
    pts = doc.append(PointsLayer([[0, 0]], "pts"))
    with pytest.raises(ValueError, match="points layer"):
        apply_operation(doc, history, "basic.invert", layer=pts)


def test_region_with_mask_changes_only_selected_pixels(doc_and_history, astronaut_small):
    doc, history = doc_and_history
    mask = np.zeros(astronaut_small.shape[:2], bool)
    mask[10:20, 5:30] = True
    mask[12, 5] = False
    apply_operation(doc, history, "basic.invert", region=Region.from_xywh(5, 10, 25, 10), region_mask=mask)
    expected = astronaut_small.copy()
    expected[mask] = 255 - astronaut_small[mask]
    assert np.array_equal(doc[0].data, expected)
    history.undo()
    assert np.array_equal(doc[0].data, astronaut_small)


def test_region_labels_result_is_placed_back_at_the_region(doc_and_history, astronaut_small):
    doc, history = doc_and_history
    apply_operation(doc, history, "basic.color_mask", region=Region.from_xywh(4, 6, 30, 20))
    labels = doc.active.data
    assert labels.shape == astronaut_small.shape[:2]
    crop_mask = api.run("basic.color_mask", astronaut_small[6:26, 4:34])
    assert np.array_equal(labels[6:26, 4:34], crop_mask)
    labels[6:26, 4:34] = 0
    assert not labels.any()


def test_region_outside_the_layer_is_refused(doc_and_history):
    doc, history = doc_and_history
    with pytest.raises(ValueError, match="outside"):
        apply_operation(doc, history, "basic.invert", region=Region.from_xywh(500, 500, 10, 10))
    assert not history.steps


def test_a_mask_layer_feeds_an_image_input(doc_and_history):
    from imgstudio.core.document import LabelsLayer

    doc, history = doc_and_history
    mask = np.zeros((30, 40), np.int32)
    mask[5:10, 5:10] = 1
    layer = doc.append(LabelsLayer(mask, "mask"))
    done = apply_operation(doc, history, "basic.invert", layer=layer)
    assert np.array_equal(done.new_layers[0].data, 255 - mask.astype(np.uint8) * 255)


def test_layers_of_several_outputs_are_named_as_the_recipe_names_them(doc_and_history):
    doc, history = doc_and_history
    for _ in range(2):
        apply_operation(doc, history, "segment.mean_shift", {"spatial_radius": 5}, layer=doc[0])
    names = [lay.name for lay in doc][1:]
    assert sorted(names) == ["Mean shift of photo 2.image", "Mean shift of photo 2.labels",
                             "Mean shift of photo.image", "Mean shift of photo.labels"]
    recipe = history.recipe()
    assert [s.output for s in recipe.steps] == ["Mean shift of photo", "Mean shift of photo 2"]
    assert {doc[i].name for n, i in recipe.layer_ids.items() if n != "photo"} == set(names)
    assert all(doc[recipe.layer_ids[n]].name == n for n in recipe.layer_ids)


def test_an_op_without_inputs_names_its_layer_by_its_title(doc_and_history):
    """A sampler makes something new: its layer is not "... of <the active layer>"."""
    doc, history = doc_and_history
    prepared = apply_operation(doc, history, "generate.gan_sample", {"count": 4})
    assert [lay.name for lay in prepared.new_layers] == ["GAN samples"]
