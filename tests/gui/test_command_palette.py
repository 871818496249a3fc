"""The command palette ranks title matches above matches in the menu path or summary."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from imgstudio.gui.command_palette import CommandPalette, rank


def test_rank_orders_prefix_word_substring_elsewhere():
    assert rank("gauss", "Gaussian blur") == 0
    assert rank("blur", "Gaussian blur") == 1
    assert rank("ussi", "Gaussian blur") == 2
    assert rank("gaussian", "Canny") == 3
    assert rank("gaussian blur", "Gaussian blur") == 1  # the worst word counts


def test_gaussian_lists_gaussian_blur_first(window, png, qtbot):
    window.files.open_files([str(png)])
    palette = window.show_palette()
    qtbot.keyClicks(palette.edit, "gaussian")
    labels = palette.visible_labels()
    assert len(labels) > 1  # others mention Gaussian only in their summary or menu
    assert labels[0].startswith("Gaussian blur")
    qtbot.keyClick(palette.edit, Qt.Key_Return)
    assert window.operation_panel.spec.title == "Gaussian blur"


def test_title_matches_come_before_summary_matches(qtbot):
    def action(text, tip):
        act = QAction(text)
        act.setStatusTip(tip)
        return act

    actions = [action("Sharpen", "an edge filter"), action("Find edges", "Sobel"),
               action("Edge glow", "neon"), action("Redge", "x")]
    palette = CommandPalette(actions)
    qtbot.addWidget(palette)
    palette.edit.setText("edge")
    titles = [label.split(" — ")[0] for label in palette.visible_labels()]
    assert titles == ["Edge glow", "Find edges", "Redge", "Sharpen"]
