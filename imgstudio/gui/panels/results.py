"""The Results dock: tables, class rankings and text returned by operations.

A :class:`~imgstudio.core.types.Table` is shown as a sortable table that exports to CSV;
clicking a row emits ``row_activated(dict)`` so the window can select that region on the
canvas. Ranked classes, boxes (detections, instances), a pose's keypoints and polylines are
shown as tables too (see :func:`table_of`); recognised text with boxes is a table of strings
and boxes that "Add as layer" turns into a shapes layer (``shapes_requested(shapes, name)``,
which the window adds as one undo step) and "Copy text" copies. Other results are shown as
text (JSON for dataclasses). A result with a 3×3 ``matrix``
(registration) shows it first, with its rotation/scale/shift, and can copy it as text or save
it as JSON. A trained model (:class:`~imgstudio.core.types.Trained`) is shown as its per-epoch
losses table under a line giving its store name, weights file, epochs and final metrics
(:func:`trained_summary`).
"""

from __future__ import annotations

import csv
import json
import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
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

from imgstudio.core.document import Shape
from imgstudio.core.io import atomic_write_text
from imgstudio.core.types import Boxes, Classes, Instances, Lines, Pose, Table, Text, Trained

_CORNERS = ("x0", "y0", "x1", "y1")


def _boxes_columns(boxes: Boxes) -> dict[str, list]:
    xyxy = boxes.xyxy.tolist()
    columns: dict[str, list] = {"label": list(boxes.labels),
                                "score": [float(v) for v in boxes.scores]}
    for i, corner in enumerate(_CORNERS):
        columns[corner] = [float(b[i]) for b in xyxy]
    return columns


def _boxed(text: Text) -> bool:
    return any(box is not None for _, box in text.items)


def table_of(result: Any) -> Table | None:
    """The table to show for ``result``: itself; its class ranking; its boxes (label, score,
    corners ``x0 y0 x1 y1``; an instance segmentation's numbered 1..N); a pose's keypoints
    (name, x, y, score); polylines (label, number of points); recognised text with boxes
    (string and corners); else its first Table field. None for anything else (and for text
    without boxes, shown as plain text)."""
    if isinstance(result, Table):
        return result
    if isinstance(result, Classes):
        return Table({"class": [n for n, _ in result.items],
                      "probability": [float(p) for _, p in result.items]})
    if isinstance(result, Boxes):
        return Table(_boxes_columns(result))
    if isinstance(result, Instances):
        return Table({"instance": list(range(1, len(result.boxes) + 1)),
                      **_boxes_columns(result.boxes)})
    if isinstance(result, Pose):
        import numpy as np

        points = np.asarray(result.points, dtype=float).reshape(-1, 2)
        names = list(result.names) or [str(i + 1) for i in range(len(points))]
        scores = ([float(v) for v in np.asarray(result.scores, dtype=float).ravel()]
                  if result.scores is not None else [""] * len(points))
        return Table({"keypoint": names, "x": [float(x) for x, _ in points],
                      "y": [float(y) for _, y in points], "score": scores})
    if isinstance(result, Lines):
        return Table({"label": list(result.labels), "points": [len(p) for p in result.paths]})
    if isinstance(result, Text) and _boxed(result):
        columns: dict[str, list] = {"text": [string for string, _ in result.items]}
        for i, corner in enumerate(_CORNERS):
            columns[corner] = [float(box[i]) if box is not None else ""
                               for _, box in result.items]
        return Table(columns)
    for value in getattr(result, "__dict__", {}).values():
        if isinstance(value, Table):
            return value
    return None


def trained_summary(result: Trained) -> str:
    """One line about a trained model: its name, file, epochs and final metrics."""
    metrics = ", ".join(f"{k} {_cell_text(float(v))}" for k, v in result.metrics.items())
    return (f"Model {result.name!r} — {result.epochs} epochs"
            + (f"; {metrics}" if metrics else "") + f"\nSaved to {result.path}")


