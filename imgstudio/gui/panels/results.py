"""The Results dock: tables, class rankings and text returned by operations.

A :class:`~imgstudio.core.types.Table` is shown as a sortable table that exports to CSV;
clicking a row emits ``row_activated(dict)`` so the window can select that region on the
canvas. Other results are shown as text (JSON for dataclasses).
"""

from __future__ import annotations

import csv
import json
import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core.recipe import atomic_write_text
from imgstudio.core.types import Classes, Table, Text


def table_of(result: Any) -> Table | None:
    """The table to show for ``result``: itself, its class ranking, or its first Table field."""
    if isinstance(result, Table):
        return result
    if isinstance(result, Classes):
        return Table({"class": [n for n, _ in result.items],
                      "probability": [float(p) for _, p in result.items]})
    for value in getattr(result, "__dict__", {}).values():
        if isinstance(value, Table):
            return value
    return None


def region_selection(row: dict[str, Any], document) -> Any:
    """A canvas selection for a regions-table row: the outline of its ``label`` in the active
    labels layer, else the ``bbox-0..3`` rectangle (skimage's min_row, min_col, max_row,
    max_col); None when the row names no region."""
    import numpy as np

    from imgstudio.core.types import LayerKind
    from imgstudio.gui.tools.roi import Selection

    shape = document.size
    if shape is None:
        return None
    layer = document.active
    if "label" in row and layer is not None and layer.kind == LayerKind.LABELS:
        from skimage.measure import find_contours

        mask = np.asarray(layer.data) == int(row["label"])
        if mask.any():
            contour = max(find_contours(np.pad(mask, 1).astype(float), 0.5), key=len)
            points = contour[:, ::-1] - 1 + 0.5  # (row, col) of the padded mask → canvas x, y
            return Selection("polygon", points, tuple(shape))
    keys = ("bbox-0", "bbox-1", "bbox-2", "bbox-3")
    if all(k in row for k in keys):
        r0, c0, r1, c1 = (float(row[k]) for k in keys)
        return Selection("rect", np.array([[c0, r0], [c1, r1]]), tuple(shape))
    return None


def _cell_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell_text(v) for v in value)
    return str(value)


class ResultsPanel(QWidget):
    """Shows the latest non-layer result. Signal ``row_activated(dict)``."""

    row_activated = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No results yet")
        self.table = QTableWidget(self)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.text)
        self.stack.addWidget(self.table)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self._table: Table | None = None
        self.export_button.clicked.connect(self._export_dialog)
        self.table.cellClicked.connect(self._on_cell_clicked)

    def show_result(self, title: str, result: Any) -> None:
        self.title.setText(title)
        table = table_of(result)
        self._table = table
        self.export_button.setEnabled(table is not None)
        if table is None:
            if isinstance(result, Text):
                self.text.setPlainText(result.text or "(no text found)")
            else:
                payload = result.to_json() if hasattr(result, "to_json") else result
                self.text.setPlainText(json.dumps(payload, indent=1, default=str))
            self.stack.setCurrentWidget(self.text)
            return
        self.table.setSortingEnabled(False)
        names = list(table.columns)
        self.table.clear()
        self.table.setColumnCount(len(names))
        self.table.setRowCount(len(table))
        self.table.setHorizontalHeaderLabels(names)
        for r, row in enumerate(table.rows()):
            for c, name in enumerate(names):
                value = row[name]
                item = QTableWidgetItem()
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    item.setData(Qt.DisplayRole, float(value) if isinstance(value, float)
                                 else int(value))
                else:
                    item.setText(_cell_text(value))
                item.setData(Qt.UserRole, r)
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self.stack.setCurrentWidget(self.table)

    def current_table(self) -> Table | None:
        return self._table

    def export_csv(self, path: str) -> str:
        """Write the shown table as CSV (atomically); returns the path."""
        if self._table is None:
            raise ValueError("there is no table to export")
        if not os.path.splitext(path)[1]:
            path += ".csv"
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        names = list(self._table.columns)
        writer.writerow(names)
        for row in self._table.rows():
            writer.writerow([_cell_text(row[n]) for n in names])
        atomic_write_text(path, buf.getvalue())
        return path

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export table", "", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def _on_cell_clicked(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is None or self._table is None:
            return
        index = item.data(Qt.UserRole)
        self.row_activated.emit(self._table.rows()[int(index)])
