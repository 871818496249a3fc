"""An operation that lacks its model or a library, run through the real window: the message
bar says so in one line, "Import model…" installs the weights under the model's name and
"Run again" then succeeds; a missing library offers its install command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

import imgstudio.core.spec as spec_module
from imgstudio.core import registry
from imgstudio.core.errors import ModelNotFoundError
from imgstudio.core.spec import operation
from imgstudio.core.types import Classes, Image

LEFT = Qt.MouseButton.LeftButton
SHOTS = Path("/tmp/gui_shots")
MODEL = "my-npz-model"
TEST_OPS = ("test.needs_model", "test.needs_library", "test.plain_failure")


def _unregister(op_id: str) -> None:
    spec_module._PENDING.pop(op_id, None)
    spec_module._DECLARED.pop(op_id, None)
    registry.refresh()


@pytest.fixture
def model_ops(tmp_path, monkeypatch) -> Iterator[Path]:
    """Test-only ops that use the real store and loader; the store's folders lie under
    tmp_path. Yields the folder models are imported into."""
    folder = tmp_path / "models"
    monkeypatch.setenv("IMGSTUDIO_MODELS", str(folder))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    @operation("test.needs_model", title="Needs a model", menu="Test")
    def needs_model(image: Image) -> Classes:
        """Weigh the image's mean by the weights of an imported npz model."""
        from imgstudio.models import loading, store

        located = store.find(MODEL)  # ModelNotFoundError until it is imported
        weights = loading.npz(located.path)["w"]
        return Classes([("weighted", float(image.mean() * weights.sum()))])

    @operation("test.needs_library", title="Needs a library", menu="Test")
    def needs_library(image: Image) -> Image:
        """Import a library that no machine has."""
        from imgstudio.models import loading

        loading.require("imgstudio_no_such_library", "Needs a library",
                        command="pip install imgstudio-no-such-library")
        return image

    @operation("test.plain_failure", title="Plain failure", menu="Test")
    def plain_failure(image: Image) -> Image:
        """Fail as an ordinary bad input does."""
        raise ValueError("image is too plain")

    registry.refresh()
    yield folder
    for op_id in TEST_OPS:
        _unregister(op_id)
    from imgstudio.models import store

    store.forget()


@pytest.fixture
def npz_file(tmp_path) -> Path:
    path = tmp_path / "weights.npz"
    np.savez(path, w=np.array([0.25, 0.5, 1.25], dtype=np.float64))
    return path


def run_op(qtbot, window, png, op_id) -> None:
    window.files.open_files([str(png)])
    window.choose_operation(op_id)
    qtbot.mouseClick(window.operation_panel.apply_button, LEFT)
    qtbot.waitUntil(lambda: not window.operation_panel.busy, timeout=10000)


def buttons(bar) -> dict:
    return {b.text(): b for b in bar.action_buttons}


def shot(widget, name) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / name))


def test_a_missing_model_is_imported_from_the_message_bar_and_run_again(
        model_ops, window, png, qtbot, npz_file, monkeypatch, astronaut_small):
    run_op(qtbot, window, png, "test.needs_model")
    bar = window.message_bar
    assert bar.current_level() == "error"
    text = bar.current_text()
    assert text == "Needs a model (test.needs_model): unknown model 'my-npz-model'"
    assert str(model_ops) in bar.toolTip()  # the folders looked in are in the tooltip
    assert list(buttons(bar)) == ["Import model…", "Copy command"]
    assert not window.workspace.history.steps
    shot(window, "model_missing_window.png")
    shot(bar, "model_missing_bar.png")

    qtbot.mouseClick(buttons(bar)["Copy command"], LEFT)
    assert QGuiApplication.clipboard().text() == f"imgstudio models import FILE --name {MODEL}"

    titles = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda parent, title, *a: titles.append(title) or (str(npz_file), ""))
    qtbot.mouseClick(buttons(bar)["Import model…"], LEFT)
    assert titles == [f"Import weights for {MODEL}"]
    assert (model_ops / f"{MODEL}.npz").read_bytes() == npz_file.read_bytes()
    assert bar.current_level() == "info" and MODEL in bar.current_text()
    assert list(buttons(bar)) == ["Run again"]
    shot(bar, "model_imported_bar.png")

    with qtbot.waitSignal(window.operation_panel.result_ready, timeout=10000) as blocker:
        qtbot.mouseClick(buttons(bar)["Run again"], LEFT)
    qtbot.waitUntil(lambda: not window.operation_panel.busy, timeout=10000)
    expected = astronaut_small.mean() * 2.0
    assert blocker.args[0].items == [("weighted", pytest.approx(expected))]
    table = window.results_panel.table
    assert table.item(0, 0).text() == "weighted"
    assert float(table.item(0, 1).text()) == pytest.approx(expected, rel=1e-5)
    assert bar.current_level() is None  # the error is gone


def test_the_error_is_recognised_by_type_and_shortened_to_its_reason(model_ops, window):
    exc = ModelNotFoundError("model 'x' fails its sha256 check: /a/x.pth (looked in: /a; /b); "
                             "install it with: CMD --name x", name="x", command="CMD --name x",
                             folders=("/a", "/b"))
    window.model_errors.report(f"Op (op.id): {exc}", exc)
    bar = window.message_bar
    assert bar.current_text() == "Op (op.id): model 'x' fails its sha256 check: /a/x.pth"
    assert bar.toolTip() == ("model 'x' fails its sha256 check: /a/x.pth\n\n"
                             "Install it with: CMD --name x\n\nLooked in:\n  /a\n  /b")
    hint = ModelNotFoundError("unknown model 'y'; known models like it: y-1, y-2; list them "
                              "with: L, or add your own with: CMD", name="y", command="CMD")
    window.model_errors.report(str(hint), hint)
    assert bar.current_text() == "unknown model 'y'; known models like it: y-1, y-2"
    window.model_errors.report("Op (op.id): model 'x' is not installed", ValueError("plain"))
    assert bar.action_buttons == []  # a ValueError saying the same is not offered an import


def test_a_missing_library_offers_its_install_command(model_ops, window, png, qtbot):
    run_op(qtbot, window, png, "test.needs_library")
    bar = window.message_bar
    assert bar.current_level() == "error"
    assert "imgstudio_no_such_library" in bar.current_text()
    assert list(buttons(bar)) == ["Copy command"]
    qtbot.mouseClick(buttons(bar)["Copy command"], LEFT)
    assert QGuiApplication.clipboard().text() == "pip install imgstudio-no-such-library"
    shot(bar, "missing_library_bar.png")


def test_other_failures_show_without_buttons(model_ops, window, png, qtbot):
    run_op(qtbot, window, png, "test.plain_failure")
    bar = window.message_bar
    assert bar.current_text() == "Plain failure (test.plain_failure): image is too plain"
    assert bar.action_buttons == []


def test_cancelling_the_file_dialog_keeps_the_error(model_ops, window, png, qtbot,
                                                    monkeypatch):
    run_op(qtbot, window, png, "test.needs_model")
    bar = window.message_bar
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: ("", ""))
    qtbot.mouseClick(buttons(bar)["Import model…"], LEFT)
    assert bar.current_level() == "error" and "Import model…" in buttons(bar)
    assert not model_ops.exists()
