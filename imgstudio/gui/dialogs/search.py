"""The Image Search dialog: index a folder, then find where an image came from.

The ops it runs are those the image-search wizard declaration names (:data:`WIZARD`):
"Index" runs the ``index`` op on the chosen folder in a worker (incremental: unchanged files
keep their descriptors; the index file is replaced atomically, so Cancel leaves the previous
index as it was). "Search" runs the ``query`` op with the active layer's image (or an image
file chosen here) and shows the ranked files as thumbnails with their score; the thumbnails
are read and shrunk in the same worker, only the ``QPixmap`` is made on the UI thread.
Activating a result (double-click or Enter) emits ``open_requested(path)``; the main window
imports that file as a new layer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core.progress import Progress
from imgstudio.core.types import IMAGE_DTYPES, LayerKind, Table, dtype_max
from imgstudio.gui.widgets import radio_buttons
from imgstudio.gui.wizards import declared
from imgstudio.gui.workers import Job, JobManager

#: The name under which the search ops declare this dialog.
WIZARD = "image_search"

#: Longest side of a result thumbnail (pixels).
THUMB_SIDE = 112
#: Default number of results asked for.
TOP_K = 12
INDEX_TITLE = "Index folder for search"
SEARCH_TITLE = "Find similar images"


def thumbnail(image: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """``image`` as contiguous uint8 RGB, shrunk (area averaging) to at most ``side`` a side."""
    import cv2

    values = np.asarray(image)
    if values.dtype != np.uint8:
        top = dtype_max(values.dtype) if values.dtype in IMAGE_DTYPES else float(values.max() or 1)
        values = np.clip(np.rint(values.astype(np.float32) * (255.0 / top)), 0, 255)
        values = values.astype(np.uint8)
    if values.ndim == 2:
        values = np.repeat(values[..., None], 3, axis=2)
    values = values[..., :3]  # alpha is not shown
    h, w = values.shape[:2]
    scale = side / max(h, w)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        values = cv2.resize(values, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(values)


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """A ``QPixmap`` of a uint8 RGB array (UI thread only)."""
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())  # copy: the QImage must not outlive ``rgb``


def square_icon(rgb: np.ndarray, side: int = THUMB_SIDE) -> QIcon:
    """An icon of ``rgb`` centred on a transparent ``side`` × ``side`` square, so that a grid
    of landscape and portrait thumbnails lines up (UI thread only)."""
    square = QPixmap(side, side)
    square.fill(Qt.GlobalColor.transparent)
    pixmap = to_pixmap(rgb)
    painter = QPainter(square)
    painter.drawPixmap((side - pixmap.width()) // 2, (side - pixmap.height()) // 2, pixmap)
    painter.end()
    return QIcon(square)


def active_image(document) -> np.ndarray | None:
    """A copy of the active layer's pixels when it is an image layer, else None."""
    layer = document.active if document is not None else None
    if layer is None or layer.kind != LayerKind.IMAGE:
        return None
    return np.array(layer.data, copy=True)


def index_file(folder: str | os.PathLike[str]) -> Path:
    """Where the index op keeps the index of ``folder`` by default."""
    return Path(folder) / declared(WIZARD).data["index_name"]


def index_summary(folder: str | os.PathLike[str]) -> str:
    """One line about the folder's index: how many images, which detector, or that it has none.

    Reads only the manifest of the index (not its descriptors)."""
    file = index_file(folder)
    if not file.is_file():
        return "Not indexed yet: press Index."
    try:
        with np.load(file, allow_pickle=False) as data:
            manifest = json.loads(data["manifest"].tobytes().decode("utf-8"))
        n, detector = len(manifest["files"]), str(manifest["detector"]).upper()
    except (OSError, KeyError, ValueError, TypeError):
        return "The index file cannot be read: press Index to rebuild it."
    return f"Index: {n} image{'s' if n != 1 else ''} ({detector} features)."


@dataclass
class SearchHits:
    """What a search job returns: the ranked table and a thumbnail (or None) per row."""

    table: Table
    thumbs: list[np.ndarray | None] = field(default_factory=list)


