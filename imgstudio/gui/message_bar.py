"""A non-modal message strip above the canvas (like Qt Creator's info bar).

Errors and warnings stay until the user closes them; info messages hide themselves after
``info_timeout_ms``. A message never hides a more serious one that is still showing: it is
kept in :meth:`MessageBar.messages` (and the bar's tooltip) instead.

A message may carry action buttons (``actions=[("Import model…", callback), ...]``), shown
between the text and the close button until the next message replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

_LEVELS = {  # level -> (rank, background, border, standard icon)
    "info": (0, "#e3f0fc", "#7fb2e5", QStyle.StandardPixmap.SP_MessageBoxInformation),
    "warning": (1, "#fff4d6", "#e0b44c", QStyle.StandardPixmap.SP_MessageBoxWarning),
    "error": (2, "#fbe0e0", "#d9706f", QStyle.StandardPixmap.SP_MessageBoxCritical),
}
_HISTORY = 50

#: A message's button: its text and what clicking it does.
Action = tuple[str, Callable[[], object]]


def attempt(fn: Callable[[], object], report: Callable[[str], object]) -> bool:
    """Run ``fn``, a user command; a bad input (``OSError`` or ``ValueError``) is given to
    ``report`` as its message instead of raising. True when ``fn`` ran through."""
    try:
        fn()
    except (OSError, ValueError) as exc:
        report(str(exc))
        return False
    return True


class MessageBar(QFrame):
    """Shows one message at a time with an icon and a close button; hidden when empty.

    Signals: ``shown(level, text)``, ``closed()`` (the user clicked the close button).
    """

    shown = Signal(str, str)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None, *, info_timeout_ms: int = 5000) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.info_timeout_ms = info_timeout_ms
        self._level: str | None = None
        self._messages: list[tuple[str, str]] = []
        #: The action buttons of the message shown now, in order.
        self.action_buttons: list[QPushButton] = []

        self.icon_label = QLabel(self)
        self.text_label = QLabel(self)
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setAutoRaise(True)
        self.close_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        self.close_button.setToolTip("Close")
        self.close_button.clicked.connect(self._on_close_clicked)

        self._actions_layout = QHBoxLayout()  # under the text, which keeps the full width
        self._actions_layout.setContentsMargins(0, 0, 0, 0)
        self._actions_layout.addStretch(1)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.text_label)
        column.addLayout(self._actions_layout)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(column, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide_message)
        self.hide()

    # -- public -----------------------------------------------------------------------------
    def show_info(self, text: str, actions: Sequence[Action] = ()) -> None:
        self._show("info", text, None, actions)

    def show_warning(self, text: str, actions: Sequence[Action] = ()) -> None:
        self._show("warning", text, None, actions)

    def show_error(self, text: str, details: str | None = None,
                   actions: Sequence[Action] = ()) -> None:
        """Show an error; ``details`` (e.g. a traceback) goes into the tooltip; ``actions``
        are ``(button text, callback)`` pairs."""
        self._show("error", text, details, actions)

    def hide_message(self) -> None:
        self._timer.stop()
        self._level = None
        self.text_label.clear()
        self._set_actions(())
        self.hide()

    def current_text(self) -> str:
        """The message shown now; "" when the bar is hidden."""
        return "" if self._level is None else self.text_label.text()

    def current_level(self) -> str | None:
        """``"info"``, ``"warning"``, ``"error"`` or None when hidden."""
        return self._level

    def messages(self) -> list[tuple[str, str]]:
        """The recent ``(level, text)`` messages, oldest first, including ones not shown."""
        return list(self._messages)

    # -- internals --------------------------------------------------------------------------
    def _set_actions(self, actions: Sequence[Action]) -> None:
        for button in self.action_buttons:
            self._actions_layout.removeWidget(button)
            button.hide()
            button.deleteLater()  # not now: it may be the button whose click runs this
        self.action_buttons = []
        for i, (label, callback) in enumerate(actions):
            button = QPushButton(label, self)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, fn=callback: fn())
            self._actions_layout.insertWidget(i, button)
            self.action_buttons.append(button)

    def _show(self, level: str, text: str, details: str | None = None,
              actions: Sequence[Action] = ()) -> None:
        text = str(text).strip()
        self._messages.append((level, text))
        del self._messages[:-_HISTORY]
        if self._level is not None and _LEVELS[level][0] < _LEVELS[self._level][0]:
            self.setToolTip(f"Also: {text}")  # never bury an error under an info
            return
        rank, background, border, icon = _LEVELS[level]
        self._level = level
        self.text_label.setText(text)
        self.setToolTip(details or "")
        self._set_actions(actions)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self.icon_label.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        self.setStyleSheet(
            f"QFrame#MessageBar {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 3px; }} QFrame#MessageBar QLabel {{ color: #202020; }}")
        self.show()
        if level == "info" and self.info_timeout_ms > 0:
            self._timer.start(self.info_timeout_ms)
        else:
            self._timer.stop()
        self.shown.emit(level, text)

    def _on_close_clicked(self) -> None:
        self.hide_message()
        self.closed.emit()
