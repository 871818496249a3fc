"""Results of the deep-learning kinds in the real window: recognised text is listed with its
boxes and becomes a labelled shapes layer in one undo step; a pose becomes a points layer and a
skeleton of polylines, its keypoints listed; boxes are listed with label and score."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

import imgstudio.core.spec as spec_module
from imgstudio.core import registry
from imgstudio.core.spec import operation
from imgstudio.core.types import Boxes, Image, LayerKind, Lines, Pose, Region, Text

LEFT = Qt.MouseButton.LeftButton
SHOTS = Path("/tmp/gui_shots")
#: Recognised strings with their boxes (x0, y0, x1, y1) on the 96×64 astronaut; one unboxed.
WORDS = [("HELLO", (4.0, 3.0, 40.0, 15.0)), ("WORLD", (50.0, 40.0, 92.0, 60.0)),
         ("(page)", None)]
#: Keypoints (x, y) on the astronaut's face and shoulders, and the bones joining them.
KEYPOINTS = np.array([[48.0, 20.0], [48.0, 40.0], [30.0, 52.0], [66.0, 52.0]])
NAMES = ["nose", "neck", "left_shoulder", "right_shoulder"]
EDGES = [(0, 1), (1, 2), (1, 3)]
TEST_OPS = ("test.read_words", "test.pose", "test.find_boxes")


@pytest.fixture
def result_ops() -> Iterator[None]:
    @operation("test.read_words", title="Read words", menu="Test")
    def read_words(image: Image) -> Text:
        """Recognise fixed words (a stand-in for OCR)."""
        return Text(list(WORDS))

    @operation("test.pose", title="Pose", menu="Test")
    def pose(image: Image) -> Pose:
        """Fixed keypoints and their skeleton (a stand-in for a pose model)."""
        skeleton = Lines([KEYPOINTS[[a, b]] for a, b in EDGES])
        return Pose(skeleton=skeleton, points=KEYPOINTS.copy(), names=list(NAMES),
                    scores=np.array([0.9, 0.8, 0.7, 0.6]), edges=list(EDGES))

    @operation("test.find_boxes", title="Find boxes", menu="Test")
    def find_boxes(image: Image) -> Boxes:
        """Two fixed detections."""
        return Boxes(np.array([[2, 3, 30, 40], [40, 10, 90, 60]]), np.array([0.9, 0.6]),
                     ["person", "dog"])

    registry.refresh()
    yield
    for op_id in TEST_OPS:
        spec_module._PENDING.pop(op_id, None)
        spec_module._DECLARED.pop(op_id, None)
    registry.refresh()


def run_op(qtbot, window, png, op_id) -> None:
    window.files.open_files([str(png)])
    window.choose_operation(op_id)
    with qtbot.waitSignal(window.operation_panel.applied, timeout=10000):
        qtbot.mouseClick(window.operation_panel.apply_button, LEFT)
    qtbot.waitUntil(lambda: not window.operation_panel.busy, timeout=10000)


def column(table, name) -> list[str]:
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    c = headers.index(name)
    return [table.item(r, c).text() for r in range(table.rowCount())]


def shot(window, name) -> None:
    window.canvas.fit()
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / name))


def test_recognised_text_is_listed_and_added_as_a_labelled_layer(result_ops, window, png,
                                                                 qtbot):
    run_op(qtbot, window, png, "test.read_words")
    results = window.results_panel
    assert window.docks["Results"].isVisible()
    assert column(results.table, "text") == ["HELLO", "WORLD", "(page)"]
    assert [float(v) for v in column(results.table, "x0")[:2]] == [4.0, 50.0]
    assert column(results.table, "y1")[2] == ""  # the string without a box
    assert results.add_layer_button.isVisible() and results.export_button.isEnabled()
    qtbot.mouseClick(results.copy_text_button, LEFT)
    assert QGuiApplication.clipboard().text() == "HELLO\nWORLD\n(page)"

    doc, history = window.workspace.document, window.workspace.history
    layers, steps = len(doc), len(history.steps)
    qtbot.mouseClick(results.add_layer_button, LEFT)
    assert len(doc) == layers + 1 and len(history.steps) == steps + 1
    layer = doc.active
    assert layer.kind == LayerKind.SHAPES and layer.name == "Read words"
    assert [(s.kind, s.text) for s in layer.data] == [("box", "HELLO"), ("box", "WORLD")]
    np.testing.assert_array_equal(layer.data[1].points, [[50.0, 40.0], [92.0, 60.0]])
    shot(window, "text_layer.png")
    window.act_undo.trigger()
    assert len(doc) == layers  # one undo step takes the layer away

    rect = results.table.visualItemRect(results.table.item(1, 0))
    qtbot.mouseClick(results.table.viewport(), LEFT, pos=rect.center())
    assert window.canvas.selection.bbox() == Region.from_xywh(50, 40, 42, 20)


def test_text_without_boxes_offers_no_layer(result_ops, window, qtbot):
    window.results_panel.show_result("OCR", Text([("just text", None)]))
    assert window.results_panel.text.toPlainText() == "just text"
    assert window.results_panel.add_layer_button.isHidden()
    assert not window.results_panel.copy_text_button.isHidden()
    with pytest.raises(ValueError, match="boxes"):
        window.results_panel.add_text_layer()


def test_a_pose_becomes_points_and_a_skeleton_of_polylines(result_ops, window, png, qtbot):
    run_op(qtbot, window, png, "test.pose")
    doc = window.workspace.document
    kinds = {layer.name: layer.kind for layer in doc}
    assert kinds["Pose of photo.points"] == LayerKind.POINTS
    assert kinds["Pose of photo.skeleton"] == LayerKind.SHAPES
    points = next(layer for layer in doc if layer.name == "Pose of photo.points")
    skeleton = next(layer for layer in doc if layer.name == "Pose of photo.skeleton")
    np.testing.assert_array_equal(points.data, KEYPOINTS)
    assert [s.kind for s in skeleton.data] == ["polyline"] * len(EDGES)
    for shape, (a, b) in zip(skeleton.data, EDGES, strict=True):
        np.testing.assert_array_equal(shape.points, KEYPOINTS[[a, b]])
    table = window.results_panel.table
    assert column(table, "keypoint") == NAMES
    assert [float(v) for v in column(table, "x")] == KEYPOINTS[:, 0].tolist()
    assert [float(v) for v in column(table, "score")] == [0.9, 0.8, 0.7, 0.6]
    assert len(window.workspace.history.steps) == 1  # both layers are one step
    shot(window, "pose_layers.png")


def test_boxes_are_listed_with_label_score_and_corners(result_ops, window, png, qtbot):
    run_op(qtbot, window, png, "test.find_boxes")
    table = window.results_panel.table
    assert column(table, "label") == ["person", "dog"]
    assert [float(v) for v in column(table, "score")] == [0.9, 0.6]
    assert [float(v) for v in column(table, "x1")] == [30.0, 90.0]
    assert window.workspace.document.active.kind == LayerKind.SHAPES
    rect = table.visualItemRect(table.item(0, 0))
    qtbot.mouseClick(table.viewport(), LEFT, pos=rect.center())
    assert window.canvas.selection.bbox() == Region.from_xywh(2, 3, 28, 37)
    shot(window, "boxes_layer.png")