def _search_job(folder: str, image: np.ndarray | None, query_path: str | None,
                top_k: int) -> Callable[[Progress], SearchHits]:
    """The worker function of a search (touches no widget)."""
    def work(progress: Progress) -> SearchHits:
        import imgstudio.api as api
        from imgstudio.core.io import load_image

        query = image if image is not None else load_image(query_path)
        table = api.run(declared(WIZARD).ops["query"], query, index=Path(folder), top_k=top_k,
                        progress=progress.sub(0.0, 0.6))
        thumbs: list[np.ndarray | None] = []
        paths = table.columns["path"]
        for i, path in enumerate(paths):
            progress(0.6 + 0.4 * i / max(len(paths), 1), f"thumbnail {i + 1}/{len(paths)}")
            try:
                thumbs.append(thumbnail(load_image(path)))
            except (OSError, ValueError):  # gone or unreadable since indexing: no picture
                thumbs.append(None)
        progress(1.0, f"{len(paths)} results")
        return SearchHits(table, thumbs)

    return work


class SearchDialog(QDialog):
    """Index a folder and search it (non-modal).

    ``image_source()`` returns the query image of "Active layer" (or None when there is none).
    Signals: ``open_requested(str)`` (a result was activated), ``indexed(Table)``,
    ``searched(Table)``, ``failed(str)``, ``busy_changed(bool)``.
    """

    open_requested = Signal(str)
    indexed = Signal(object)
    searched = Signal(object)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, jobs: JobManager, image_source: Callable[[], np.ndarray | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Image Search")
        self.jobs = jobs
        self.image_source = image_source or (lambda: None)
        self.folder: str | None = None
        self.job: Job | None = None
        self._job_kind = ""

        self.folder_edit = QLineEdit(self)
        self.folder_edit.setPlaceholderText("A folder of images")
        self.choose_button = QPushButton("Choose…", self)
        self.index_status = QLabel("Choose a folder to index.", self)
        self.index_button = QPushButton("Index", self)
        self.index_button.setToolTip("Index the folder's images (only new or changed files are "
                                     "read again)")
        self.cancel_button = QPushButton("Cancel", self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()

        self.layer_radio, self.file_radio = radio_buttons(self, "Active layer", "File:")
        self.query_edit = QLineEdit(self)
        self.query_edit.setPlaceholderText("An image file to search with")
        self.browse_button = QPushButton("Browse…", self)
        self.top_k_spin = QSpinBox(self)
        self.top_k_spin.setRange(1, 1000)
        self.top_k_spin.setValue(TOP_K)
        self.top_k_spin.setToolTip("Number of results")
        self.search_button = QPushButton("Search", self)
        self.search_button.setDefault(True)
        self.query_thumb = QLabel(self)
        self.query_thumb.setFixedSize(64, 64)
        self.query_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.query_thumb.setToolTip("The query image")

        self.results = QListWidget(self)
        self.results.setViewMode(QListWidget.ViewMode.IconMode)
        self.results.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.results.setGridSize(QSize(THUMB_SIDE + 32, THUMB_SIDE + 52))
        self.results.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.results.setMovement(QListWidget.Movement.Static)
        self.results.setWordWrap(True)
        self.results.setToolTip("Double-click a result to open it as a new layer")
        self.message_label = QLabel("", self)
        self.message_label.setWordWrap(True)
        self.open_button = QPushButton("Open as Layer", self)
        self.close_button = QPushButton("Close", self)

        grid = QGridLayout()
        grid.addWidget(QLabel("Folder:", self), 0, 0)
        grid.addWidget(self.folder_edit, 0, 1)
        grid.addWidget(self.choose_button, 0, 2)
        index_row = QHBoxLayout()
        index_row.addWidget(self.index_status, 1)
        index_row.addWidget(self.progress_bar, 1)
        index_row.addWidget(self.index_button)
        index_row.addWidget(self.cancel_button)
        query_row = QHBoxLayout()
        query_row.addWidget(QLabel("Query:", self))
        query_row.addWidget(self.layer_radio)
        query_row.addWidget(self.file_radio)
        query_row.addWidget(self.query_edit, 1)
        query_row.addWidget(self.browse_button)
        query_row.addWidget(QLabel("Results:", self))
        query_row.addWidget(self.top_k_spin)
        query_row.addWidget(self.search_button)
        query_box = QHBoxLayout()
        query_box.addLayout(query_row, 1)
        query_box.addWidget(self.query_thumb)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message_label, 1)
        bottom.addWidget(self.open_button)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(index_row)
        layout.addLayout(query_box)
        layout.addWidget(self.results, 1)
        layout.addLayout(bottom)
        self.resize(720, 520)

        self.choose_button.clicked.connect(self.choose_folder)
        self.folder_edit.editingFinished.connect(self._on_folder_edited)
        self.index_button.clicked.connect(self.start_index)
        self.cancel_button.clicked.connect(self.cancel)
        self.browse_button.clicked.connect(self.choose_query_file)
        self.query_edit.textEdited.connect(lambda _t: self.file_radio.setChecked(True))
        self.search_button.clicked.connect(self.start_search)
        self.results.itemActivated.connect(self._on_item_activated)
        self.results.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.open_button.clicked.connect(self.open_current)
        self.close_button.clicked.connect(self.close)
        if parent is not None:  # close with the window (a dialog outlives a hidden parent)
            parent.installEventFilter(self)
        self._update_buttons()

    # -- public -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job is not None

    def set_folder(self, path: str | os.PathLike[str] | None) -> None:
        """Search ``path`` (None: no folder); shows what its index holds, clears the results."""
        self.folder = os.path.abspath(os.fspath(path)) if path else None
        self.folder_edit.setText(self.folder or "")
        self.results.clear()
        self.message_label.setText("")
        self._refresh_index_status()
        self._update_buttons()

    def set_query_file(self, path: str | os.PathLike[str] | None) -> None:
        """Search with the image file at ``path``; None: with the active layer."""
        if path:
            self.query_edit.setText(os.fspath(path))
            self.file_radio.setChecked(True)
        else:
            self.layer_radio.setChecked(True)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder to search", self.folder or "")
        if path:
            self.set_folder(path)

    def choose_query_file(self) -> None:
        from imgstudio.core.io import SUPPORTED_READ_EXTENSIONS

        flt = "Images (" + " ".join("*" + e for e in SUPPORTED_READ_EXTENSIONS) + ")"
        path, _ = QFileDialog.getOpenFileName(self, "Query image", self.folder or "", flt)
        if path:
            self.set_query_file(path)

    def _can_start(self) -> bool:
        """Whether a job can start: none is running and a folder is chosen (else says so)."""
        if self.busy:
            return False
        if not self.folder:
            self._error("Choose a folder first")
            return False
        return True

    def start_index(self) -> Job | None:
        """Index the folder in a worker (progress here and in the Jobs dock; Cancel stops it)."""
        if not self._can_start():
            return None
        folder = Path(self.folder)

        def work(progress: Progress) -> Table:
            import imgstudio.api as api

            return api.run(declared(WIZARD).ops["index"], folder=folder, progress=progress)

        return self._start(work, "index", f"{INDEX_TITLE}: {folder.name}")

    def start_search(self) -> Job | None:
        """Search the folder's index with the query image in a worker."""
        if not self._can_start():
            return None
        image, query_path = None, None
        if self.file_radio.isChecked():
            query_path = self.query_edit.text().strip()
            if not query_path:
                self._error("Choose a query image file, or search with the active layer")
                return None
            self.query_thumb.clear()
        else:
            image = self.image_source()
            if image is None:
                self._error("There is no active image layer to search with")
                return None
            self._show_query(image)
        self.results.clear()
        work = _search_job(self.folder, image, query_path, self.top_k_spin.value())
        return self._start(work, "search", SEARCH_TITLE)

    def cancel(self) -> None:
        """Cancel the running job (an index being written is left as it was)."""
        if self.job is not None:
            self.job.cancel()
            self.message_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def result_paths(self) -> list[str]:
        """The paths of the shown results, best first."""
        return [self.results.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.results.count())]

    def open_current(self) -> None:
        item = self.results.currentItem()
        if item is not None:
            self._on_item_activated(item)

    # -- jobs ---------------------------------------------------------------------------------
    def _start(self, work: Callable[[Progress], Any], kind: str, title: str) -> Job:
        self._job_kind = kind
        self.message_label.setStyleSheet("")
        self.message_label.setText("Indexing…" if kind == "index" else "Searching…")
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.job = self.jobs.start(work, title, on_result=self._on_result,
                                   on_error=self._on_error, on_cancel=self._on_cancelled,
                                   on_progress=self._on_progress)
        self._update_buttons()
        self.busy_changed.emit(True)
        return self.job

    def _finish(self, message: str) -> None:
        self.job = None
        self.progress_bar.hide()
        self.message_label.setText(message)
        self._refresh_index_status()
        self._update_buttons()
        self.busy_changed.emit(False)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(round(fraction * 1000))
        if message and self.job is not None and not self.job.progress.cancelled:
            self.message_label.setText(message)

    def _on_result(self, result: Any) -> None:
        if self._job_kind == "index":
            statuses = list(result.columns["status"])
            counts = {s: sum(1 for x in statuses if x == s)
                      for s in ("indexed", "unchanged", "removed")}
            skipped = sum(1 for x in statuses if x.startswith("skipped"))
            self._finish(f"Indexed: {counts['indexed']} read, {counts['unchanged']} unchanged, "
                         f"{counts['removed']} removed, {skipped} skipped")
            self.indexed.emit(result)
            return
        self._show_hits(result)
        n = len(result.table)
        self._finish(f"{n} result{'s' if n != 1 else ''}; double-click one to open it as a layer"
                     if n else "No indexed image shares features with the query")
        self.searched.emit(result.table)

    def _on_error(self, exc: BaseException) -> None:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        self._finish("")
        self._error(text)

    def _on_cancelled(self) -> None:
        self._finish("Indexing cancelled; the previous index is unchanged"
                     if self._job_kind == "index" else "Search cancelled")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (watched is self.parent() and event.type() == QEvent.Type.Hide
                and not event.spontaneous()):  # closed or hidden, not minimised
            self.close()
        return super().eventFilter(watched, event)

    # -- view ---------------------------------------------------------------------------------
    def _show_hits(self, hits: SearchHits) -> None:
        self.results.clear()
        rows = hits.table.rows()
        for rank, (row, thumb) in enumerate(zip(rows, hits.thumbs, strict=True), start=1):
            path = str(row["path"])
            item = QListWidgetItem(f"{rank}. {os.path.basename(path)}\nscore {row['score']:.2f}")
            if thumb is not None:
                item.setIcon(square_icon(thumb))
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(f"{path}\n{row['matches']} matching features "
                            f"(score {row['score']:.3f})")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)

    def _show_query(self, image: np.ndarray) -> None:
        self.query_thumb.setPixmap(to_pixmap(thumbnail(image, 64)))

    def _refresh_index_status(self) -> None:
        self.index_status.setText(index_summary(self.folder) if self.folder
                                  else "Choose a folder to index.")

    def _error(self, text: str) -> None:
        self.message_label.setStyleSheet("color: #c0392b;")
        self.message_label.setText(text)
        self.failed.emit(text)

    def _update_buttons(self) -> None:
        busy, has_folder = self.busy, bool(self.folder)
        self.index_button.setEnabled(has_folder and not busy)
        self.search_button.setEnabled(has_folder and not busy)
        self.cancel_button.setEnabled(busy)
        self.choose_button.setEnabled(not busy)
        self.folder_edit.setEnabled(not busy)
        self.open_button.setEnabled(self.results.currentItem() is not None)

    def _on_folder_edited(self) -> None:
        text = self.folder_edit.text().strip()
        if text != (self.folder or ""):
            self.set_folder(text or None)

    def _on_item_activated(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.open_requested.emit(str(path))
