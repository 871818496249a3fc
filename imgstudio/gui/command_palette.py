"""The command palette (Ctrl+Shift+P): type to find any action or operation, Enter to run."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout


def matches(query: str, text: str) -> bool:
    """Every word of ``query`` occurs in ``text``, case-insensitively ("gam adj" finds
    "Gamma — Image/Adjust")."""
    text = text.lower()
    return all(word in text for word in query.lower().split())


def rank(query: str, title: str) -> int:
    """How well ``query`` matches an action's ``title`` (lower is better): 0 the title starts
    with it, 1 a word of the title does, 2 it occurs in the title, 3 only elsewhere (menu path,
    op id, summary). Several words: the worst of their ranks."""
    title = title.lower()
    words = title.replace("(", " ").replace("/", " ").replace("-", " ").split()

    def one(word: str) -> int:
        if title.startswith(word):
            return 0
        if any(w.startswith(word) for w in words):
            return 1
        return 2 if word in title else 3

    return max((one(w) for w in query.lower().split()), default=0)


class CommandPalette(QDialog):
    """A filterable list of QActions. ``triggered(action)`` fires when one is chosen."""

    triggered = Signal(object)

    def __init__(self, actions: list[QAction], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Command palette")
        self.setModal(True)
        self.resize(520, 420)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Type a command or an operation…")
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self._actions = [a for a in actions if a.text()]
        self.edit.textChanged.connect(self._filter)
        self.list.itemActivated.connect(self._choose)
        self.edit.installEventFilter(self)
        self._filter("")

    @staticmethod
    def _label(action: QAction) -> str:
        text = action.text().replace("&", "").rstrip("…")
        where = action.property("palette_group") or ""
        tip = action.statusTip()
        parts = [text] + ([where] if where else []) + ([tip] if tip and tip != text else [])
        return " — ".join(parts)

    @staticmethod
    def _title(action: QAction) -> str:
        return action.text().replace("&", "").rstrip("…")

    def _filter(self, query: str) -> None:
        """List the enabled actions matching ``query``, title matches first (stable order
        within a rank)."""
        self.list.clear()
        found = [a for a in self._actions if a.isEnabled()
                 and matches(query, self._label(a) + " " + str(a.data() or ""))]
        found.sort(key=lambda a: rank(query, self._title(a)))
        for action in found:
            label = self._label(action)
            item = QListWidgetItem(label, self.list)
            shortcut = action.shortcut().toString()
            if shortcut:
                item.setText(f"{label}    [{shortcut}]")
            item.setData(Qt.ItemDataRole.UserRole, action)
        if self.list.count():
            self.list.setCurrentRow(0)

    def visible_labels(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _choose(self, item: QListWidgetItem | None = None) -> None:
        item = item or self.list.currentItem()
        if item is None:
            return
        action = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        self.triggered.emit(action)
        action.trigger()

    def eventFilter(self, obj, event) -> bool:  # arrows move the list while typing
        if obj is self.edit and isinstance(event, QKeyEvent) and event.type() == event.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(row, self.list.count() - 1)))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._choose()
                return True
        return super().eventFilter(obj, event)
