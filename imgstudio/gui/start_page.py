"""What the canvas shows before anything is open: how to start, and the recent files.

``StartPage(recent)`` takes a callable returning the recent paths (newest first) and reads it
each time it is shown, so the list is never stale. Clicking a recent entry emits
``open_requested(path)``; the "Open…" button emits ``open_dialog_requested()``. The page
opens nothing itself. ``CanvasView.set_start_page`` lays it over the canvas and shows it only
while the document has no layers.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

HINT = "Open an image (Ctrl+O), drop files here, or pick a recent file"
MAX_SHOWN = 8

STYLE = """
#startPage { background: #2b2b2e; }
#startPage QLabel { color: #d8d8dc; }
#startPage QLabel#startTitle { font-size: 18px; font-weight: bold; color: #f2f2f4; }
#startPage QPushButton#recentEntry { text-align: left; border: none; padding: 4px 8px;
    color: #8fbaff; background: transparent; }
#startPage QPushButton#recentEntry:hover { background: #3a3a40; text-decoration: underline; }
#startPage QPushButton#recentEntry:disabled { color: #77777c; }
"""


def entry_text(path: str) -> str:
    """A recent entry: the file name, then its folder."""
    folder, name = os.path.split(path)
    return f"{name}   —   {folder}" if folder else name


class StartPage(QWidget):
    """The empty-canvas page: a hint, an Open button and the recent files as links."""

    open_requested = Signal(str)
    open_dialog_requested = Signal()

    def __init__(self, recent: Callable[[], list[str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        self._recent = recent
        title = QLabel("Nothing open yet", self)
        title.setObjectName("startTitle")
        self.hint = QLabel(HINT, self)
        self.hint.setWordWrap(True)
        self.open_button = QPushButton("Open…", self)
        self.open_button.setToolTip("Open an image or project (Ctrl+O)")
        self.open_button.clicked.connect(self.open_dialog_requested)
        self.recent_title = QLabel("Recent files", self)
        self._entries = QVBoxLayout()
        self._entries.setSpacing(0)
        #: the recent-file buttons, in the order shown
        self.entries: list[QPushButton] = []

        column = QVBoxLayout()
        column.setSpacing(10)
        column.addWidget(title)
        column.addWidget(self.hint)
        column.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addSpacing(12)
        column.addWidget(self.recent_title)
        column.addLayout(self._entries)
        holder = QWidget(self)
        holder.setLayout(column)
        holder.setMaximumWidth(640)
        holder.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()  # centred, as wide as the page allows up to the maximum
        row.addStretch(1)
        row.addWidget(holder, 20)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 24)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the recent entries from the callable (missing files shown disabled)."""
        for button in self.entries:
            self._entries.removeWidget(button)
            button.deleteLater()
        self.entries = []
        paths = list(self._recent())[:MAX_SHOWN]
        for path in paths:
            self._entries.addWidget(self._make_entry(path))
        self.recent_title.setVisible(bool(paths))

    def _make_entry(self, path: str) -> QPushButton:
        button = QPushButton(entry_text(path), self)
        button.setObjectName("recentEntry")
        button.setFlat(True)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        exists = os.path.exists(path)
        button.setEnabled(exists)
        button.setToolTip(path if exists else f"{path} (not found)")
        button.clicked.connect(lambda _=False, p=path: self.open_requested.emit(p))
        self.entries.append(button)
        return button

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.refresh()
        super().showEvent(event)
