"""The canvas widget: shows a workspace's document, zooms, pans, and hosts the tools.

Each paint renders only the visible part of the image at screen resolution
(:mod:`imgstudio.gui.canvas.render`), then draws vector overlays (points, shapes, selection,
tool feedback). Image coordinates: pixel ``(row i, col j)`` covers ``[j, j+1) x [i, i+1)``, so
``int(x), int(y)`` of :meth:`CanvasView.map_to_image` is the pixel under a point. The view
edits nothing itself; tools edit through the workspace history.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

from imgstudio.core.document import Layer
from imgstudio.core.selection import Selection
from imgstudio.core.workspace import Workspace
from imgstudio.gui.canvas import overlays
from imgstudio.gui.canvas.hint import CanvasHint
from imgstudio.gui.canvas.render import Renderer, Viewport, Window
from imgstudio.gui.canvas.scene import Preview, make_preview, pixel_text, render_layers
from imgstudio.gui.canvas.scrollbars import CanvasScrollBars
from imgstudio.gui.panels import ModelLink
from imgstudio.gui.tools import TOOL_CLASSES, Tool
from imgstudio.gui.tools.points import PointsTool

MIN_ZOOM, MAX_ZOOM, ZOOM_STEP = 1 / 64, 64.0, 1.25
MAX_BRUSH_SIZE = 1000
BACKGROUND = QColor(43, 43, 46)
KEEP_VISIBLE = 32  # screen px of the image that panning always leaves on screen


def to_qimage(rgb: np.ndarray) -> tuple[QImage, np.ndarray]:
    """Wrap an (h, w, 3|4) RGB(A) uint8 frame as a QImage in the screen's native 32-bit layout;
    returns the image and the buffer it points into (keep it alive while painting)."""
    if rgb.shape[2] == 3:
        buf = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
        fmt = QImage.Format.Format_RGB32
    else:
        buf = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGBA2mRGBA), cv2.COLOR_RGBA2BGRA)
        fmt = QImage.Format.Format_ARGB32_Premultiplied
    h, w = buf.shape[:2]
    return QImage(buf.data, w, h, buf.strides[0], fmt), buf


class CanvasView(QWidget):
    """The image canvas of a :class:`~imgstudio.core.workspace.Workspace`."""

    zoom_changed = Signal(float)
    cursor_info = Signal(str)
    tool_changed = Signal(str)
    message = Signal(str)
    selection_changed = Signal(object)
    color_picked = Signal(tuple)
    brush_label_changed = Signal(int)
    brush_size_changed = Signal(int)
    first_paint_done = Signal()
    painted = Signal()
    #: The visible part of the image changed (pan, zoom, fit): previews follow it.
    view_changed = Signal()
    #: The place tool was dragged to image pixel (x, y).
    position_picked = Signal(int, int)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.renderer = Renderer()
        self._zoom, self._ox, self._oy = 1.0, 0.0, 0.0
        self._auto_fit = True  # follow the window size until the user zooms or pans
        self._fitted_for: tuple | None = None
        self._previews: dict[str, Preview] = {}
        self._selection: Selection | None = None
        self._brush_label, self._brush_size = 1, 9
        self._pan: tuple[QPointF, float, float] | None = None
        self._view_pan = False  # pan started by middle button / space, not by the pan tool
        self._space = False
        self._first_painted = False
        self._frame_buffer: np.ndarray | None = None
        self._info = ""
        self.tools: dict[str, Tool] = {name: cls(self) for name, cls in TOOL_CLASSES.items()}
        self._tool = self.tools["pan"]
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setMinimumSize(64, 64)
        self.setCursor(self._tool.cursor)
        self._checker = overlays.checkerboard_brush()
        #: Scrollbars along the right and bottom edges (shown while there is more to see).
        self.scrollbars = CanvasScrollBars(self, self.pan_by)
        #: The actionable hint at the top (e.g. "Create a labels layer" for the brush).
        self.hint = CanvasHint(self)
        self._start_page: QWidget | None = None
        self._connect()

    # -- model ----------------------------------------------------------------------------------
    def _connect(self) -> None:
        doc = self.workspace.document
        self._doc_link = ModelLink(self, [
            (doc.layer_inserted, self._on_layer_inserted),
            (doc.layer_removed, self._on_layer_removed),
            (doc.layer_moved, self._on_structure),
            (doc.active_changed, self._on_active_changed),
        ])
        self._doc_link.connect_all()
        for layer in doc:
            self._watch(layer)

    def _watch(self, layer: Layer) -> None:
        self._unwatch(layer)
        layer.data_changed.connect(self._on_data_changed)
        layer.property_changed.connect(self._on_property_changed)

    def _unwatch(self, layer: Layer) -> None:
        layer.data_changed.disconnect(self._on_data_changed)
        layer.property_changed.disconnect(self._on_property_changed)

    def disconnect_model(self) -> None:
        """Stop listening to the document (called on close)."""
        self._doc_link.disconnect()
        for layer in self.workspace.document:
            self._unwatch(layer)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._tool.deactivate()
        self.disconnect_model()
        super().closeEvent(event)

    def _on_layer_inserted(self, index: int, layer: Layer) -> None:
        if isValid(self):
            self._watch(layer)
            self._update_start_page()
            self._sync_scrollbars()
            self.update()

    def _on_layer_removed(self, index: int, layer: Layer) -> None:
        if isValid(self):
            self._unwatch(layer)
            self.renderer.forget(layer.id)
            if self._previews.pop(layer.id, None) is not None:
                self.renderer.forget(f"preview:{layer.id}")
            self._update_start_page()
            self._sync_scrollbars()
            self.update()

    def _on_structure(self, *args: object) -> None:
        if isValid(self):
            self.update()

    def _on_active_changed(self, *args: object) -> None:
        if isValid(self):
            self.hint.hide()
            self.update()

    def _on_data_changed(self, layer: Layer, region: tuple[int, int, int, int] | None) -> None:
        if isValid(self):
            self.renderer.invalidate(layer.id, region)
            self.update()

    def _on_property_changed(self, layer: Layer, name: str) -> None:
        if isValid(self):
            self.update()

    # -- geometry -------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return self._zoom

    @zoom.setter
    def zoom(self, value: float) -> None:
        self.set_zoom(value)

    @property
    def offset(self) -> QPointF:
        """Widget position of the image's top-left corner."""
        return QPointF(self._ox, self._oy)

    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the document's canvas; (0, 0) when it has no raster layer."""
        return self.workspace.document.size or (0, 0)

    def map_to_image(self, pos: QPointF) -> tuple[float, float]:
        """Image coordinates (x, y) of widget point ``pos``."""
        return (pos.x() - self._ox) / self._zoom, (pos.y() - self._oy) / self._zoom

    def map_from_image(self, x: float, y: float) -> QPointF:
        """Widget point of image coordinates (x, y)."""
        return QPointF(self._ox + x * self._zoom, self._oy + y * self._zoom)

    def _viewport(self, scale: float = 1.0) -> Viewport:
        return Viewport(self._zoom * scale, self._ox * scale, self._oy * scale,
                        round(self.width() * scale), round(self.height() * scale))

    def visible_region(self) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) of the image pixels on screen, clipped to the image."""
        shape = self.workspace.document.size
        if shape is None:
            return 0, 0, 0, 0
        return self._viewport().visible_region(shape)

    def _set_offset(self, ox: float, oy: float) -> None:
        h, w = self.image_shape()
        keep_x, keep_y = min(KEEP_VISIBLE, w * self._zoom), min(KEEP_VISIBLE, h * self._zoom)
        ox = min(max(ox, keep_x - w * self._zoom), self.width() - keep_x)
        oy = min(max(oy, keep_y - h * self._zoom), self.height() - keep_y)
        new = (float(round(ox)), float(round(oy)))
        if new != (self._ox, self._oy):
            self._ox, self._oy = new
            self.view_changed.emit()
        self._sync_scrollbars()
        self.update()

    def _sync_scrollbars(self) -> None:
        self.scrollbars.sync(self.workspace.document.size, self._zoom, self._ox, self._oy)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` (clamped to 1/64..64) keeping widget point ``anchor`` (default: the
        centre) over the same image point."""
        zoom = min(max(float(zoom), MIN_ZOOM), MAX_ZOOM)
        self._auto_fit = False
        if zoom == self._zoom:
            return
        if anchor is None:
            anchor = QPointF(self.width() / 2, self.height() / 2)
        ix, iy = self.map_to_image(anchor)
        self._zoom = zoom
        self._set_offset(anchor.x() - ix * zoom, anchor.y() - iy * zoom)
        self.zoom_changed.emit(zoom)

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / ZOOM_STEP)

    def actual_size(self) -> None:
        """Zoom 1: one image pixel per screen pixel."""
        self.set_zoom(1.0)

    def fit(self) -> None:
        """Show the whole image, centred; keep fitting as the widget resizes until the user
        zooms or pans."""
        self._auto_fit = True
        self._apply_fit()
        self.update()

    def _apply_fit(self) -> None:
        shape = self.workspace.document.size
        self._fitted_for = (shape, self.width(), self.height())
        if shape is None:
            return
        h, w = shape
        old = self._zoom
        zoom = min(max(min(self.width() / w, self.height() / h), MIN_ZOOM), MAX_ZOOM)
        self._zoom = zoom
        self._ox = float(math.floor((self.width() - w * zoom) / 2))
        self._oy = float(math.floor((self.height() - h * zoom) / 2))
        if zoom != old:
            self.zoom_changed.emit(zoom)
        self._sync_scrollbars()
        self.view_changed.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        if self._auto_fit:
            self._apply_fit()
        self._sync_scrollbars()
        self.hint.place()
        if self._start_page is not None:
            self._start_page.setGeometry(self.rect())
        super().resizeEvent(event)

    # -- start page -----------------------------------------------------------------------------
    @property
    def start_page(self) -> QWidget | None:
        return self._start_page

    def set_start_page(self, page: QWidget | None) -> None:
        """Cover the canvas with ``page`` (e.g. a :class:`~imgstudio.gui.start_page.StartPage`)
        while the document has no layers; it hides when the first layer arrives."""
        if self._start_page is not None and self._start_page is not page:
            self._start_page.hide()
        self._start_page = page
        if page is not None:
            page.setParent(self)
            page.setGeometry(self.rect())
        self._update_start_page()

    def _update_start_page(self) -> None:
        page = self._start_page
        if page is None or not isValid(page):
            return
        empty = len(self.workspace.document) == 0
        page.setVisible(empty)
        if empty:
            page.raise_()

    # -- panning --------------------------------------------------------------------------------
    def begin_pan(self, pos: QPointF) -> None:
        self._pan = (QPointF(pos), self._ox, self._oy)
        self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def drag_pan(self, pos: QPointF) -> None:
        if self._pan is None:
            return
        start, ox, oy = self._pan
        self._auto_fit = False
        self._set_offset(ox + pos.x() - start.x(), oy + pos.y() - start.y())

    def end_pan(self) -> None:
        if self._pan is not None:
            self._pan = None
            self._view_pan = False
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else self._tool.cursor)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) screen pixels."""
        self._auto_fit = False
        self._set_offset(self._ox + dx, self._oy + dy)

    # -- tools and brush ------------------------------------------------------------------------
    @property
    def tool(self) -> str:
        return self._tool.name

    def set_tool(self, name: str) -> None:
        """Make tool ``name`` current: one of pan, brush, eraser, points, rect, polygon, picker."""
        if name not in self.tools:
            raise ValueError(f"tool must be one of {', '.join(self.tools)}; got {name!r}")
        new = self.tools[name]
        if new is self._tool:
            return
        self._tool.deactivate()
        self.hint.hide()
        self._tool = new
        new.activate()
        self.setCursor(new.cursor)
        self.update()
        self.tool_changed.emit(name)

    @property
    def brush_label(self) -> int:
        """The label (palette index, >= 1) the brush paints."""
        return self._brush_label

    @brush_label.setter
    def brush_label(self, value: int) -> None:
        value = int(value)
        if value < 1:
            raise ValueError(f"brush_label must be >= 1; got {value!r}")
        if value != self._brush_label:
            self._brush_label = value
            self.brush_label_changed.emit(value)

    @property
    def brush_size(self) -> int:
        """Brush diameter in image pixels."""
        return self._brush_size

    @brush_size.setter
    def brush_size(self, value: int) -> None:
        value = int(value)
        if not 1 <= value <= MAX_BRUSH_SIZE:
            raise ValueError(f"brush_size must be in [1, {MAX_BRUSH_SIZE}]; got {value!r}")
        if value != self._brush_size:
            self._brush_size = value
            self.brush_size_changed.emit(value)
            self.update()

    # -- hint -----------------------------------------------------------------------------------
    def show_hint(self, text: str, action_text: str | None = None,
                  action: Callable[[], None] | None = None) -> None:
        """Show ``text`` at the top of the canvas, with a button ``action_text`` running
        ``action`` (see :class:`~imgstudio.gui.canvas.hint.CanvasHint`)."""
        self.hint.show_hint(text, action_text, action)

    # -- selection ------------------------------------------------------------------------------
    @property
    def selection(self) -> Selection | None:
        return self._selection

    def set_selection(self, selection: Selection | None) -> None:
        if selection is self._selection:
            return
        self._selection = selection
        self.update()
        self.selection_changed.emit(selection)

    def clear_selection(self) -> None:
        self.set_selection(None)

    # -- preview and contrast -------------------------------------------------------------------
    def set_preview(
        self,
        layer: Layer,
        array: np.ndarray,
        region: tuple[int, int, int, int] | None = None,
        kind: str | None = None,
        *,
        scale: float | None = None,
    ) -> None:
        """Show ``array`` instead of ``layer``'s data; the layer is not modified.

        ``region`` (y0, y1, x0, x1): the array covers that part of the image (stretched over it
        when it is a reduced proxy). Without a region the array covers the layer, or, if its
        shape is not the layer's scaled down, shows at its own size (a geometry op's result);
        ``scale`` (array pixels per image pixel) says it explicitly. ``kind`` ("image",
        "labels", "points"; default: inferred) of another kind than the layer draws it as an
        overlay above the layer.
        """
        if layer not in self.workspace.document:
            raise ValueError(f"{layer!r} is not in this canvas's document")
        self._previews[layer.id] = make_preview(layer, array, region, kind, scale,
                                                self.workspace.document.size)
        self.update()

    def clear_preview(self, layer: Layer | None = None) -> None:
        """Drop the preview of ``layer`` (default: every preview)."""
        ids = list(self._previews) if layer is None else [layer.id]
        for layer_id in ids:
            if self._previews.pop(layer_id, None) is not None:
                self.renderer.forget(f"preview:{layer_id}")
        self.update()

    @property
    def previews(self) -> dict[str, Preview]:
        return dict(self._previews)

    def contrast_limits(self, layer: Layer) -> Window:
        """The (lo, hi) display window of an image layer."""
        return self.renderer.window(layer.id, layer.data)

    def set_contrast_limits(self, layer: Layer, limits: Window | None) -> None:
        """Fix the display window of ``layer`` (None: automatic). Display only."""
        self.renderer.set_window(layer.id, limits)
        self.update()

    # -- events ---------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        ):
            self._view_pan = True
            self.begin_pan(event.position())
        else:
            self._tool.press(event)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._view_pan:
            self.drag_pan(event.position())
        else:
            self._tool.move(event)
        self._update_info(event.position())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._view_pan:
            if event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
                self.end_pan()
        else:
            self._tool.release(event)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if not self._view_pan:
            self._tool.double_click(event)
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        delta = event.angleDelta().y() or event.pixelDelta().y()
        if delta:
            self.set_zoom(self._zoom * ZOOM_STEP ** (delta / 120.0), event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                if self._pan is None:
                    self.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if self._tool.key_press(event):
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape and self._selection is not None:
            self.set_selection(None)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._pan is None:
                self.setCursor(self._tool.cursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._tool.leave()
        self._emit_info("")
        super().leaveEvent(event)

    # -- pixel readout --------------------------------------------------------------------------
    def pixel_info(self, pos: QPointF) -> str:
        """The readout for widget point ``pos``: "x 12  y 40  RGB 12, 34, 56", "... value 0.532",
        "... label 3"; empty outside the image. Reads the active raster layer, else the top
        visible one."""
        return pixel_text(self.workspace.document, *self.map_to_image(pos))

    def _update_info(self, pos: QPointF) -> None:
        self._emit_info(self.pixel_info(pos))

    def _emit_info(self, text: str) -> None:
        if text != self._info:
            self._info = text
            self.cursor_info.emit(text)

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        doc = self.workspace.document
        shape = doc.size
        if self._auto_fit and self._fitted_for != (shape, self.width(), self.height()):
            self._apply_fit()
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if shape is not None:
            self._paint_pixels(painter)
            self._paint_overlays(painter)
        self._tool.paint(painter)
        painter.end()
        self.painted.emit()
        if shape is not None and not self._first_painted:
            self._first_painted = True
            self.first_paint_done.emit()

    def _paint_pixels(self, painter: QPainter) -> None:
        dpr = self.devicePixelRatioF()
        layers = render_layers(self.workspace.document, self._previews, self.renderer)
        frame = self.renderer.render(layers, self._viewport(dpr))
        if frame.array is None:
            return
        image, self._frame_buffer = to_qimage(frame.array)
        image.setDevicePixelRatio(dpr)
        h, w = frame.array.shape[:2]
        target = QRectF(QPointF(frame.x / dpr, frame.y / dpr), QSizeF(w / dpr, h / dpr))
        if frame.array.shape[2] == 4:
            painter.fillRect(target, self._checker)
        painter.drawImage(target.topLeft(), image)

    def _paint_overlays(self, painter: QPainter) -> None:
        tool = self._tool
        highlight = tool.highlight if isinstance(tool, PointsTool) else None
        overlays.draw_document(painter, self.workspace.document, self.map_from_image,
                               QRectF(self.rect()), points_for=tool.points_for,
                               highlight=highlight)
        for preview in self._previews.values():
            if preview.kind == "points":
                overlays.draw_points(painter, preview.array, self.map_from_image,
                                     color=overlays.PREVIEW_COLOR, dashed=True,
                                     clip=QRectF(self.rect()))
        if self._selection is not None:
            overlays.draw_selection(painter, self._selection.kind, self._selection.points,
                                    self.map_from_image)
