"""The Training dock in the real window: Start a training, watch the plot get its epochs, Stop
mid-way (the checkpoint stays), Resume (the epochs continue), "Use this model"; the Results
dock shows the trained model; a generate-style op's sample grid fills in the Jobs dock while
it runs, becomes a new document, and the canvas pans meanwhile without stalls.

The training ops here are test-only (tests/gui/panels/_training_ops.py) but run through the
real framework (``imgstudio.ops._training``: checkpoints, resume, the model store).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

import imgstudio.api as api
from imgstudio.core.types import Trained
from tests.gui.canvas_events import LEFT, NOMOD
from tests.gui.helpers import type_into
from tests.gui.panels._training_ops import SAMPLE_ID, TRAIN_ID, Heartbeat, registered

#: The longest the event loop may go without running a 5 ms timer while a job runs.
MAX_STALL_S = 0.050


@pytest.fixture
def tiny_ops(models):
    """The test ops, registered before the window is built (so its menus list them), with a
    private model store."""
    with registered() as ids:
        yield ids


def _menu_action(window, menu_title: str, text: str):
    for top in window.menuBar().actions():
        if top.menu() is not None and top.menu().title().replace("&", "") == menu_title:
            for action in top.menu().actions():
                if action.text() == text:
                    return action
    raise AssertionError(f"no {menu_title} → {text} in the menu bar")


def _click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, LEFT)


def _type_text(qtbot, edit: QLineEdit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def _open_dock(qtbot, window, op_id: str):
    action = _menu_action(window, "Tools", "&Train a Model…")
    assert action.shortcut().toString() == "Ctrl+Shift+T"
    action.trigger()
    panel = window.training_panel
    assert window.docks["Training"].isVisible()
    offered = [panel.op_combo.itemData(i) for i in range(panel.op_combo.count())]
    assert op_id in offered and SAMPLE_ID not in offered  # only ops that declare training
    panel.op_combo.setCurrentIndex(offered.index(op_id))
    qtbot.waitUntil(lambda: panel.plot is not None, timeout=5000)  # built once shown
    return panel


def test_train_stop_resume_and_use_the_model_from_the_dock(qtbot, tiny_ops, window,
                                                          screenshot_dir):
    from imgstudio.models import loading

    torch = loading.torch("reading the checkpoint in a test")
    window.resize(1500, 950)  # a desktop-sized window, for the screenshots
    panel = _open_dock(qtbot, window, TRAIN_ID)
    form = panel.form
    assert set(form.fields) >= {"dataset", "epochs", "batch_size", "seed", "output", "name",
                                "resume", "delay"}  # the generated form: every parameter
    assert not form.fields["resume"].widget.isEnabled()  # Start and Resume set it
    assert not panel.resume_button.isEnabled()  # no checkpoint yet
    type_into(qtbot, form.widget_for("epochs"), "8")
    type_into(qtbot, form.widget_for("delay"), "0.04")
    _type_text(qtbot, form.widget_for("name"), "digits-ae")
    ckpt = Path(api.model_folder()) / "digits-ae.pt.ckpt"
    assert not ckpt.exists()

    _click(qtbot, panel.start_button)
    assert panel.running and panel.stop_button.isEnabled()
    assert not panel.start_button.isEnabled() and not panel.form.isEnabled()
    qtbot.waitUntil(lambda: len(panel.plot_data().get("loss", ([], []))[0]) >= 2,
                    timeout=20000)
    # the plot draws what the framework reported: epochs 1, 2... and a preview grid
    xs, ys = panel.plot_data()["loss"]
    assert xs[:2] == [1.0, 2.0] and all(np.isfinite(ys))
    assert set(panel.plot_data()) == {"loss", "val_loss"}
    assert not panel.preview_label.pixmap().isNull()
    assert panel.epoch_label.text().startswith("Epoch ") and " of 8" in panel.epoch_label.text()
    note = panel.checkpoint_label
    assert "digits-ae.pt.ckpt in your model folder" in note.text() and note.toolTip() == str(ckpt)
    assert "Stop keeps the last finished one, Resume continues from it" in note.text()
    window.docks["Training"].grab().save(str(screenshot_dir / "training_dock_running.png"))

    _click(qtbot, panel.stop_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=10000)
    stopped_at = int(panel.plot_data()["loss"][0][-1])
    assert 2 <= stopped_at < 8, "Stop came too late to test it"
    assert ckpt.is_file()  # the last finished epoch's checkpoint stays
    state = torch.load(str(ckpt), map_location="cpu", weights_only=True)
    assert state["epoch"] == stopped_at  # the plot ends where the checkpoint does
    assert panel.plot_data()["loss"][1] == pytest.approx(state["history"]["loss"])
    assert f"checkpoint of epoch {stopped_at} is kept" in panel.status_label.text()
    assert panel.resume_button.isEnabled() and not panel.use_button.isEnabled()

    resumed: list[int] = []  # the epochs the resumed job reports (connected before it runs)
    window.jobs.job_added.connect(lambda job: job.signals.reported.connect(
        lambda name, data: resumed.append(data["epoch"])))
    _click(qtbot, panel.resume_button)
    assert panel.form.fields["resume"].get() is True
    qtbot.waitUntil(lambda: panel.trained is not None, timeout=20000)
    assert resumed == list(range(stopped_at + 1, 9))  # the epoch counter continued
    xs, ys = panel.plot_data()["loss"]
    assert xs == [float(e) for e in range(1, 9)]  # the plot continued from the history
    trained = panel.trained
    assert isinstance(trained, Trained) and trained.name == "digits-ae" and trained.epochs == 8
    assert ys == pytest.approx(trained.losses.columns["loss"])
    assert Path(trained.path).is_file()
    window.docks["Training"].grab().save(str(screenshot_dir / "training_dock_done.png"))
    window.grab().save(str(screenshot_dir / "training_window_done.png"))

    # the Results dock shows the model: name, file, and its losses table
    results = window.results_panel
    assert window.docks["Results"].isVisible()
    assert "'digits-ae'" in results.detail.text() and trained.path in results.detail.text()
    assert results.table.rowCount() == 8 and results.table.columnCount() >= 3

    _click(qtbot, panel.use_button)  # the first registered op of Training.uses
    op_panel = window.operation_panel
    assert op_panel.spec.id == SAMPLE_ID and window.docks["Operation"].isVisible()
    assert op_panel.form.widget_for("model").text() == "digits-ae"


def test_a_training_op_chosen_from_its_menu_opens_in_the_dock(qtbot, tiny_ops, window):
    titles = [a.text().replace("&", "") for a in window.menuBar().actions() if a.menu()]
    assert titles.count("Tools") == 1  # "Tools/Train" ops join the window's Tools menu
    window.docks["Training"].hide()
    window.op_actions[TRAIN_ID].trigger()  # as the menus and the command palette do
    assert window.docks["Training"].isVisible()
    assert window.training_panel.spec.id == TRAIN_ID
    assert window.operation_panel.spec is None  # not opened as a plain operation


def test_a_bad_setting_fails_in_the_status_line_and_the_message_bar(qtbot, tiny_ops, window):
    panel = _open_dock(qtbot, window, TRAIN_ID)
    _type_text(qtbot, panel.form.widget_for("dataset"), "/no/such/folder")
    _click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=20000)
    assert "dataset must be one of" in panel.status_label.text()
    assert window.message_bar.current_level() == "error"
    assert "dataset must be one of" in window.message_bar.current_text()
    assert panel.trained is None and panel.start_button.isEnabled()


def _filled_tiles(pixmap, count: int = 16, cols: int = 4) -> int:
    """How many 8×8 tiles of the shown (whole-factor enlarged) 35×35 grid are not black."""
    image = pixmap.toImage()
    factor = image.width() // 35
    filled = 0
    for i in range(count):
        r, c = divmod(i, cols)
        colour = QColor(image.pixel((c * 9 + 4) * factor, (r * 9 + 4) * factor))
        filled += max(colour.red(), colour.green(), colour.blue()) > 0
    return filled


def test_sample_grid_fills_in_while_it_runs_and_opens_as_a_new_document(qtbot, tiny_ops,
                                                                         window,
                                                                         screenshot_dir):
    assert len(window.workspace.document) == 0  # no document open
    window.op_actions[SAMPLE_ID].trigger()
    form = window.operation_panel.form
    type_into(qtbot, form.widget_for("delay"), "0.04")
    _click(qtbot, window.operation_panel.apply_button)
    jobs_panel = window.docks["Jobs"].widget()
    row = jobs_panel.rows()[0]
    qtbot.waitUntil(lambda: row.samples is not None, timeout=5000)
    seen = []
    while not row.finished:  # the partial grids shown, read back from the pixmap
        if row.samples is not None and row.samples[0] < 16:
            seen.append((row.samples[0], _filled_tiles(row.sample_label.pixmap())))
            if len(seen) == 5:
                window.docks["Jobs"].grab().save(str(screenshot_dir / "sampling_jobs_row.png"))
        qtbot.wait(15)
    assert window.docks["Jobs"].isVisible() and row.sample_label.isVisible()
    assert len(seen) >= 3 and all(shown == n for n, shown in seen), seen
    assert len({n for n, _ in seen}) >= 3  # it grew while it ran
    assert row.samples == (16, 16) and _filled_tiles(row.sample_label.pixmap()) == 16
    qtbot.waitUntil(lambda: len(window.workspace.document) == 1, timeout=5000)
    layer = window.workspace.document.layers[0]
    expected = api.run(SAMPLE_ID, count=16, seed=0)
    np.testing.assert_array_equal(layer.data, expected)  # the final grid is the document
    assert window.workspace.document.size == (35, 35)
    qtbot.waitUntil(lambda: window.canvas.zoom > 4, timeout=3000)  # fitted to the window
    window.grab().save(str(screenshot_dir / "sampling_new_document.png"))


def test_canvas_pans_while_sampling_and_the_ui_never_stalls(qtbot, tiny_ops, window,
                                                            workspace):
    window.bind(workspace)
    canvas = window.canvas
    # the window settles first: the Histogram dock is built after the first paint
    qtbot.waitUntil(lambda: window.histogram_panel is not None, timeout=5000)
    canvas.set_zoom(4.0)
    window.set_tool("pan")
    window.op_actions[SAMPLE_ID].trigger()
    form = window.operation_panel.form
    type_into(qtbot, form.widget_for("count"), "49")
    type_into(qtbot, form.widget_for("delay"), "0.04")
    heartbeat = Heartbeat()
    heartbeat.start()
    _click(qtbot, window.operation_panel.apply_button)
    row = window.docks["Jobs"].widget().rows()[0]
    start = canvas.offset
    origin = pos = QPoint(canvas.width() // 2, canvas.height() // 2)
    step, drags = 2, 0
    QTest.mousePress(canvas, LEFT, NOMOD, pos)
    while not row.finished:  # drag with real mouse events, 2 px at a time, to and fro
        if abs(pos.x() - origin.x() + step) > 60:
            step = -step
        pos = pos + QPoint(step, 0)
        QTest.mouseMove(canvas, pos)
        drags += 1
        qtbot.wait(10)
    QTest.mouseRelease(canvas, LEFT, NOMOD, pos)
    heartbeat.stop()
    assert row.samples == (49, 49)
    assert drags > 50
    offset = canvas.offset - start
    assert offset.x() == pytest.approx(pos.x() - origin.x()) and offset.y() == 0
    assert len(heartbeat.gaps) > 100
    heartbeat.check(MAX_STALL_S)


def test_the_real_rbm_trains_from_the_dock_and_samples_from_its_model(qtbot, models, window,
                                                                    screenshot_dir):
    """train.rbm for 2 epochs on the digits, then "Use this model" runs its sampler."""
    real = "train.rbm"
    if real not in {s.id for s in api.list_operations()}:
        pytest.skip("train.rbm is not installed")
    panel = _open_dock(qtbot, window, real)
    type_into(qtbot, panel.form.widget_for("epochs"), "2")
    type_into(qtbot, panel.form.widget_for("n_components"), "32")
    _click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: panel.trained is not None, timeout=30000)
    measures = panel.plot_data()
    assert measures and all(xs == [1.0, 2.0] for xs, _ in measures.values())
    for name, (_, ys) in measures.items():  # the plot is the op's own history
        assert ys == pytest.approx(panel.trained.losses.columns[name])
    assert not panel.preview_label.pixmap().isNull()
    window.docks["Training"].grab().save(str(screenshot_dir / "training_dock_rbm.png"))
    ckpt = panel.checkpoint()
    assert ckpt is not None and ckpt.is_file() and panel.checkpoint_label.toolTip() == str(ckpt)
    assert ckpt.name.startswith("my-rbm.") and ckpt.parent == Path(api.model_folder())
    _click(qtbot, panel.use_button)
    op_panel = window.operation_panel
    assert op_panel.form.widget_for("model").text() == "my-rbm"
    _click(qtbot, op_panel.apply_button)  # samples of the new model: a new document
    qtbot.waitUntil(lambda: len(window.workspace.document) == 1, timeout=30000)
    row = window.docks["Jobs"].widget().rows()[0]
    assert row.samples is not None and not row.sample_label.pixmap().isNull()
    grid = window.workspace.document.layers[0].data
    assert grid.dtype == np.uint8 and grid.std() > 0


def test_gan_samples_from_its_form_in_a_worker_while_the_canvas_pans(qtbot, window, workspace):
    """The real generate.gan_sample with the shipped gan-default, applied from its form into an
    open document while the canvas is dragged: the grid arrives as a new layer equal to
    api.run's, the Jobs card saw every sample, and the pan went on meanwhile."""
    gan = "generate.gan_sample"
    window.bind(workspace)
    canvas = window.canvas
    canvas.set_zoom(4.0)
    window.set_tool("pan")
    window.op_actions[gan].trigger()
    form = window.operation_panel.form
    type_into(qtbot, form.widget_for("count"), "400")
    _click(qtbot, window.operation_panel.apply_button)
    row = window.docks["Jobs"].widget().rows()[0]
    start, pos = canvas.offset, QPoint(canvas.width() // 2, canvas.height() // 2)
    QTest.mousePress(canvas, LEFT, NOMOD, pos)
    moves = 0
    while not row.finished or moves < 5:
        pos += QPoint(2, 0)
        QTest.mouseMove(canvas, pos)
        moves += 1
        qtbot.wait(5)
    QTest.mouseRelease(canvas, LEFT, NOMOD, pos)
    assert row.samples == (400, 400)
    assert (canvas.offset - start).x() == pytest.approx(2 * moves)
    qtbot.waitUntil(lambda: len(workspace.document) == 2, timeout=10000)
    np.testing.assert_array_equal(workspace.document[1].data,
                                  api.run(gan, count=400, seed=0))
    assert workspace.document[1].name == "GAN samples"