def text_shapes(text: Text) -> list[Shape]:
    """A box shape labelled with its string for each recognised string that has a box."""
    import numpy as np

    shapes = []
    for string, box in text.items:
        if box is not None:
            x0, y0, x1, y1 = (float(v) for v in box)
            shapes.append(Shape("box", np.array([[x0, y0], [x1, y1]]), text=string))
    return shapes


def region_selection(row: dict[str, Any], document) -> Any:
    """A canvas selection for a regions-table row: the outline of its ``label`` in the active
    labels layer, else the ``bbox-0..3`` rectangle (skimage's min_row, min_col, max_row,
    max_col), else the ``x0 y0 x1 y1`` box (boxes, recognised text); None when the row names
    no region."""
    import numbers

    import numpy as np

    from imgstudio.core.selection import Selection
    from imgstudio.core.types import LayerKind

    shape = document.size
    if shape is None:
        return None
    layer = document.active
    label = row.get("label")
    if (isinstance(label, numbers.Integral) and not isinstance(label, bool)
            and layer is not None and layer.kind == LayerKind.LABELS):
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
    if all(isinstance(row.get(k), numbers.Real) for k in _CORNERS):
        x0, y0, x1, y1 = (float(row[k]) for k in _CORNERS)
        return Selection("rect", np.array([[x0, y0], [x1, y1]]), tuple(shape))
    return None


def matrix_of(result: Any) -> Any:
    """The 3×3 float matrix of a result with a ``matrix`` field (e.g. ``Registered``), or None."""
    import numpy as np

    value = getattr(result, "matrix", None)
    if value is None and isinstance(result, dict):
        value = result.get("matrix")
    if value is None:
        return None
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return m if m.shape == (3, 3) else None


def matrix_text(matrix: Any) -> str:
    """Three lines of three numbers (``numpy.loadtxt`` reads them back; 12 significant digits)."""
    cells = [[f"{float(v):.12g}" for v in row] for row in matrix]
    width = max(len(c) for row in cells for c in row)
    return "\n".join(" ".join(c.rjust(width) for c in row) for row in cells)


def matrix_summary(matrix: Any) -> str:
    """Rotation, scale and shift of an affine matrix in words (empty for a projective one)."""
    import math

    m = matrix
    if abs(m[2][0]) > 1e-12 or abs(m[2][1]) > 1e-12:
        return "projective (homography)"
    det = m[0][0] * m[1][1] - m[0][1] * m[1][0]
    angle = math.degrees(math.atan2(m[1][0] - m[0][1], m[0][0] + m[1][1]))
    scale = math.sqrt(abs(det))
    return (f"rotation {angle:.3f}°, scale {scale:.4f}, "
            f"shift ({m[0][2]:.2f}, {m[1][2]:.2f}) px")


def _cell_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell_text(v) for v in value)
    return str(value)


