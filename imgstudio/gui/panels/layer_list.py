"""The list view of the Layers dock: kind badges, and drag-and-drop that asks for a move.

The view never reorders its own items: a drop emits ``move_requested(from_row, to_row)``,
the panel records one ``MoveLayer`` step and redraws from the document's ``layer_moved``.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QDropEvent, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QWidget

from imgstudio.core.document import Layer
from imgstudio.core.types import LayerKind

LAYER_ID_ROLE = Qt.ItemDataRole.UserRole

_KIND_STYLE = {  # letter and colour of the kind badge
    LayerKind.IMAGE: ("I", "#3d7bd9"),
    LayerKind.LABELS: ("L", "#d9822b"),
    LayerKind.POINTS: ("P", "#2f9e55"),
    LayerKind.SHAPES: ("S", "#8e5bd6"),
}
_icons: dict[LayerKind, QIcon] = {}


def kind_icon(kind: LayerKind) -> QIcon:
    """A small rounded badge with the layer kind's letter (made once, after QApplication)."""
    if kind not in _icons:
        letter, colour = _KIND_STYLE[kind]
        pix = QPixmap(18, 18)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(QColor(colour))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawRoundedRect(1, 1, 16, 16, 4, 4)
        font = QFont(QFont().family(), -1, QFont.Weight.Bold)
        font.setPixelSize(11)
        p.setFont(font)
        p.setPen(QColor("white"))
        p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, letter)
        p.end()
        _icons[kind] = QIcon(pix)
    return _icons[kind]


def describe(layer: Layer) -> str:
    """A one-line summary for the tooltip: kind, size, channels, dtype or item count."""
    data = layer.data
    if layer.kind == LayerKind.IMAGE:
        h, w = data.shape[:2]
        channels = "gray" if data.ndim == 2 else {3: "RGB", 4: "RGBA"}.get(data.shape[2], "")
        return f"Image {w}×{h} {channels} {data.dtype}"
    if layer.kind == LayerKind.LABELS:
        h, w = data.shape[:2]
        return f"Labels {w}×{h}"
    return f"{layer.kind.value.capitalize()}: {len(data)}"


class LayerList(QListWidget):
    """The list; an internal drag-and-drop asks for a move instead of moving items itself."""

    #: ``(from_row, to_row)``: the user dropped row ``from_row`` so that it ends at ``to_row``.
    move_requested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setIconSize(self.iconSize().expandedTo(QPixmap(18, 18).size()))

    def drop_row(self, pos: QPointF) -> int:
        """The insertion row (0..count) for a drop at ``pos`` (viewport coordinates)."""
        point = pos.toPoint()
        index = self.indexAt(point)
        if not index.isValid():
            return self.count()
        rect = self.visualRect(index)
        return index.row() + (1 if point.y() >= rect.center().y() else 0)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        source = self.currentRow()
        if source < 0:
            event.ignore()
            return
        insert_at = self.drop_row(event.position())
        target = insert_at - 1 if insert_at > source else insert_at
        # Not a Move: the drag source must not delete "its" item; the document event redraws.
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        if target != source:
            self.move_requested.emit(source, target)
