"""Document and layer models: validation in setters, events, ordering."""

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


@pytest.fixture
def rgb():
    return np.zeros((8, 10, 3), np.uint8)


def test_image_layer_rejects_unsupported_arrays():
    with pytest.raises(ValueError, match="uint8, uint16 or float32"):
        ImageLayer(np.zeros((4, 4), np.int64))
    with pytest.raises(ValueError, match="shape"):
        ImageLayer(np.zeros((4, 4, 2), np.uint8))


def test_labels_layer_requires_integer_2d():
    with pytest.raises(ValueError, match="integer"):
        LabelsLayer(np.zeros((4, 4), np.float32))
    assert LabelsLayer(np.zeros((4, 4), bool)).data.dtype == np.int32


def test_points_layer_stores_n_by_2_floats():
    layer = PointsLayer([[1, 2], [3, 4]])
    assert layer.data.dtype == float and layer.data.shape == (2, 2)
    with pytest.raises(ValueError, match="N, 2"):
        PointsLayer([[1, 2, 3]])


def test_property_setters_validate_and_emit_only_on_change(rgb):
    layer = ImageLayer(rgb, "base")
    seen = []
    layer.property_changed.connect(lambda lay, name: seen.append(name))
    layer.opacity = 0.5
    layer.opacity = 0.5
    layer.visible = False
    layer.blend_mode = "multiply"
    layer.name = "renamed"
    assert seen == ["opacity", "visible", "blend_mode", "name"]
    with pytest.raises(ValueError, match="opacity"):
        layer.opacity = 1.5
    with pytest.raises(ValueError, match="blend_mode"):
        layer.blend_mode = "dodge"
    with pytest.raises(ValueError, match="name"):
        layer.name = "  "


def test_document_insert_remove_move_emit_events(rgb):
    doc = Document()
    events = []
    doc.layer_inserted.connect(lambda i, lay: events.append(("ins", i, lay.name)))
    doc.layer_removed.connect(lambda i, lay: events.append(("rem", i, lay.name)))
    doc.layer_moved.connect(lambda a, b: events.append(("mov", a, b)))
    a = doc.append(ImageLayer(rgb, "a"))
    b = doc.append(LabelsLayer(np.zeros((8, 10), np.int32), "b"))
    doc.move(b, 0)
    doc.remove(a)
    assert events == [("ins", 0, "a"), ("ins", 1, "b"), ("mov", 1, 0), ("rem", 1, "a")]
    assert doc.layers == (b,)


def test_first_layer_becomes_active_and_removal_picks_a_neighbour(rgb):
    doc = Document([ImageLayer(rgb, "a"), ImageLayer(rgb, "b")])
    assert doc.active is doc[0]
    doc.active = doc[1]
    doc.remove(doc[1])
    assert doc.active is doc[0]
    doc.remove(doc[0])
    assert doc.active is None


def test_lookup_by_id_and_name(rgb):
    layer = ImageLayer(rgb, "photo")
    doc = Document([layer])
    assert doc[layer.id] is layer and doc.by_name("photo") is layer
    with pytest.raises(KeyError):
        doc["missing"]


def test_unique_name_and_size(rgb):
    doc = Document([PointsLayer([]), ImageLayer(rgb, "photo")])
    assert doc.unique_name("photo") == "photo 2"
    assert doc.size == (8, 10)


def test_same_layer_cannot_be_inserted_twice(rgb):
    layer = ImageLayer(rgb)
    doc = Document([layer])
    with pytest.raises(ValueError, match="already"):
        doc.append(layer)


def test_shapes_round_trip_through_json():
    shape = Shape("box", np.array([[1.0, 2.0], [5.0, 6.0]]), text="face", score=0.9)
    again = Shape.from_json(shape.to_json())
    assert again.text == "face" and np.array_equal(again.points, shape.points)
    with pytest.raises(TypeError):
        ShapesLayer(["not a shape"])


def test_data_setter_emits_whole_change(rgb):
    layer = ImageLayer(rgb)
    seen = []
    layer.data_changed.connect(lambda lay, region: seen.append(region))
    layer.data = np.ones((2, 2), np.float32)
    layer.notify_changed((0, 1, 0, 1))
    assert seen == [None, (0, 1, 0, 1)]


class _CountingPoints(PointsLayer):
    """A layer that counts how often its id is read (what an id scan does per layer)."""

    reads = 0

    @property
    def id(self):
        type(self).reads += 1
        return self._id

    @id.setter
    def id(self, value):
        self._id = value


def test_inserting_n_layers_reads_each_id_a_constant_number_of_times():
    layers = [_CountingPoints(np.zeros((0, 2)), f"p{i}") for i in range(2000)]
    _CountingPoints.reads = 0
    doc = Document(layers)
    doc.insert(0, _CountingPoints(np.zeros((0, 2)), "first"))
    assert _CountingPoints.reads <= 5 * len(doc)  # a scan per insert would read ~2 million


def test_the_id_index_follows_insert_remove_and_move(rgb):
    a, b, c = ImageLayer(rgb, "a"), ImageLayer(rgb, "b"), ImageLayer(rgb, "c")
    doc = Document([a, b])
    doc.insert(1, c)
    assert doc.index(c) == 1 and doc[c.id] is c and c in doc
    doc.move(c, 2)
    assert doc.index(c.id) == 2 and doc[2] is c
    doc.remove(c)
    assert c not in doc and c.id not in [lay.id for lay in doc]
    with pytest.raises(KeyError, match=c.id):
        doc[c.id]
    with pytest.raises(KeyError, match=c.id):
        doc.index(c)
    doc.append(c)  # may come back after removal (undo of a delete)
    assert doc[c.id] is c and doc.index(c) == 2
    twin = ImageLayer(rgb, "twin", layer_id=a.id)
    with pytest.raises(ValueError, match="duplicate layer id"):
        doc.append(twin)
    assert twin not in doc and doc[a.id] is a
