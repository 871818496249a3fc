"""Registration from the menu: the fixed layer picked in the form, a live metric plot in the
Jobs dock, the matrix in the Results dock (copy as text, save as JSON)."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

import imgstudio.api as api
from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.workspace import Workspace
from imgstudio.gui.panels.metric_plot import MetricPlot, parse_metric
from imgstudio.gui.panels.results import matrix_text

ANGLE, SHIFT = 7.0, (6.0, -4.0)  # the known motion of the moving image (degrees, pixels)
PARAMS = {"transform": "rigid", "iterations": 100}


@pytest.fixture
def pair():
    """(fixed, moving, truth): a 160 px grey crop, a rotated and shifted copy made with
    cv2.warpAffine, and the 3×3 matrix mapping a moving point onto the fixed image."""
    import cv2
    import skimage.data

    fixed = np.ascontiguousarray(skimage.data.camera()[100:260, 150:310])
    forward = cv2.getRotationMatrix2D((80.0, 80.0), ANGLE, 1.0)
    forward[:, 2] += SHIFT
    moving = cv2.warpAffine(fixed, forward, (160, 160))
    truth = np.linalg.inv(np.vstack([forward, [0.0, 0.0, 1.0]]))  # moving → fixed
    return fixed, moving, truth


def _angle(m: np.ndarray) -> float:
    return math.degrees(math.atan2(m[1, 0], m[0, 0]))


def test_parse_metric_reads_the_registration_message():
    point = parse_metric("level 2/3, iteration 40, metric -0.53")
    assert point == (-0.53, 2, 3)
    assert parse_metric("metric 1.5e-3").value == pytest.approx(1.5e-3)
    assert parse_metric("registering") is None and parse_metric("") is None


def test_register_from_the_menu_matches_api_plots_the_metric_and_shows_the_matrix(
        window, pair, qtbot, tmp_path, monkeypatch, screenshot_dir):
    fixed, moving, truth = pair
    fixed_layer, moving_layer = ImageLayer(fixed, "fixed"), ImageLayer(moving, "moving")
    window.files.show_workspace(Workspace(Document([fixed_layer, moving_layer])))
    doc = window.workspace.document
    doc.active = moving_layer

    window.op_actions["register.sitk"].trigger()
    panel = window.operation_panel
    form = panel.form
    combo = form.widget_for("fixed")
    assert [combo.itemText(i) for i in range(combo.count())] == ["fixed", "moving"]
    combo.setCurrentIndex(combo.findText("moving"))
    combo.setCurrentIndex(combo.findText("fixed"))  # the user's choice in the layer picker
    assert form.inputs()["fixed"] is fixed_layer
    form.set_values(PARAMS)
    values = form.values()

    # Hold the worker when the optimiser reaches level 2 (a direct connection runs on the
    # worker's thread), so the plot can be checked while the job is still running.
    reached, release = threading.Event(), threading.Event()

    def gate(_fraction, message):
        if message.startswith("level 2/") and not reached.is_set():
            reached.set()
            release.wait(20)

    def hook(job):
        if job.title == "Register (SimpleITK)":
            job.signals.progress.connect(gate, Qt.ConnectionType.DirectConnection)

    window.jobs.job_added.connect(hook)
    jobs_dock = window.docks["Jobs"]
    jobs_dock.raise_()
    window.resizeDocks([jobs_dock], [260], Qt.Vertical)
    try:
        with qtbot.waitSignal(panel.applied, timeout=30000):
            qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
            qtbot.waitUntil(reached.is_set, timeout=20000)
            row = jobs_dock.widget().rows()[0]
            assert row.job.title == "Register (SimpleITK)"
            plot = row.findChild(MetricPlot)

            def level_one_drawn():
                curves = getattr(plot, "_curves", {})
                return 1 in curves and len(curves[1].getData()[0]) == plot.levels.count(1)

            qtbot.waitUntil(level_one_drawn, timeout=5000)
            assert row.state == "running" and plot.isVisible() and len(plot.values) >= 5
            qtbot.wait(100)  # let pyqtgraph lay its axes out before the grab
            jobs_dock.grab().save(str(screenshot_dir / "jobs_metric_plot_live.png"))
            release.set()
    finally:
        release.set()
        window.jobs.job_added.disconnect(hook)

    # The new layer is what the API computes with the same inputs and parameters.
    expected = api.run("register.sitk", moving, fixed=fixed, **values)
    assert len(doc) == 3 and doc.active.name == "Register (SimpleITK) of moving"
    out = doc.active.data
    assert out.dtype == np.uint8 and out.shape == fixed.shape
    # Identical in practice (SimpleITK is deterministic with sampling=1.0); ITK's threaded
    # reductions can move the matrix by ~1e-8, which could flip a rounding, so allow 1 level.
    diff = np.abs(out.astype(int) - expected.image.astype(int))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 5

    # The Results dock shows the recovered matrix, within 0.5° and 1 px of the known one.
    results = window.results_panel
    assert window.docks["Results"].isVisible()
    matrix = results.current_matrix()
    np.testing.assert_allclose(matrix, expected.matrix, atol=1e-4)  # threaded sums: ~1e-6
    assert abs(_angle(matrix) - _angle(truth)) < 0.5
    np.testing.assert_allclose(matrix[:2, 2], truth[:2, 2], atol=1.0)
    shown = results.text.toPlainText()
    assert shown.startswith("matrix") and "rotation" in shown and "metric_values" in shown
    assert results.copy_matrix_button.isVisible() and results.save_transform_button.isVisible()

    qtbot.mouseClick(results.copy_matrix_button, Qt.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied == matrix_text(matrix)
    np.testing.assert_allclose(np.loadtxt(copied.splitlines()), matrix, rtol=1e-10, atol=1e-10)

    target = tmp_path / "transform"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "JSON (*.json)")))
    qtbot.mouseClick(results.save_transform_button, Qt.LeftButton)
    saved = json.loads((tmp_path / "transform.json").read_text())
    np.testing.assert_allclose(saved["matrix"], matrix, atol=1e-12)
    shown_result = results.current_result()
    assert saved["metric_values"] == list(shown_result.metric_values)

    # The Jobs dock row of the registration plotted the metric of every iteration.
    assert row.findChild(MetricPlot) is plot and plot.plot is not None
    assert len(plot.values) >= 10
    # Every iteration's metric, as the op's own trace (the message prints 9 digits).
    np.testing.assert_allclose(plot.values, shown_result.metric_values, rtol=1e-8, atol=1e-12)
    assert sorted(set(plot.levels)) == [1, 2, 3]
    qtbot.waitUntil(lambda: not plot._timer.isActive(), timeout=2000)
    drawn = sum(len(c.getData()[0]) for c in plot._curves.values())
    assert drawn == len(plot.values)
    assert plot.caption.startswith("metric ") and "iterations" in plot.caption

    jobs_dock.raise_()
    qtbot.wait(100)
    assert plot.isVisible()
    jobs_dock.grab().save(str(screenshot_dir / "jobs_metric_plot.png"))
    window.docks["Results"].raise_()
    qtbot.wait(20)
    window.docks["Results"].grab().save(str(screenshot_dir / "results_matrix.png"))


def test_jobs_without_a_metric_get_no_plot(window, qtbot):
    def work(progress):
        progress(0.5, "halfway, no metric here")
        return 1

    job = window.jobs.start(work, "Plain job")
    row = window.docks["Jobs"].widget().row_for(job)
    qtbot.waitUntil(lambda: row.finished, timeout=5000)
    plot = row.findChild(MetricPlot)
    assert plot is not None and plot.plot is None and plot.isHidden() and plot.values == []
