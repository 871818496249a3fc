"""The menu bar as an image editor's user expects it: order, one place per command, what is
enabled with no document, an image and a labels layer, and the commands of File, Edit, Layer
and Help driven through their real actions."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMenu

import imgstudio
import imgstudio.api as api
from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.types import LayerKind
from imgstudio.core.workspace import Workspace
from imgstudio.gui.canvas.render import Compositor
from imgstudio.gui.main_window import NewImageDialog
from imgstudio.gui.menus import MENU_ORDER

CONVENTIONAL = ["File", "Edit", "View", "Image", "Layer", "Select", "Filters", "Segment",
                "Analyze", "Faces", "Tools", "Help"]


def top_menus(window) -> dict[str, QMenu]:
    return {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions() if a.menu()}


def walk(menu: QMenu) -> list[QAction]:
    """Every action of ``menu`` and its submenus (submenu entries themselves left out)."""
    out = []
    for action in menu.actions():
        if action.isSeparator():
            continue
        if action.menu() is not None:
            action.menu().aboutToShow.emit()  # filled as it opens (Open Recent)
            out += walk(action.menu())
        else:
            out.append(action)
    return out


def all_menu_actions(window) -> list[QAction]:
    return [a for menu in top_menus(window).values() for a in walk(menu)]


# -- the three states the enabled table is checked in ----------------------------------------
def no_document(window, image):
    window.bind(Workspace())


def an_image(window, image):
    window.bind(Workspace(Document([ImageLayer(image.copy(), "photo")])))


def a_labels_layer(window, image):
    an_image(window, image)
    window.act_new_labels.trigger()
    assert window.workspace.document.active.kind == LayerKind.LABELS


STATES = {"none": no_document, "image": an_image, "labels": a_labels_layer}


def expectations(window) -> dict[QAction, tuple[bool, bool, bool]]:
    """Enabled with (no document, an image, an image + an active labels layer)."""
    from imgstudio.core.autosave import orphaned_recovery_files

    w = window
    on, doc_only = (True, True, True), (False, True, True)
    recovered = bool(orphaned_recovery_files())
    return {
        w.act_open_recovered: (recovered,) * 3,
        w.act_new: on, w.act_open: on, w.act_quit: on, w.act_import: on,
        w.act_close: doc_only, w.act_save: doc_only, w.act_save_as: doc_only,
        w.act_export: doc_only, w.act_overwrite: (False, False, False),
        w.act_undo: (False, False, True), w.act_redo: (False, False, False),
        w.act_copy: (False, True, False), w.act_paste: (False, False, False),
        w.act_palette: on,
        w.act_zoom_in: doc_only, w.act_zoom_out: doc_only, w.act_fit: doc_only,
        w.act_actual: doc_only,
        w.act_new_labels: doc_only, w.act_new_points: doc_only,
        w.act_duplicate: doc_only, w.act_delete_layer: doc_only,
        w.act_merge_down: (False, False, False), w.act_flatten: (False, False, False),
        w.act_labels_from_selection: doc_only, w.act_points_to_markers: (False, False, False),
        w.act_labels_to_mask: (False, False, True), w.act_mask_to_labels: (False, False, True),
        w.act_train: on, w.act_models: on,
        w.act_shortcuts: on, w.act_licences: on, w.act_about: on,
        w.wizard_actions["image_search"]: on, w.wizard_actions["face_morph"]: doc_only,
        **{a: on for a in w.tool_actions.values()},
        **{dock.toggleViewAction(): on for dock in w.docks.values()},
    }


def expected_for_op(op_id: str, state: str) -> bool:
    kinds = {"none": set(), "image": {LayerKind.IMAGE},
             "labels": {LayerKind.IMAGE, LayerKind.LABELS}}[state]
    spec = next(s for s in api.list_operations() if s.id == op_id)
    return all(i.kind in kinds for i in spec.inputs if not i.optional)


@pytest.fixture
def empty_clipboard(qtbot):
    QGuiApplication.clipboard().clear()
    yield QGuiApplication.clipboard()
    QGuiApplication.clipboard().clear()


# -- order and placement ----------------------------------------------------------------------
def test_the_top_level_menus_come_in_the_conventional_order(window, screenshot_dir):
    window.menuBar().grab().save(str(screenshot_dir / "menus-bar.png"))
    titles = list(top_menus(window))
    assert [t for t in titles if t in CONVENTIONAL] == CONVENTIONAL
    extra = [t for t in titles if t not in CONVENTIONAL]
    assert titles[titles.index("Faces") + 1:titles.index("Tools")] == extra  # e.g. Binary
    assert tuple(CONVENTIONAL) == tuple(t for t in MENU_ORDER if t != "*")


def test_image_search_is_in_one_place(window):
    menus = top_menus(window)
    assert "Search" not in menus
    search_ops = [a for op_id, a in window.op_actions.items() if op_id.startswith("search.")]
    assert search_ops
    homes = {name for name, menu in menus.items() for a in walk(menu)
             if a in search_ops or a is window.wizard_actions["image_search"]}
    assert homes == {"Tools"}
    tools = menus["Tools"].actions()
    at = tools.index(window.wizard_actions["image_search"])
    assert set(tools[at + 1:at + 1 + len(search_ops)]) == set(search_ops)  # side by side


def test_every_menu_says_colour(window):
    """The window's own entries and the ops' titles and menu names: one spelling."""
    texts = [a.text() + " " + a.statusTip() for a in all_menu_actions(window)]

    def titles(menu: QMenu) -> list[str]:
        subs = [a.menu() for a in menu.actions() if a.menu() is not None]
        return [menu.title()] + [t for sub in subs for t in titles(sub)]

    texts += [t for menu in top_menus(window).values() for t in titles(menu)]
    assert not [t for t in texts if "color" in t.lower()]


def test_every_window_action_with_text_is_in_a_menu(window):
    reachable = set(all_menu_actions(window))
    missing = [a.text() for a in window.actions() if a.text() and a not in reachable]
    assert missing == []


# -- enabled / disabled --------------------------------------------------------------------------
@pytest.mark.parametrize("state", list(STATES))
def test_every_menu_action_is_enabled_sensibly(window, astronaut_small, empty_clipboard,
                                               state):
    STATES[state](window, astronaut_small)
    column = list(STATES).index(state)
    table = expectations(window)
    ops = {a: op_id for op_id, a in window.op_actions.items()}
    wrong = []
    for action in all_menu_actions(window):
        if action in ops:
            expected = expected_for_op(ops[action], state)
        elif action in table:
            expected = table[action][column]
        elif action.parent() is window.recent_menu:
            continue  # recent files: enabled when the file exists
        else:
            raise AssertionError(f"no expectation for {action.text()!r}")
        if action.isEnabled() != expected:
            wrong.append((action.text(), expected))
    assert wrong == []
    assert set(table) <= set(all_menu_actions(window))  # all reachable


def test_no_op_needing_an_image_is_enabled_without_a_document(window):
    needs_image = [a for op_id, a in window.op_actions.items()
                   if any(i.kind == LayerKind.IMAGE and not i.optional
                          for i in next(s for s in api.list_operations() if s.id == op_id)
                          .inputs)]
    assert needs_image and not any(a.isEnabled() for a in needs_image)


UNSAFE = {"act_quit"}  # closes the window


@pytest.mark.parametrize("state", list(STATES))
def test_each_enabled_window_action_can_be_triggered(window, astronaut_small, qtbot,
                                                     monkeypatch, empty_clipboard, state):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(NewImageDialog, "exec", lambda self: 0)  # cancelled
    unsafe = {getattr(window, name) for name in UNSAFE}
    own = [a for a in expectations(window) if a not in unsafe]
    for action in own:
        STATES[state](window, astronaut_small)
        if not action.isEnabled():
            continue
        action.trigger()
        qtbot.wait(1)
        for widget in QApplication.topLevelWidgets():  # dialogs and wizards it opened
            if widget is not window and widget.isVisible() and widget.isWindow():
                widget.close()
    window.jobs.cancel_all()
    assert window.jobs.wait(10000)


# -- File -------------------------------------------------------------------------------------
def _answer_new(qtbot, width: int, height: int, fill: str, accept: bool = True) -> None:
    def answer():
        dialog = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, NewImageDialog) and w.isVisible())
        dialog.width_spin.setValue(width)
        dialog.height_spin.setValue(height)
        dialog.fill_combo.setCurrentText(fill)
        dialog.accept() if accept else dialog.reject()

    QTimer.singleShot(50, answer)


def test_file_new_makes_one_image_layer_of_the_asked_size_and_fill(window, qtbot,
                                                                   screenshot_dir):
    _answer_new(qtbot, 40, 30, "Transparent")
    window.act_new.trigger()
    doc = window.workspace.document
    assert len(doc) == 1 and doc[0].data.shape == (30, 40, 4) and not doc[0].data.any()
    _answer_new(qtbot, 20, 10, "White")
    window.act_new.trigger()
    assert window.workspace.document[0].data.shape == (10, 20, 3)
    assert (window.workspace.document[0].data == 255).all()
    dialog = NewImageDialog(window)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.grab().save(str(screenshot_dir / "menus-file-new.png"))
    dialog.close()


def test_file_new_cancelled_or_kept_changes_leave_the_document(window, png, qtbot):
    window.files.open_files([str(png)])
    workspace = window.workspace
    _answer_new(qtbot, 40, 30, "Black", accept=False)
    window.act_new.trigger()
    assert window.workspace is workspace
    window.act_new_labels.trigger()  # unsaved change
    window.files.ask_unsaved = lambda: "cancel"
    _answer_new(qtbot, 40, 30, "Black")
    window.act_new.trigger()
    assert window.workspace is workspace and len(workspace.document) == 2


def test_file_close_asks_then_leaves_an_empty_workspace(window, png):
    window.files.open_files([str(png)])
    window.act_new_labels.trigger()
    window.files.ask_unsaved = lambda: "cancel"
    window.act_close.trigger()
    assert len(window.workspace.document) == 2
    window.files.ask_unsaved = lambda: "discard"
    window.act_close.trigger()
    assert len(window.workspace.document) == 0
    assert not window.act_close.isEnabled() and not window.act_copy.isEnabled()


def test_the_file_menu_order(window):
    w = window
    entries = [a for a in top_menus(window)["File"].actions()]
    names = [None if a.isSeparator() else a for a in entries]
    assert names == [w.act_new, w.act_open, w.recent_menu.menuAction(), w.act_close, None,
                     w.act_save, w.act_save_as, w.act_export, w.act_overwrite, None,
                     w.act_import, w.act_open_recovered, None, w.act_quit]
    keys = {a: a.shortcut() for a in (w.act_save, w.act_save_as, w.act_export)}
    assert keys == {w.act_save: QKeySequence("Ctrl+S"),
                    w.act_save_as: QKeySequence("Ctrl+Shift+S"),
                    w.act_export: QKeySequence("Ctrl+Shift+E")}


def test_overwrite_names_the_file_and_writes_it(window, png, qtbot, screenshot_dir,
                                                astronaut_small):
    from imgstudio.core.history import SetPixels
    from imgstudio.core.io import load_image

    file_menu = top_menus(window)["File"]
    file_menu.aboutToShow.emit()
    assert not window.act_overwrite.isEnabled()  # untitled: nothing to write back into
    window.files.open_files([str(png)])
    layer = window.workspace.document[0]
    window.workspace.history.execute(SetPixels(layer, 255 - astronaut_small))
    file_menu.aboutToShow.emit()
    assert window.act_overwrite.text().replace("&", "") == "Overwrite photo.png"
    assert window.act_overwrite.isEnabled()
    window.act_overwrite.trigger()
    assert np.array_equal(load_image(png), 255 - astronaut_small)
    assert not window.workspace.modified
    file_menu.popup(window.mapToGlobal(window.rect().topLeft()))
    qtbot.waitExposed(file_menu)
    file_menu.grab().save(str(screenshot_dir / "menus-file.png"))
    file_menu.close()


# -- Edit → Copy / Paste ------------------------------------------------------------------------
def clipboard_pixels(clipboard) -> np.ndarray:
    from imgstudio.gui.main_window import qimage_to_array

    return qimage_to_array(clipboard.image())


def test_copy_puts_the_layer_or_the_selected_part_on_the_clipboard(window, png, empty_clipboard,
                                                                   astronaut_small):
    from imgstudio.core.selection import Selection

    window.files.open_files([str(png)])
    window.act_copy.trigger()
    assert np.array_equal(clipboard_pixels(empty_clipboard), astronaut_small)
    window.canvas.set_selection(Selection("rect", np.array([[10, 5], [30, 25]]),
                                          astronaut_small.shape[:2]))
    window.act_copy.trigger()
    assert np.array_equal(clipboard_pixels(empty_clipboard), astronaut_small[5:25, 10:30])


def test_paste_same_size_is_a_new_layer_in_one_step(window, png, empty_clipboard,
                                                    astronaut_small):
    window.files.open_files([str(png)])
    window.act_copy.trigger()
    assert window.act_paste.isEnabled()
    steps = len(window.workspace.history.steps)
    window.act_paste.trigger()
    doc = window.workspace.document
    assert len(doc) == 2 and np.array_equal(doc.active.data, astronaut_small)
    assert len(window.workspace.history.steps) == steps + 1
    assert window.workspace.history.steps[-1].label == "Paste"
    window.act_undo.trigger()
    assert len(doc) == 1


def test_paste_another_size_or_into_nothing_makes_a_new_document(window, png, empty_clipboard,
                                                                 astronaut_small):
    from imgstudio.gui.main_window import array_to_qimage, display_rgba

    empty_clipboard.setImage(array_to_qimage(display_rgba(astronaut_small[:10, :20])))
    window.act_paste.trigger()  # no document yet
    assert window.workspace.document[0].data.shape == (10, 20, 3)
    window.files.open_files([str(png)])
    first = window.workspace
    window.act_paste.trigger()
    assert window.workspace is not first
    assert np.array_equal(window.workspace.document[0].data, astronaut_small[:10, :20])


def test_ctrl_c_in_a_text_field_copies_the_text_not_the_layer(window, png, qtbot,
                                                              empty_clipboard):
    window.files.open_files([str(png)])
    field = QLineEdit(window.docks["Operation"])
    field.setText("hello")
    field.show()
    field.setFocus()
    field.selectAll()
    qtbot.waitUntil(field.hasFocus)
    qtbot.keyClick(field, Qt.Key_C, Qt.ControlModifier)
    assert empty_clipboard.text() == "hello"
    assert empty_clipboard.image().isNull()


# -- Layer -------------------------------------------------------------------------------------
def two_images(window, astronaut_small, opacity=0.5, mode="normal"):
    top = ImageLayer(255 - astronaut_small, "top", opacity=opacity, blend_mode=mode)
    window.bind(Workspace(Document([ImageLayer(astronaut_small.copy(), "bottom"), top])))
    window.workspace.document.active = top
    return top


def shown(layers) -> np.ndarray:
    out = Compositor(*layers[0].shape)
    for layer in layers:
        out.add((0, layer.shape[0], 0, layer.shape[1]), layer.data, layer.opacity,
                layer.blend_mode)
    return out.result()


def test_merge_down_combines_as_shown_in_one_step(window, astronaut_small, qtbot,
                                                  screenshot_dir):
    two_images(window, astronaut_small, 0.5, "multiply")
    layers = list(window.workspace.document)
    expected = shown(layers)
    assert window.act_merge_down.isEnabled() and window.act_flatten.isEnabled()
    window.act_merge_down.trigger()
    doc = window.workspace.document
    assert len(doc) == 1 and doc[0].name == "bottom"
    assert np.array_equal(doc[0].data, expected)
    assert not np.array_equal(doc[0].data, astronaut_small)
    assert window.workspace.history.steps[-1].label == "Merge top down"
    window.act_undo.trigger()
    assert [lay.name for lay in doc] == ["bottom", "top"]
    assert np.array_equal(doc[0].data, astronaut_small)
    layer_menu = top_menus(window)["Layer"]
    layer_menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitExposed(layer_menu)
    layer_menu.grab().save(str(screenshot_dir / "menus-layer.png"))
    layer_menu.close()


def test_flatten_keeps_hidden_layers_out_and_undoes(window, astronaut_small):
    two_images(window, astronaut_small, 1.0)
    doc = window.workspace.document
    hidden = ImageLayer(np.zeros_like(astronaut_small), "hidden", visible=False)
    window.workspace.add_layer(hidden)
    window.act_flatten.trigger()
    assert len(doc) == 1 and np.array_equal(doc[0].data, 255 - astronaut_small)
    window.act_undo.trigger()
    assert [lay.name for lay in doc] == ["bottom", "top", "hidden"]


def test_merge_down_is_disabled_over_a_labels_layer(window, astronaut_small):
    an_image(window, astronaut_small)
    window.act_new_labels.trigger()
    window.workspace.add_layer(ImageLayer(astronaut_small.copy(), "over"))
    assert not window.act_merge_down.isEnabled() and not window.act_flatten.isEnabled()


def test_duplicate_and_delete_are_single_steps(window, png):
    window.files.open_files([str(png)])
    window.act_duplicate.trigger()
    doc = window.workspace.document
    assert [lay.name for lay in doc] == ["photo", "photo copy"]
    window.act_delete_layer.trigger()
    assert [lay.name for lay in doc] == ["photo"]
    window.act_undo.trigger()
    assert len(doc) == 2
    window.act_undo.trigger()
    assert len(doc) == 1


# -- Help ---------------------------------------------------------------------------------------
def test_the_shortcuts_dialog_lists_every_action_with_a_key(window, qtbot, screenshot_dir):
    dialog = window.show_shortcuts()
    qtbot.waitExposed(dialog)
    text = dialog.browser.toPlainText()
    keyed = [a for a in window.actions() if not a.shortcut().isEmpty()]
    assert len(keyed) > 20
    for action in keyed:
        name = action.text().replace("&", "").rstrip("…")
        assert name in text, name
        assert action.shortcut().toString(QKeySequence.NativeText) in text
    dialog.grab().save(str(screenshot_dir / "menus-help-shortcuts.png"))
    dialog.close()


def test_the_licences_dialog_names_every_model_and_its_training_data(window, qtbot,
                                                                     screenshot_dir):
    window.act_licences.trigger()
    dialog = window.help_dialog
    qtbot.waitExposed(dialog)
    text = dialog.browser.toPlainText()
    cards = api.list_models(check=False)
    for card in cards:
        assert card["name"] in text
    datasets = [c["training"]["dataset"] for c in cards
                if isinstance(c.get("training"), dict) and c["training"].get("dataset")]
    assert datasets and all(d in text for d in datasets)
    dialog.grab().save(str(screenshot_dir / "menus-help-licences.png"))
    dialog.close()


def test_about_names_the_versions(window, qtbot, screenshot_dir):
    import PySide6
    from PySide6.QtCore import qVersion

    window.act_about.trigger()
    dialog = window.help_dialog
    qtbot.waitExposed(dialog)
    text = dialog.browser.toPlainText()
    assert imgstudio.__version__ in text and qVersion() in text and PySide6.__version__ in text
    dialog.grab().save(str(screenshot_dir / "menus-help-about.png"))
    dialog.close()