class ResultsPanel(QWidget):
    """Shows the latest non-layer result. Signals ``row_activated(dict)``,
    ``shapes_requested(list[Shape], str)`` (Add as layer: the shapes and a layer name)."""

    row_activated = Signal(dict)
    shapes_requested = Signal(list, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No results yet")
        self.detail = QLabel("")  # what a table is of (a trained model's name and file)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.hide()
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
        self.add_layer_button = QPushButton("Add as layer")
        self.add_layer_button.setToolTip(
            "A shapes layer with a box around each string, labelled with it")
        self.copy_text_button = QPushButton("Copy text")
        self.copy_text_button.setToolTip("The recognised strings, one a line")
        self.copy_matrix_button = QPushButton("Copy matrix as text")
        self.copy_matrix_button.setToolTip("Three lines of three numbers, to paste anywhere")
        self.save_transform_button = QPushButton("Save transform as JSON…")
        self.save_transform_button.setToolTip(
            "The matrix (moving point (x, y, 1) → fixed image) and the result's other data")
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.copy_matrix_button)
        top.addWidget(self.save_transform_button)
        top.addWidget(self.add_layer_button)
        top.addWidget(self.copy_text_button)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.detail)
        layout.addWidget(self.stack, 1)
        self._table: Table | None = None
        self._result: Any = None
        self._matrix: Any = None
        self._show_matrix_buttons(False)
        self._show_text_buttons(None)
        self.export_button.clicked.connect(self._export_dialog)
        self.add_layer_button.clicked.connect(self.add_text_layer)
        self.copy_text_button.clicked.connect(self.copy_text)
        self.copy_matrix_button.clicked.connect(self.copy_matrix)
        self.save_transform_button.clicked.connect(self._save_transform_dialog)
        self.table.cellClicked.connect(self._on_cell_clicked)

    def show_result(self, title: str, result: Any) -> None:
        self.title.setText(title)
        table = table_of(result)
        self._table = table
        self._result = result
        self._matrix = matrix_of(result)
        self._show_matrix_buttons(self._matrix is not None)
        self._show_text_buttons(result if isinstance(result, Text) else None)
        self.export_button.setEnabled(table is not None)
        self.detail.setText(trained_summary(result) if isinstance(result, Trained) else "")
        self.detail.setVisible(isinstance(result, Trained))
        if table is None:
            self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont))
            if isinstance(result, Text):
                self.text.setPlainText(result.text or "(no text found)")
            elif self._matrix is not None:
                self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
                self.text.setPlainText(self._matrix_report(result))
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

    def current_result(self) -> Any:
        """The result shown (as given to :meth:`show_result`), or None."""
        return self._result

    # -- recognised text ----------------------------------------------------------------------
    def add_text_layer(self) -> list[Shape]:
        """Ask for a shapes layer of the shown text's boxes (emits ``shapes_requested``)."""
        if not isinstance(self._result, Text) or not _boxed(self._result):
            raise ValueError("the shown result has no text with boxes")
        shapes = text_shapes(self._result)
        self.shapes_requested.emit(shapes, self.title.text() or "Text")
        return shapes

    def copy_text(self) -> str:
        """Put the shown text's strings on the clipboard, one a line; returns them."""
        if not isinstance(self._result, Text):
            raise ValueError("the shown result is not text")
        QGuiApplication.clipboard().setText(self._result.text)
        return self._result.text

    def _show_text_buttons(self, text: Text | None) -> None:
        self.copy_text_button.setVisible(text is not None)
        self.add_layer_button.setVisible(text is not None and _boxed(text))

    # -- matrices -----------------------------------------------------------------------------
    def current_matrix(self) -> Any:
        """The shown result's 3×3 matrix (float ndarray), or None."""
        return self._matrix

    def copy_matrix(self) -> str:
        """Put the matrix on the clipboard as three lines of numbers; returns the text."""
        if self._matrix is None:
            raise ValueError("the shown result has no matrix")
        text = matrix_text(self._matrix)
        QGuiApplication.clipboard().setText(text)
        return text

    def save_transform(self, path: str) -> str:
        """Write the result's JSON (``matrix`` first) atomically; returns the path."""
        if self._matrix is None:
            raise ValueError("the shown result has no matrix")
        if not os.path.splitext(path)[1]:
            path += ".json"
        payload = {"title": self.title.text(), "matrix": self._matrix.tolist(),
                   "maps": "moving point (x, y, 1) onto the fixed image"}
        if hasattr(self._result, "to_json"):
            payload.update({k: v for k, v in self._result.to_json().items() if k != "matrix"})
        atomic_write_text(path, json.dumps(payload, indent=1, default=str) + "\n")
        return path

    def _matrix_report(self, result: Any) -> str:
        m = self._matrix
        lines = ["matrix (maps a moving point (x, y, 1) onto the fixed image):",
                 matrix_text(m), matrix_summary(m), ""]
        payload = result.to_json() if hasattr(result, "to_json") else {}
        for key, value in payload.items():
            if key != "matrix":  # one line per field, lists included
                lines.append(f"{key}: {json.dumps(value, default=str)}")
        return "\n".join(lines)

    def _show_matrix_buttons(self, on: bool) -> None:
        self.copy_matrix_button.setVisible(on)
        self.save_transform_button.setVisible(on)

    def _save_transform_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save transform", "", "JSON (*.json)")
        if path:
            self.save_transform(path)

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
