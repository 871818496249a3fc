"""The Histogram dock marks the threshold of the threshold op shown in the Operation panel."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.filters

import imgstudio.api as api
from imgstudio.core.document import Document, ImageLayer, LabelsLayer
from imgstudio.core.workspace import Workspace
from imgstudio.gui.threshold_marker import marker_value


def markers_of(window) -> list[float] | None:
    panel = window.histogram_panel
    return None if panel is None else panel.markers()


def test_threshold_is_marked_on_the_histogram_and_follows_the_method(
        window, qtbot, astronaut_small):
    grey = api.run("basic.grayscale", astronaut_small)  # the grey image binary.threshold uses
    otsu, li = skimage.filters.threshold_otsu(grey), skimage.filters.threshold_li(grey)
    assert abs(otsu - li) > 1
    window.files.show_workspace(Workspace(Document([ImageLayer(astronaut_small.copy(), "photo")])))
    window.op_actions["binary.threshold"].trigger()  # before the histogram dock exists
    assert window.histogram_panel is None
    qtbot.waitUntil(lambda: markers_of(window) == [pytest.approx(otsu)], timeout=5000)
    combo = window.operation_panel.form.widget_for("method")
    combo.setCurrentIndex(combo.findText("li"))  # as the user picks it
    qtbot.waitUntil(lambda: markers_of(window) == [pytest.approx(li)], timeout=5000)
    edges = window.histogram_panel.histograms()["R"][0]
    assert edges[0] <= li <= edges[-1]  # the same units as the histogram (0..256 for uint8)


def test_otsu_and_riddler_calvard_ops_are_marked_and_other_ops_clear_it(
        window, qtbot, astronaut_small):
    grey = api.run("basic.grayscale", astronaut_small)
    window.files.show_workspace(Workspace(Document([ImageLayer(astronaut_small.copy(), "photo")])))
    qtbot.waitUntil(lambda: window.histogram_panel is not None, timeout=5000)
    window.op_actions["segment.riddler_calvard"].trigger()
    assert markers_of(window) == [pytest.approx(skimage.filters.threshold_isodata(grey))]
    window.op_actions["segment.otsu"].trigger()
    assert markers_of(window) == [pytest.approx(skimage.filters.threshold_otsu(grey))]
    window.op_actions["basic.invert"].trigger()
    assert markers_of(window) == []


def test_the_marker_follows_the_active_layer_and_skips_labels(window, qtbot, astronaut_small):
    dark = (astronaut_small // 3).astype(np.uint8)
    document = Document([ImageLayer(astronaut_small.copy(), "photo"), ImageLayer(dark, "dark"),
                         LabelsLayer(np.zeros(dark.shape[:2], np.int32), "Seeds")])
    window.files.show_workspace(Workspace(document))
    qtbot.waitUntil(lambda: window.histogram_panel is not None, timeout=5000)
    document.active = document[0]
    window.op_actions["segment.otsu"].trigger()
    first = markers_of(window)
    document.active = document[1]
    expected = skimage.filters.threshold_otsu(api.run("basic.grayscale", dark))
    qtbot.waitUntil(lambda: markers_of(window) == [pytest.approx(expected)], timeout=5000)
    assert first != markers_of(window)
    document.active = document[2]
    qtbot.waitUntil(lambda: markers_of(window) == [], timeout=5000)


def test_marker_value_in_the_dtype_units_and_for_manual(astronaut_small):
    op = api.get_operation
    grey16 = (astronaut_small[..., 1].astype(np.uint16) * 257)
    assert marker_value(op("binary.threshold"), {"method": "otsu"}, grey16) == pytest.approx(
        skimage.filters.threshold_otsu(grey16))
    assert marker_value(op("binary.threshold"), {"method": "manual", "value": 100.0},
                        grey16) == pytest.approx(100 * 257)
    grey = np.float32(astronaut_small[..., 1] / 255.0)
    assert 0.0 < marker_value(op("segment.otsu"), {}, grey) < 1.0
    assert marker_value(op("binary.adaptive_threshold"), {}, grey) is None
    flat = np.full((8, 8), 7, np.uint8)  # isodata finds no level: no marker, no error
    assert marker_value(op("segment.riddler_calvard"), {}, flat) in (None, 7.0)
    assert 0.0 < marker_value(op("segment.riddler_calvard"), {}, grey) < 1.0
