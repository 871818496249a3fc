"""MessageBar: errors stay until closed, info hides itself, lower levels never bury errors."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from imgstudio.gui.message_bar import MessageBar


@pytest.fixture
def bar(qtbot):
    w = MessageBar(info_timeout_ms=50)
    qtbot.addWidget(w)
    w.resize(480, 40)
    return w


def test_starts_hidden(bar):
    assert bar.isHidden() and bar.current_text() == "" and bar.current_level() is None


def test_error_stays_until_the_close_button(qtbot, bar):
    bar.show_error("cannot read foo.png: not an image")
    assert not bar.isHidden()
    assert bar.current_text() == "cannot read foo.png: not an image"
    assert bar.current_level() == "error"
    qtbot.wait(150)
    assert bar.current_text() == "cannot read foo.png: not an image"
    with qtbot.waitSignal(bar.closed):
        qtbot.mouseClick(bar.close_button, Qt.MouseButton.LeftButton)
    assert bar.isHidden() and bar.current_text() == ""


def test_info_hides_itself(qtbot, bar):
    bar.show_info("Saved recipe to steps.json")
    assert bar.current_level() == "info"
    qtbot.waitUntil(lambda: bar.isHidden(), timeout=2000)
    assert bar.current_text() == ""


def test_warning_replaces_info_and_stays(qtbot, bar):
    bar.show_info("hello")
    bar.show_warning("Dropped 2 oldest undo steps")
    assert bar.current_level() == "warning"
    qtbot.wait(150)
    assert bar.current_text() == "Dropped 2 oldest undo steps"
    bar.hide_message()
    assert bar.isHidden()


def test_info_does_not_bury_an_error(bar):
    bar.show_error("job failed")
    bar.show_info("Saved")
    assert bar.current_text() == "job failed"
    assert bar.messages() == [("error", "job failed"), ("info", "Saved")]


def test_error_details_go_to_the_tooltip(bar):
    bar.show_error("failed: boom", details="Traceback ...")
    assert bar.toolTip() == "Traceback ..."


def test_message_bar_screenshot(bar, screenshot_dir):
    bar.show()
    bar.show_error("Cannot apply Cartoon: image must be RGB; got 4 channels")
    bar.grab().save(str(screenshot_dir / "message_bar_error.png"))
    bar.hide_message()
    bar.show_warning("Dropped 3 oldest undo steps to stay within the 1.0 GiB undo budget")
    bar.grab().save(str(screenshot_dir / "message_bar_warning.png"))
    bar.hide_message()
    bar.show_info("Saved recipe to steps.json")
    bar.grab().save(str(screenshot_dir / "message_bar_info.png"))


def test_action_buttons_run_their_callback_and_go_with_the_message(qtbot, bar):
    clicked = []
    bar.show_error("model 'x' is not installed",
                   actions=[("Import model…", lambda: clicked.append("import")),
                            ("Copy command", lambda: clicked.append("copy"))])
    assert [b.text() for b in bar.action_buttons] == ["Import model…", "Copy command"]
    qtbot.mouseClick(bar.action_buttons[1], Qt.MouseButton.LeftButton)
    assert clicked == ["copy"] and bar.current_level() == "error"  # the message stays
    old = bar.action_buttons
    bar.show_error("another error")
    assert bar.action_buttons == [] and all(b.isHidden() for b in old)
    bar.show_info("done", actions=[("Run again", lambda: clicked.append("again"))])
    bar.hide_message()
    assert bar.action_buttons == []
