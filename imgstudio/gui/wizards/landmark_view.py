"""A small image view with numbered points that the mouse drags, adds and removes.

Used by the face morph wizard to show one face with its landmarks, boxes of detected faces and
a triangulation. Points are ``(N, 2)`` float ``(x, y)`` image pixels, pixel centres at whole
numbers (the OpenCV convention of the canvas overlays). The image is fitted into the widget,
centred, aspect kept.

Mouse: in *drag* mode the left button drags the point under the cursor (it moves by the
cursor's displacement, so grabbing a point off-centre does not make it jump); in *add* mode a
left click appends a point; the right button removes the point under the cursor; the wheel
zooms around the cursor (:meth:`LandmarkView.zoom_to_points` frames the points). Points are
kept inside the image. ``points_changed`` is emitted when a drag ends and after an add or a
removal; ``point_dragged(index)`` while a point moves.

Selection: pressing on a point (or adding one) selects it, pressing beside the points
deselects; ``point_selected(index)`` (-1: none) lets the wizard select the same point on the
other face. The selected point gets a ring and its number always.

Numbers never overlap: they are placed one by one, the selected point's first, then the
hovered one's, then in order, each beside its point at the first of four corners where it
covers no number already placed and no other point; a number with no free corner is left
out (the selected point's number shows even over other points). Zoomed out on a dense face
only some numbers show; zoom in (the wheel) and they all do.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from imgstudio.gui.canvas.overlays import POINT_RADIUS, draw_points
from imgstudio.gui.canvas.render import default_window, image_display

#: Longest side of the pixmap kept for display; bigger images are shrunk once when set.
DISPLAY_SIDE = 1600
#: How far (screen px) from a point's centre a press still picks it.
PICK_SLACK = 4.0
BOX_COLOR = QColor(80, 200, 255)
CHOSEN_BOX_COLOR = QColor(255, 80, 80)
TRIANGLE_COLOR = QColor(0, 255, 160, 190)
DOT_COLOR = QColor(255, 210, 0)
SELECTED_COLOR = QColor(255, 60, 60)
NUMBER_COLOR = QColor(255, 235, 120)
#: Point size of the numbers; gap (screen px) between a point's disc and its number.
NUMBER_POINTS = 8.0
NUMBER_GAP = 2.0
#: Extra radius (screen px) of the ring around the selected point.
SELECTED_RING = 4.0
#: Zoom factor of one wheel step.
WHEEL_ZOOM = 1.25


def display_pixmap(image: np.ndarray) -> QPixmap:
    """An RGB ``QPixmap`` of an Image (its contrast window as the canvas shows it), shrunk to
    at most :data:`DISPLAY_SIDE` a side (UI thread only)."""
    import cv2

    rgb, _alpha = image_display(image, default_window(image))
    h, w = rgb.shape[:2]
    scale = DISPLAY_SIDE / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(rgb)
    qimage = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0],
                    QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())  # copy: the QImage must not outlive ``rgb``


class LandmarkView(QWidget):
    """One image with numbered points, detection boxes and triangles over them."""

    points_changed = Signal()
    point_dragged = Signal(int)
    point_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: np.ndarray | None = None
        self._pixmap: QPixmap | None = None
        self._points = np.zeros((0, 2))
        self._boxes = np.zeros((0, 4))
        self._chosen_box = -1
        self._triangles: np.ndarray | None = None
        self._message = ""
        self.editable = True
        self.add_mode = False
        self.numbered = True
        #: "circles" (numbered when ``numbered``) or "dots" (small, for dense triangulations).
        self.point_style = "circles"
        #: The image region shown, (x0, y0, x1, y1) in pixel-corner coordinates; None: all.
        self._region: tuple[float, float, float, float] | None = None
        self._drag: tuple[int, np.ndarray, tuple[float, float]] | None = None
        self._hover: int | None = None
        self._selected: int | None = None

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(360, 360)

    # -- content ----------------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None) -> None:
        if image is None or self._image is None or image.shape[:2] != self._image.shape[:2]:
            self._region = None
        self._image = image
        self._pixmap = None if image is None else display_pixmap(image)
        self.update()

    def image(self) -> np.ndarray | None:
        """The array shown (as given, not the display copy)."""
        return self._image

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(W, H) of the image, None when there is none."""
        return None if self._image is None else (self._image.shape[1], self._image.shape[0])

    def set_points(self, points: np.ndarray) -> None:
        self._points = np.array(points, dtype=float).reshape(-1, 2)
        self._drag = None
        if self._hover is not None and self._hover >= len(self._points):
            self._hover = None
        self.update()

    # -- selection ----------------------------------------------------------------------------
    def selected(self) -> int | None:
        """Index of the selected point (also when that point does not exist here yet)."""
        return self._selected

    def set_selected(self, index: int | None) -> None:
        """Select point ``index`` (None: none) without emitting ``point_selected``."""
        index = None if index is None or index < 0 else int(index)
        if index != self._selected:
            self._selected = index
            self.update()

    def _select(self, index: int | None) -> None:
        if index != self._selected:
            self.set_selected(index)
            self.point_selected.emit(-1 if index is None else index)
    def points(self) -> np.ndarray:
        return self._points.copy()

    def set_boxes(self, xyxy: np.ndarray, chosen: int = -1) -> None:
        self._boxes = np.asarray(xyxy, dtype=float).reshape(-1, 4)
        self._chosen_box = chosen
        self.update()

    def set_triangles(self, triangles: np.ndarray | None) -> None:
        """``(T, 3)`` indices into the points, drawn as edges; None draws none."""
        self._triangles = None if triangles is None else np.asarray(triangles, int).reshape(-1, 3)
        self.update()

    def set_message(self, text: str) -> None:
        """A line drawn over the top of the view (e.g. "No face found"); "" for none."""
        self._message = text
        self.update()

    def message(self) -> str:
        return self._message

    # -- geometry -----------------------------------------------------------------------------
    def set_region(self, region: tuple[float, float, float, float] | None) -> None:
        """Show the image region ``(x0, y0, x1, y1)`` (pixel corners) fitted and centred;
        None shows the whole image."""
        if region is not None:
            x0, y0, x1, y1 = (float(v) for v in region)
            if x1 - x0 < 4 or y1 - y0 < 4:
                raise ValueError(f"region must be at least 4 pixels a side; got {region}")
            region = (x0, y0, x1, y1)
        self._region = region
        self.update()

    def region(self) -> tuple[float, float, float, float] | None:
        return self._region

    def zoom_to_points(self, margin: float = 0.6, indices: np.ndarray | None = None) -> None:
        """Frame the points (or ``points[indices]``) with ``margin`` × their extent around
        them; the whole image when there are fewer than 2."""
        pts = self._points if indices is None else self._points[indices]
        if self._image is None or len(pts) < 2:
            self.set_region(None)
            return
        w, h = self.image_size
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0) + 1
        pad = margin * max(x1 - x0, y1 - y0, 16.0)
        self.set_region((max(x0 - pad, 0.0), max(y0 - pad, 0.0),
                         min(x1 + pad, float(w)), min(y1 + pad, float(h))))

    def _fit(self) -> tuple[float, float, float]:
        """(scale, x offset, y offset): widget position = offset + scale · image coordinate,
        the region shown (the whole image by default) fitted and centred in the widget."""
        size = self.image_size
        if size is None:
            return 1.0, 0.0, 0.0
        x0, y0, x1, y1 = self._region or (0.0, 0.0, float(size[0]), float(size[1]))
        scale = min(self.width() / (x1 - x0), self.height() / (y1 - y0))
        return (scale, self.width() / 2 - (x0 + x1) / 2 * scale,
                self.height() / 2 - (y0 + y1) / 2 * scale)

    def _to_screen(self, u: float, v: float) -> QPointF:
        """Widget position of the continuous image coordinate (u, v) (pixel corners)."""
        s, ox, oy = self._fit()
        return QPointF(ox + u * s, oy + v * s)

    def map_from_image(self, x: float, y: float) -> QPointF:
        """Widget position of image point (x, y) (pixel centres at whole numbers)."""
        return self._to_screen(x + 0.5, y + 0.5)

    def map_to_image(self, pos: QPointF) -> tuple[float, float]:
        """Image point (x, y) under the widget position ``pos``."""
        s, ox, oy = self._fit()
        return (pos.x() - ox) / s - 0.5, (pos.y() - oy) / s - 0.5

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        w, h = self.image_size or (1, 1)
        return min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)

    def point_at(self, pos: QPointF) -> int | None:
        """Index of the point drawn under ``pos`` (the nearest within its radius), or None."""
        if len(self._points) == 0 or self._image is None:
            return None
        centres = np.array([[p.x(), p.y()] for p in
                            (self.map_from_image(x, y) for x, y in self._points)])
        d = np.hypot(centres[:, 0] - pos.x(), centres[:, 1] - pos.y())
        k = int(np.argmin(d))
        return k if d[k] <= POINT_RADIUS + PICK_SLACK else None

    # -- mouse ----------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = event.position()
        if not self.editable or self._image is None:
            return super().mousePressEvent(event)
        hit = self.point_at(pos)
        if event.button() == Qt.MouseButton.RightButton and hit is not None:
            self._points = np.delete(self._points, hit, axis=0)
            self._hover = None
            chosen = self._selected
            if chosen is not None and chosen >= hit:
                self._select(None if chosen == hit else chosen - 1)
            self.update()
            self.points_changed.emit()
        elif event.button() == Qt.MouseButton.LeftButton and self.add_mode:
            x, y = self.map_to_image(pos)
            w, h = self.image_size
            if -0.5 <= x <= w - 0.5 and -0.5 <= y <= h - 0.5:
                self._points = np.vstack([self._points, [self._clamp(x, y)]])
                self._select(len(self._points) - 1)
                self.update()
                self.points_changed.emit()
        elif event.button() == Qt.MouseButton.LeftButton and hit is not None:
            self._select(hit)
            self._drag = (hit, self._points[hit].copy(), self.map_to_image(pos))
        elif event.button() == Qt.MouseButton.LeftButton:
            self._select(None)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        pos = event.position()
        if self._drag is not None:
            index, start, (px, py) = self._drag
            x, y = self.map_to_image(pos)
            self._points[index] = self._clamp(start[0] + x - px, start[1] + y - py)
            self.update()
            self.point_dragged.emit(index)
        elif self.editable:
            hover = self.point_at(pos)
            if hover != self._hover:
                self._hover = hover
                self.setCursor(Qt.CursorShape.OpenHandCursor if hover is not None
                               else Qt.CursorShape.ArrowCursor)
                self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag is not None and event.button() == Qt.MouseButton.LeftButton:
            self.mouseMoveEvent(event)
            self._drag = None
            self.points_changed.emit()
            event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        if self._image is None or event.angleDelta().y() == 0:
            return super().wheelEvent(event)
        factor = WHEEL_ZOOM ** (-event.angleDelta().y() / 120)  # < 1: zoom in
        s, ox, oy = self._fit()
        w, h = self.image_size
        x0, y0 = (0 - ox) / s, (0 - oy) / s  # what the widget shows now
        x1, y1 = (self.width() - ox) / s, (self.height() - oy) / s
        u, v = (event.position().x() - ox) / s, (event.position().y() - oy) / s
        if factor > 1 and x1 - x0 >= w and y1 - y0 >= h:
            self.set_region(None)  # already showing everything
        else:
            region = (u - (u - x0) * factor, v - (v - y0) * factor,
                      u + (x1 - u) * factor, v + (y1 - v) * factor)
            if region[2] - region[0] >= 4 and region[3] - region[1] >= 4:
                self.set_region(region)
        event.accept()

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(43, 43, 46))
        if self._pixmap is not None:
            self._paint_image(painter)
            self._paint_overlays(painter)
        if self._message:
            painter.setPen(QColor(255, 255, 255))
            painter.fillRect(QRectF(0, 0, self.width(), 22), QColor(0, 0, 0, 150))
            painter.drawText(QRectF(6, 0, self.width() - 12, 22),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self._message)
        painter.end()

    def _paint_image(self, painter: QPainter) -> None:
        """The visible part of the image only (zoomed in, most of it is off the widget)."""
        w, h = self.image_size
        s, ox, oy = self._fit()
        x0, y0 = max(-ox / s, 0.0), max(-oy / s, 0.0)
        x1, y1 = min((self.width() - ox) / s, float(w)), min((self.height() - oy) / s, float(h))
        if x1 <= x0 or y1 <= y0:
            return
        kx, ky = self._pixmap.width() / w, self._pixmap.height() / h  # display copy / image
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawPixmap(QRectF(self._to_screen(x0, y0), self._to_screen(x1, y1)),
                           self._pixmap, QRectF(x0 * kx, y0 * ky, (x1 - x0) * kx, (y1 - y0) * ky))

    def _paint_overlays(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for k, (x0, y0, x1, y1) in enumerate(self._boxes):
            color = CHOSEN_BOX_COLOR if k == self._chosen_box else BOX_COLOR
            painter.setPen(QPen(color, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self._to_screen(x0, y0), self._to_screen(x1, y1)))
            painter.drawText(self._to_screen(x0, y0) + QPointF(3, -4), str(k + 1))
        if self._triangles is not None and len(self._points):
            painter.setPen(QPen(TRIANGLE_COLOR, 1))
            centres = [self.map_from_image(x, y) for x, y in self._points]
            for a, b, c in self._triangles:
                painter.drawLine(centres[a], centres[b])
                painter.drawLine(centres[b], centres[c])
                painter.drawLine(centres[c], centres[a])
        if self.point_style == "dots":
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(DOT_COLOR)
            for x, y in self._points:
                painter.drawEllipse(self.map_from_image(x, y), 2.5, 2.5)
        else:
            draw_points(painter, self._points, self._to_screen, highlight=self._hover,
                        numbered=False)
            self._paint_selected(painter)
            if self.numbered:
                self._paint_numbers(painter)

    def _paint_selected(self, painter: QPainter) -> None:
        k = self._selected
        if k is None or k >= len(self._points):
            return
        c = self.map_from_image(*self._points[k])
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for color, width in ((QColor(255, 255, 255), 5.0), (SELECTED_COLOR, 2.5)):
            painter.setPen(QPen(color, width))
            painter.drawEllipse(c, POINT_RADIUS + SELECTED_RING, POINT_RADIUS + SELECTED_RING)

    def _number_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(NUMBER_POINTS)
        font.setBold(True)
        return font

    def number_rects(self) -> dict[int, QRectF]:
        """Point index → the widget rectangle of its number, for the numbers drawn (no two
        overlap, none covers a point; see the module docstring)."""
        n = len(self._points)
        if not self.numbered or self.point_style != "circles" or n == 0 or self._image is None:
            return {}
        metrics = QFontMetricsF(self._number_font())
        centres = [self.map_from_image(x, y) for x, y in self._points]
        area = QRectF(self.rect())
        discs = [QRectF(c.x() - POINT_RADIUS, c.y() - POINT_RADIUS,
                        2 * POINT_RADIUS, 2 * POINT_RADIUS) for c in centres]
        shown = [k for k in range(n) if area.contains(centres[k])]
        first = [k for k in (self._selected, self._hover) if k is not None and k in shown]
        order = first + [k for k in shown if k not in first]
        visible_discs = [discs[k] for k in shown]
        placed: dict[int, QRectF] = {}
        for k in order:
            rect = self._free_corner(k, centres[k], metrics, placed, visible_discs, discs[k],
                                     forced=k == self._selected)
            if rect is not None:
                placed[k] = rect
        return placed

    @staticmethod
    def _free_corner(k: int, c: QPointF, metrics: QFontMetricsF, placed: dict[int, QRectF],
                     discs: list[QRectF], own: QRectF, forced: bool = False) -> QRectF | None:
        """The first corner beside point ``k`` where its number covers nothing drawn;
        ``forced`` (the selected point, placed first): the first corner free of other points,
        else the top right one even over points."""
        w, h = metrics.horizontalAdvance(str(k + 1)) + 2, metrics.height()
        r = POINT_RADIUS + NUMBER_GAP
        corners = [QRectF(c.x() + dx, c.y() + dy, w, h)
                   for dx, dy in ((r, -r - h), (r, r), (-r - w, -r - h), (-r - w, r))]
        for rect in corners:
            if any(rect.intersects(o) for o in placed.values()):
                continue
            if any(rect.intersects(d) for d in discs if d is not own):
                continue
            return rect
        return corners[0] if forced and not placed else None

    def _paint_numbers(self, painter: QPainter) -> None:
        font = self._number_font()
        painter.setFont(font)
        ascent = QFontMetricsF(font).ascent()
        for k, rect in self.number_rects().items():
            path = QPainterPath()
            path.addText(QPointF(rect.left() + 1, rect.top() + ascent), font, str(k + 1))
            painter.strokePath(path, QPen(QColor(0, 0, 0, 220), 3))
            painter.fillPath(path, SELECTED_COLOR if k == self._selected else NUMBER_COLOR)
