"""The Help menu's dialogs: keyboard shortcuts, model and data licences, about imgstudio.

Each text is generated from what the program knows at run time (the window's actions, the
model cards of :func:`imgstudio.api.list_models`, the installed versions), never written by hand.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget


def _plain(text: str) -> str:
    """An action's text without its ``&`` accelerator and trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(command, keys) of every action with a shortcut, sorted by command; several shortcuts of
    one action are joined with " or "."""
    rows = []
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        keys = [k for k in keys if k]
        if keys and action.text():
            rows.append((_plain(action.text()), " or ".join(keys)))
    return sorted(set(rows), key=lambda row: row[0].lower())


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table cellspacing='0' cellpadding='4' border='1'><tr>{head}</tr>{body}</table>"


def shortcuts_html(actions: Iterable[QAction]) -> str:
    return "<h3>Keyboard shortcuts</h3>" + _table(("Command", "Keys"), shortcut_rows(actions))


def training_data(card: dict[str, Any]) -> str:
    """What a model was trained on, as its card's ``training`` field says ("" when unknown)."""
    training = card.get("training")
    if isinstance(training, dict):
        return str(training.get("dataset") or "")
    return str(training or "")


def licence_rows(cards: Iterable[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(name, licence, source, training data) of each model card, by name."""
    return sorted(((str(c.get("name", "")), str(c.get("licence") or "unknown"),
                    str(c.get("source") or ""), training_data(c)) for c in cards),
                  key=lambda row: row[0].lower())


def licences_html(cards: list[dict[str, Any]]) -> str:
    rows = licence_rows(cards)
    trained = [(name, data) for name, _lic, _src, data in rows if data]
    text = ("<h3>Models</h3><p>The models the operations use, their licences and where they "
            "come from.</p>" + _table(("Model", "Licence", "Source"),
                                      [r[:3] for r in rows]))
    if trained:
        text += ("<h3>Data the shipped models were trained on</h3>"
                 + _table(("Model", "Training data"), trained))
    return text


def about_html() -> str:
    """imgstudio's version and the Qt and PySide versions it runs on."""
    import PySide6
    from PySide6.QtCore import qVersion

    import imgstudio

    return (f"<h2>imgstudio {html.escape(imgstudio.__version__)}</h2>"
            "<p>An image editor for image processing and analysis.</p>"
            f"<p>Qt {html.escape(qVersion())}, PySide {html.escape(PySide6.__version__)}</p>")


class TextDialog(QDialog):
    """A read-only rich-text page with a Close button."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None,
                 size: tuple[int, int] = (560, 480)) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(*size)
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)


def shortcuts_dialog(actions: Iterable[QAction], parent: QWidget | None = None) -> TextDialog:
    return TextDialog("Keyboard Shortcuts", shortcuts_html(actions), parent)


def licences_dialog(parent: QWidget | None = None) -> TextDialog:
    import imgstudio.api as api

    return TextDialog("Model and Data Licences", licences_html(api.list_models(check=False)),
                      parent, (820, 560))


def about_dialog(parent: QWidget | None = None) -> TextDialog:
    return TextDialog("About imgstudio", about_html(), parent, (420, 220))
