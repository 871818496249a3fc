"""The preview follows the view without flooding the Jobs dock: a view change the preview on
screen still covers (the window made smaller, a whole-layer preview) starts no new preview
job; panning to pixels it does not cover does."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.workspace import Workspace
from tests.gui.canvas_events import LEFT, NOMOD
from tests.gui.helpers import type_into

TIMEOUT = 20000


def _previews_started(window) -> list[str]:
    started: list[str] = []
    window.jobs.job_added.connect(lambda job: started.append(job.title)
                                  if job.title.startswith("Preview") else None)
    return started


def _open(window, qtbot, image: np.ndarray, op_id: str):
    window.files.show_workspace(Workspace(Document([ImageLayer(image, "photo")])))
    qtbot.waitUntil(lambda: window.histogram_panel is not None, timeout=5000)
    window.op_actions[op_id].trigger()
    panel = window.operation_panel
    with qtbot.waitSignal(panel.preview_ready, timeout=TIMEOUT):
        qtbot.mouseClick(panel.preview_button, LEFT)
    return panel


def _settle(qtbot, window) -> None:
    qtbot.wait(window.operation_panel.preview_timer.interval() + 150)


def test_a_smaller_window_reuses_the_preview_and_a_pan_beyond_it_previews_again(qtbot, window):
    from PySide6.QtTest import QTest

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8)
    panel = _open(window, qtbot, image, "enhance.gaussian")
    window.canvas.set_zoom(1.0)  # shows part of the image: a region preview
    with qtbot.waitSignal(panel.preview_ready, timeout=TIMEOUT) as first:
        pass
    assert first.args[0].region is not None
    started = _previews_started(window)
    window.resize(window.width() - 200, window.height() - 120)  # the canvas shrinks
    _settle(qtbot, window)
    assert started == []  # what is on screen still covers the smaller view
    canvas = window.canvas
    middle = QPoint(canvas.width() // 2, canvas.height() // 2)
    window.set_tool("pan")
    QTest.mousePress(canvas, LEFT, NOMOD, middle)
    QTest.mouseMove(canvas, middle + QPoint(-300, 0))
    QTest.mouseRelease(canvas, LEFT, NOMOD, middle + QPoint(-300, 0))
    with qtbot.waitSignal(panel.preview_ready, timeout=TIMEOUT) as again:
        pass
    assert started and again.args[0].region != first.args[0].region


def test_parameters_still_preview_again_after_a_covered_view_change(qtbot, window):
    image = np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    panel = _open(window, qtbot, image, "enhance.gaussian")
    started = _previews_started(window)
    window.resize(window.width() - 100, window.height() - 60)
    _settle(qtbot, window)
    assert started == []
    with qtbot.waitSignal(panel.preview_ready, timeout=TIMEOUT):
        type_into(qtbot, panel.form.widget_for("sigma"), "3")
    assert started
