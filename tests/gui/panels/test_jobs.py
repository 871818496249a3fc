"""JobsPanel: rows follow real jobs run by JobManager on a thread pool."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt, QThreadPool

from imgstudio.core.progress import Cancelled
from imgstudio.gui.panels.jobs import JobsPanel
from imgstudio.gui.workers import JobManager


@pytest.fixture
def manager():
    pool = QThreadPool()
    m = JobManager(pool=pool)
    yield m
    m.cancel_all()
    assert m.wait(5000), "a job was still running at the end of the test"


@pytest.fixture
def panel(qtbot, manager):
    w = JobsPanel(manager)
    qtbot.addWidget(w)
    w.resize(320, 240)
    w.show()
    return w


def _halfway_job(release: threading.Event, seen: list):
    def fn(progress):
        progress(0.5, "halfway there")
        try:
            assert release.wait(5), "the test never released the job"
            progress.check()
        except Cancelled:
            seen.append("cancelled")
            raise
        return 42

    return fn


def test_row_shows_progress_then_done(qtbot, panel, manager):
    release, seen = threading.Event(), []
    try:
        job = manager.start(_halfway_job(release, seen), "Blur")
        row = panel.row_for(job)
        assert row.title_label.text() == "Blur"
        qtbot.waitUntil(lambda: row.progress_bar.value() == 500, timeout=3000)
        assert row.message_label.text() == "halfway there"
        assert row.cancel_button.isVisible()
    finally:
        release.set()
    qtbot.waitUntil(lambda: row.finished, timeout=3000)
    assert row.status_text().startswith("done in ") and row.status_text().endswith(" s")
    assert not row.cancel_button.isVisible() and row.clear_button.isVisible()
    assert row.progress_bar.value() == row.progress_bar.maximum()


def test_cancel_button_cancels_the_job(qtbot, panel, manager):
    release, seen = threading.Event(), []
    try:
        job = manager.start(_halfway_job(release, seen), "Denoise")
        row = panel.row_for(job)
        qtbot.waitUntil(lambda: row.progress_bar.value() == 500, timeout=3000)
        with qtbot.waitSignal(job.signals.cancelled, timeout=3000):
            qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
            assert row.status_text() == "cancelling…"
            release.set()
    finally:
        release.set()
    qtbot.waitUntil(lambda: row.finished, timeout=3000)
    assert seen == ["cancelled"]
    assert row.state == "cancelled" and row.status_text() == "cancelled"


def test_failed_job_says_why_and_rows_can_be_cleared(qtbot, panel, manager):
    def boom(progress):
        raise ValueError("sigma must be >= 0; got -1")

    with qtbot.waitSignal(manager.job_finished, timeout=3000):
        failed = manager.start(boom, "Bad blur")
    with qtbot.waitSignal(manager.job_finished, timeout=3000):
        ok = manager.start(lambda progress: None, "Quick")
    qtbot.waitUntil(lambda: panel.row_for(failed).finished and panel.row_for(ok).finished)
    row = panel.row_for(failed)
    assert row.status_text() == "failed: sigma must be >= 0; got -1"
    assert "ValueError" in row.status_label.toolTip()
    assert [r.job for r in panel.rows()] == [ok, failed]  # newest first
    qtbot.mouseClick(row.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.row_for(failed) is None)
    assert panel.clear_button.isEnabled()
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert panel.rows() == [] and panel.empty_label.isVisible()


def test_jobs_panel_screenshot(qtbot, panel, manager, screenshot_dir):
    release, seen = threading.Event(), []
    try:
        with qtbot.waitSignal(manager.job_finished, timeout=3000):
            manager.start(lambda progress: None, "Open astronaut.png")
        failed = manager.start(lambda progress: 1 / 0, "Face morph")
        qtbot.waitUntil(lambda: panel.row_for(failed).finished, timeout=3000)
        job = manager.start(_halfway_job(release, seen), "Non-local means denoise")
        qtbot.waitUntil(lambda: panel.row_for(job).progress_bar.value() == 500, timeout=3000)
        panel.grab().save(str(screenshot_dir / "jobs_panel.png"))
    finally:
        release.set()
    qtbot.waitUntil(lambda: panel.row_for(job).finished, timeout=3000)


def test_the_newest_card_is_scrolled_into_view_whole(qtbot, panel, manager):
    """Cards stack newest first; with the list scrolled down, a new job's card is shown whole."""
    panel.resize(300, 160)
    for _ in range(8):
        job = manager.start(lambda progress: None, "quick")
        qtbot.waitUntil(lambda job=job: job.done, timeout=5000)
    qtbot.wait(50)
    bar = panel.scroll.verticalScrollBar()
    assert bar.maximum() > 0  # more cards than fit
    bar.setValue(bar.maximum())
    newest = manager.start(lambda progress: None, "newest")
    row = panel.row_for(newest)

    def whole() -> bool:
        top = row.mapTo(panel.scroll.viewport(), row.rect().topLeft()).y()
        return 0 <= top and top + row.height() <= panel.scroll.viewport().height()

    assert not whole()  # scrolled past it when it was added
    qtbot.waitUntil(whole, timeout=2000)
    assert bar.value() < 10
