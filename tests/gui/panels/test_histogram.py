"""HistogramPanel: per-channel counts of the active layer, region, markers, overlays."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from imgstudio.core.document import Document, ImageLayer, LabelsLayer
from imgstudio.core.history import AddLayer, SetPixels
from imgstudio.core.workspace import Workspace
from imgstudio.gui.panels.histogram import HistogramPanel, image_histograms


@pytest.fixture
def panel(qtbot, workspace):
    w = HistogramPanel(workspace, debounce_ms=10)
    qtbot.addWidget(w)
    w.resize(320, 220)
    w.show()
    return w


def _assert_matches(hists, image, lo, hi):
    channels = ["gray"] if image.ndim == 2 else ["R", "G", "B"]
    assert list(hists) == channels
    for c, name in enumerate(channels):
        values = image if image.ndim == 2 else image[..., c]
        counts, edges = np.histogram(values, bins=256, range=(lo, hi))
        np.testing.assert_array_equal(hists[name][1], counts)
        np.testing.assert_allclose(hists[name][0], edges)


def test_rgb_histograms_equal_numpy_per_channel(panel, workspace):
    _assert_matches(panel.histograms(), workspace.document[0].data, 0, 256)


@pytest.mark.parametrize("dtype, hi", [(np.uint16, 65536), (np.float32, 1.0)])
def test_gray_uint16_and_float_use_256_bins_over_the_dtype_range(dtype, hi):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 65536, (50, 70)).astype(np.uint16)
    if dtype == np.float32:
        image = (image / 65535).astype(np.float32)
    _assert_matches(image_histograms(image), image, 0, hi)


def test_region_restricts_the_histogram(panel, workspace):
    image = workspace.document[0].data
    panel.set_region((10, 30, 20, 60))
    _assert_matches(panel.histograms(), image[10:30, 20:60], 0, 256)
    assert sum(panel.histograms()["R"][1]) == 20 * 40
    panel.set_region(None)
    _assert_matches(panel.histograms(), image, 0, 256)


def test_updates_after_the_data_changes(qtbot, panel, workspace):
    layer = workspace.document[0]
    workspace.history.execute(SetPixels(layer, np.zeros_like(layer.data)))
    qtbot.waitUntil(lambda: panel.histograms()["R"][1][0] == layer.data[..., 0].size,
                    timeout=2000)
    workspace.history.undo()
    qtbot.waitUntil(lambda: panel.histograms()["R"][1][0] != layer.data[..., 0].size,
                    timeout=2000)
    _assert_matches(panel.histograms(), layer.data, 0, 256)


def test_follows_the_active_layer_and_ignores_labels(qtbot, panel, workspace):
    labels = np.zeros((64, 96), np.int32)
    labels[:10, :10], labels[20:30, 20:30] = 1, 2
    workspace.history.execute(AddLayer(workspace.document, LabelsLayer(labels, "seeds")))
    qtbot.waitUntil(lambda: panel.histograms() == {}, timeout=2000)
    assert panel.info_label.text() == "seeds: 2 labels"
    workspace.document.active = workspace.document[0]
    qtbot.waitUntil(lambda: "R" in panel.histograms(), timeout=2000)


def test_huge_images_are_subsampled(qtbot):
    image = np.zeros((2100, 2100), np.uint8)
    ws = Workspace(Document([ImageLayer(image, "big")]))
    try:
        w = HistogramPanel(ws)
        qtbot.addWidget(w)
        counts = w.histograms()["gray"][1]
        assert 0 < counts.sum() <= 1_000_000
        assert counts[0] == counts.sum()
    finally:
        ws.close()


def test_markers_and_extra_histograms(panel, workspace):
    panel.set_markers([100, 200])
    assert panel.markers() == [100.0, 200.0]
    lines = [i for i in panel.plot.getPlotItem().items if isinstance(i, pg.InfiniteLine)]
    assert sorted(line.value() for line in lines) == [100, 200]
    ref = np.full((10, 10), 128, np.uint8)
    panel.add_extra_histograms({"reference": ref})
    extra = panel.extra_histograms()["reference"]["gray"]
    assert extra[1][128] == 100
    assert len(panel.plot.getPlotItem().listDataItems()) == 4  # R, G, B + reference
    panel.clear_extra()
    assert panel.extra_histograms() == {}
    assert len(panel.plot.getPlotItem().listDataItems()) == 3
    assert sum(isinstance(i, pg.InfiniteLine) for i in panel.plot.getPlotItem().items) == 2
    panel.set_markers([])
    assert panel.markers() == []


def test_log_scale_keeps_the_counts(qtbot, panel):
    before = panel.histograms()
    panel.log_checkbox.setChecked(True)
    assert panel.histograms().keys() == before.keys()


def test_histogram_panel_screenshot(panel, workspace, screenshot_dir):
    panel.set_markers([128])
    panel.grab().save(str(screenshot_dir / "histogram_panel.png"))
    panel.add_extra_histograms({"reference": np.clip(
        np.random.default_rng(0).normal(90, 30, (64, 96)), 0, 255).astype(np.uint8)})
    panel.grab().save(str(screenshot_dir / "histogram_panel_extra.png"))
