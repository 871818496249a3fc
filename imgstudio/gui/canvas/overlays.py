"""Vector overlays drawn with QPainter over the rendered pixels: points, shapes, selections.

Every function takes a ``to_screen(x, y) -> QPointF`` mapping image coordinates (pixel corners:
pixel ``j`` spans ``[j, j+1)``) to widget coordinates. Points data (and polygon vertices of
shapes) use the OpenCV convention, pixel centres at whole numbers, so they are shifted by half
a pixel before mapping. Boxes are continuous corner coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from imgstudio.core.document import Document, Layer, PointsLayer, ShapesLayer

ToScreen = Callable[[float, float], QPointF]

POINT_RADIUS = 5.0
POINT_COLOR = QColor(255, 210, 0)
ACTIVE_POINT_COLOR = QColor(0, 230, 255)
HOVER_POINT_COLOR = QColor(255, 80, 80)
PREVIEW_COLOR = QColor(120, 255, 120)
SHAPE_COLOR = QColor(255, 170, 0)
MAX_NUMBERED_POINTS = 400


def checkerboard_brush(cell: int = 8) -> QBrush:
    """A light/dark grey checkerboard, shown behind transparent pixels."""
    pix = QPixmap(2 * cell, 2 * cell)
    pix.fill(QColor(200, 200, 200))
    p = QPainter(pix)
    p.fillRect(0, 0, cell, cell, QColor(150, 150, 150))
    p.fillRect(cell, cell, cell, cell, QColor(150, 150, 150))
    p.end()
    return QBrush(pix)


def _outlined_text(painter: QPainter, pos: QPointF, text: str, color: QColor) -> None:
    path = QPainterPath()
    path.addText(pos, painter.font(), text)
    painter.strokePath(path, QPen(QColor(0, 0, 0, 200), 3))
    painter.fillPath(path, color)


def draw_points(
    painter: QPainter,
    points: np.ndarray,
    to_screen: ToScreen,
    *,
    color: QColor = POINT_COLOR,
    highlight: int | None = None,
    numbered: bool = True,
    dashed: bool = False,
    clip: QRectF | None = None,
) -> None:
    """Numbered circles (1-based) at ``points`` ((N, 2) x, y, pixel centres at integers)."""
    if len(points) == 0:
        return
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    font = QFont(painter.font())
    font.setPointSizeF(8.0)
    font.setBold(True)
    painter.setFont(font)
    numbered = numbered and len(points) <= MAX_NUMBERED_POINTS
    pen = QPen(QColor(0, 0, 0), 1.5)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    for i, (x, y) in enumerate(np.asarray(points, dtype=float)):
        c = to_screen(x + 0.5, y + 0.5)
        if clip is not None and not clip.adjusted(-20, -20, 20, 20).contains(c):
            continue
        fill = HOVER_POINT_COLOR if i == highlight else color
        painter.setPen(pen)
        painter.setBrush(fill)
        r = POINT_RADIUS + (1.5 if i == highlight else 0.0)
        painter.drawEllipse(c, r, r)
        if numbered:
            _outlined_text(painter, c + QPointF(r + 2, -r), str(i + 1), fill)
    painter.restore()


def draw_shapes(painter: QPainter, shapes: Sequence[object], to_screen: ToScreen) -> None:
    """Boxes, polygons and polylines of a shapes layer with their text (and score)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    font = QFont(painter.font())
    font.setPointSizeF(9.0)
    painter.setFont(font)
    for shape in shapes:
        pts = np.asarray(getattr(shape, "points", ()), dtype=float).reshape(-1, 2)
        if len(pts) == 0:
            continue
        color = QColor(getattr(shape, "color", None) or SHAPE_COLOR)
        if not color.isValid():
            color = QColor(SHAPE_COLOR)
        painter.setPen(QPen(color, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        kind = getattr(shape, "kind", "polygon")
        if kind == "box":
            (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
            rect = QRectF(to_screen(x0, y0), to_screen(x1, y1))
            painter.drawRect(rect)
            anchor = rect.topLeft()
        else:
            poly = QPolygonF([to_screen(x + 0.5, y + 0.5) for x, y in pts])
            if kind == "polyline":
                painter.drawPolyline(poly)
            else:
                painter.drawPolygon(poly)
            anchor = poly.boundingRect().topLeft()
        text = getattr(shape, "text", "") or ""
        score = getattr(shape, "score", None)
        if score is not None:
            text = f"{text} {score:.2f}".strip()
        if text:
            _outlined_text(painter, anchor + QPointF(2, -4), text, color)
    painter.restore()


def _ants(painter: QPainter, draw: Callable[[], None]) -> None:
    """Draw twice, white then dashed black: visible on any background."""
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(255, 255, 255), 1))
    draw()
    dash = QPen(QColor(0, 0, 0), 1, Qt.PenStyle.CustomDashLine)
    dash.setDashPattern([4, 4])
    painter.setPen(dash)
    draw()


def draw_selection(
    painter: QPainter,
    kind: str,
    points: np.ndarray,
    to_screen: ToScreen,
    *,
    closed: bool = True,
    rubber: QPointF | None = None,
) -> None:
    """A dashed rectangle or polygon in image corner coordinates; ``rubber`` extends an open
    polygon to the cursor."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(pts) == 0:
        return
    painter.save()
    if kind == "rect":
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        rect = QRectF(to_screen(x0, y0), to_screen(x1, y1))
        _ants(painter, lambda: painter.drawRect(rect))
    else:
        screen = [to_screen(x, y) for x, y in pts]
        if rubber is not None:
            screen.append(rubber)
        poly = QPolygonF(screen)
        if closed:
            _ants(painter, lambda: painter.drawPolygon(poly))
        else:
            _ants(painter, lambda: painter.drawPolyline(poly))
        if not closed:
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(QColor(255, 255, 255))
            for p in screen[: len(pts)]:
                painter.drawRect(QRectF(p.x() - 2.5, p.y() - 2.5, 5, 5))
    painter.restore()


def draw_document(
    painter: QPainter,
    document: Document,
    to_screen: ToScreen,
    clip: QRectF,
    *,
    points_for: Callable[[Layer], np.ndarray | None] = lambda layer: None,
    highlight: int | None = None,
) -> None:
    """The vector layers of ``document``, bottom first, at their opacity: shapes, and points
    (the active layer's in a stronger colour, ``highlight`` marking one of its points;
    ``points_for(layer)`` may stand in for a layer's data, e.g. during a drag)."""
    for layer in document:
        if not layer.visible:
            continue
        painter.setOpacity(layer.opacity)
        if isinstance(layer, ShapesLayer):
            draw_shapes(painter, layer.data, to_screen)
        elif isinstance(layer, PointsLayer):
            active = layer is document.active
            points = points_for(layer)
            draw_points(painter, layer.data if points is None else points, to_screen,
                        color=ACTIVE_POINT_COLOR if active else POINT_COLOR,
                        highlight=highlight if active else None, clip=clip)
    painter.setOpacity(1.0)


def draw_brush_cursor(painter: QPainter, center: QPointF, diameter: float) -> None:
    """The brush outline: a white circle with a dark edge."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    r = max(diameter / 2.0, 1.0)
    painter.setPen(QPen(QColor(0, 0, 0, 180), 3))
    painter.drawEllipse(center, r, r)
    painter.setPen(QPen(QColor(255, 255, 255), 1))
    painter.drawEllipse(center, r, r)
    painter.restore()
