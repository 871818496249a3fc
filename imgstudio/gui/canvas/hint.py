"""An actionable hint floating at the top of the canvas: a sentence, an optional button that
fixes what the hint is about, and a close button.

Tools show it through :meth:`CanvasView.show_hint` when a gesture cannot work as it is (the
brush on an image layer offers to create a labels layer); it goes away when its button or
close button is clicked, the tool changes or the active layer changes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

MARGIN = 10  # px between the hint and the canvas's top edge


class CanvasHint(QFrame):
    """The hint bar; a child of the canvas, placed by :meth:`place`."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("canvasHint")
        self.setAutoFillBackground(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#canvasHint { background: rgba(32, 32, 36, 235); border: 1px solid #5a5a60;"
            " border-radius: 6px; } #canvasHint QLabel { color: #f0f0f0; }")
        self.label = QLabel(self)
        self.label.setWordWrap(False)
        self.button = QPushButton(self)
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button = QToolButton(self)
        self.close_button.setText("×")
        self.close_button.setToolTip("Hide this hint")
        self.close_button.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        layout.addWidget(self.close_button)
        self._action: Callable[[], None] | None = None
        self.button.clicked.connect(self._run_action)
        self.close_button.clicked.connect(self.hide)
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text()

    def show_hint(self, text: str, action_text: str | None = None,
                  action: Callable[[], None] | None = None) -> None:
        """Show ``text``; with ``action_text`` and ``action``, a button that runs ``action``
        and then hides the hint."""
        self.label.setText(text)
        self._action = action
        self.button.setVisible(action is not None)
        self.button.setText(action_text or "")
        self.adjustSize()
        self.place()
        self.show()
        self.raise_()

    def place(self) -> None:
        """Centre the hint at the top of the parent, wrapping the text when it is too wide."""
        parent = self.parentWidget()
        if parent is None:
            return
        self.label.setWordWrap(False)
        natural = self.sizeHint()
        room = max(parent.width() - 2 * MARGIN, 120)
        if natural.width() <= room:
            width, height = natural.width(), natural.height()
        else:
            self.label.setWordWrap(True)
            width = room
            height = max(self.layout().totalHeightForWidth(width), natural.height())
        self.resize(width, height)
        self.move(max((parent.width() - width) // 2, 0), MARGIN)

    def _run_action(self) -> None:
        action = self._action
        self.hide()
        if action is not None:
            action()
