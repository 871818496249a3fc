"""The Results dock: tables with CSV export, rows that select their region."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt

from imgstudio.core.document import Document, ImageLayer, LabelsLayer
from imgstudio.core.types import Classes, Region, Table, Text
from imgstudio.gui.panels.results import ResultsPanel, region_selection


@pytest.fixture
def panel(qtbot):
    widget = ResultsPanel()
    qtbot.addWidget(widget)
    widget.resize(500, 300)
    widget.show()
    return widget


def test_table_is_shown_and_exported_as_csv(panel, tmp_path, qtbot):
    table = Table({"label": [1, 2], "area": [40, 12], "name": ["a", "b"]})
    panel.show_result("Regions", table)
    assert panel.table.rowCount() == 2 and panel.table.columnCount() == 3
    path = panel.export_csv(str(tmp_path / "regions"))
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["label", "area", "name"], ["1", "40", "a"], ["2", "12", "b"]]


def test_clicking_a_row_emits_it_even_after_sorting(panel, qtbot):
    panel.show_result("Regions", Table({"label": [1, 2, 3], "area": [30, 10, 20]}))
    panel.table.sortItems(1)  # by area ascending: label 2 first
    with qtbot.waitSignal(panel.row_activated) as blocker:
        rect = panel.table.visualItemRect(panel.table.item(0, 0))
        qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=rect.center())
    assert blocker.args[0] == {"label": 2, "area": 10}


def test_classes_and_text_results(panel):
    panel.show_result("Classes", Classes([("cat", 0.9), ("dog", 0.1)]))
    assert panel.table.item(0, 0).text() == "cat"
    panel.show_result("Text", Text([("hello", None), ("world", None)]))
    assert panel.text.toPlainText() == "hello\nworld"
    assert not panel.export_button.isEnabled()


def test_region_selection_outlines_the_label():
    labels = np.zeros((40, 50), np.int32)
    labels[10:20, 5:25] = 3
    doc = Document([ImageLayer(np.zeros((40, 50), np.uint8)), LabelsLayer(labels, "regions")])
    doc.active = doc[1]
    selection = region_selection({"label": 3}, doc)
    assert np.array_equal(selection.mask((40, 50)), labels == 3)


def test_region_selection_falls_back_to_the_bbox():
    doc = Document([ImageLayer(np.zeros((40, 50), np.uint8))])
    selection = region_selection({"bbox-0": 2, "bbox-1": 3, "bbox-2": 12, "bbox-3": 9}, doc)
    assert selection.bbox() == Region.from_xywh(3, 2, 6, 10)


def test_a_registration_matrix_is_shown_copied_and_saved(panel, tmp_path):
    import json

    from PySide6.QtGui import QGuiApplication

    from imgstudio.core.types import Registered
    from imgstudio.gui.panels.results import matrix_summary

    angle = np.radians(10.0)
    m = np.array([[np.cos(angle), -np.sin(angle), 12.5], [np.sin(angle), np.cos(angle), -3.25],
                  [0.0, 0.0, 1.0]])
    panel.show_result("Register", Registered(np.zeros((4, 4), np.uint8), m))
    assert panel.copy_matrix_button.isVisible() and panel.save_transform_button.isVisible()
    text = panel.text.toPlainText()
    assert text.splitlines()[0].startswith("matrix") and "rotation 10.000°" in text
    assert "shift (12.50, -3.25) px" in text and "scale 1.0000" in text
    copied = panel.copy_matrix()
    assert QGuiApplication.clipboard().text() == copied
    np.testing.assert_allclose(np.loadtxt(copied.splitlines()), m, atol=1e-11)
    path = panel.save_transform(str(tmp_path / "t"))
    assert path.endswith("t.json")
    with open(path, encoding="utf-8") as fh:
        saved = json.load(fh)
    np.testing.assert_allclose(saved["matrix"], m, atol=1e-15)

    panel.show_result("Regions", Table({"label": [1]}))
    assert not panel.copy_matrix_button.isVisible() and panel.current_matrix() is None
    with pytest.raises(ValueError, match="matrix"):
        panel.copy_matrix()
    assert matrix_summary(np.array([[1, 0, 0], [0, 1, 0], [1e-3, 0, 1.0]])).startswith("projective")


def test_classes_are_ranked_with_their_probability(panel):
    panel.show_result("Classes", Classes([("tabby", 0.625), ("tiger cat", 0.25)]))
    rows = [(panel.table.item(r, 0).text(), float(panel.table.item(r, 1).text()))
            for r in range(panel.table.rowCount())]
    assert rows == [("tabby", 0.625), ("tiger cat", 0.25)]
    assert panel.table.horizontalHeaderItem(1).text() == "probability"


def test_instances_lines_and_pose_become_tables():
    from imgstudio.core.types import Boxes, Instances, Lines, Pose
    from imgstudio.gui.panels.results import table_of

    boxes = Boxes(np.array([[1, 2, 3, 4], [5, 6, 7, 8]]), np.array([0.5, 0.25]), ["a", "b"])
    table = table_of(Instances(np.zeros((10, 10), np.int32), boxes))
    assert table.columns == {"instance": [1, 2], "label": ["a", "b"], "score": [0.5, 0.25],
                             "x0": [1.0, 5.0], "y0": [2.0, 6.0], "x1": [3.0, 7.0],
                             "y1": [4.0, 8.0]}
    lines = Lines([np.zeros((3, 2)), np.ones((2, 2))], ["arm", "leg"])
    assert table_of(lines).columns == {"label": ["arm", "leg"], "points": [3, 2]}
    pose = table_of(Pose(points=np.array([[1.0, 2.0], [3.0, 4.0]]), skeleton=Lines([np.zeros((2, 2))])))
    assert pose.columns == {"keypoint": ["1", "2"], "x": [1.0, 3.0], "y": [2.0, 4.0],
                            "score": ["", ""]}


def test_a_row_with_a_class_name_label_selects_its_box_not_a_label():
    doc = Document([ImageLayer(np.zeros((40, 50), np.uint8)),
                    LabelsLayer(np.ones((40, 50), np.int32), "regions")])
    doc.active = doc[1]
    row = {"label": "person", "score": 0.9, "x0": 3.0, "y0": 2.0, "x1": 9.0, "y1": 12.0}
    assert region_selection(row, doc).bbox() == Region.from_xywh(3, 2, 6, 10)
    assert region_selection({"text": "no box", "x0": "", "y0": "", "x1": "", "y1": ""},
                            doc) is None
