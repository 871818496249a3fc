"""Scrollbars along the canvas's right and bottom edges that show and drive the pan.

The bars are children of the canvas laid over its edges; each appears only while there is
something to scroll to: the image (at the current zoom) is wider or taller than the view, or
has been panned partly off screen. A bar's value is the screen distance from the image's left
(top) edge to the view's, its range spans the image and the current view, one page is the
view's size. Moving a bar pans the view; panning or zooming the view moves the bars.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QScrollBar, QWidget


def bar_range(extent: float, view: int, offset: float) -> tuple[int, int]:
    """(minimum, maximum) of a bar for an image ``extent`` screen px long, shown at ``offset``
    in a view ``view`` px long: wide enough for both the image and the current position."""
    value = round(-offset)
    return min(0, value), max(round(extent) - view, value)


class CanvasScrollBars:
    """The horizontal and vertical bar of ``view``; ``on_scroll(dx, dy)`` pans by screen px."""

    def __init__(self, view: QWidget, on_scroll: Callable[[float, float], None]) -> None:
        self.view = view
        self.horizontal = QScrollBar(Qt.Orientation.Horizontal, view)
        self.vertical = QScrollBar(Qt.Orientation.Vertical, view)
        #: fills the square where the two bars meet
        self.corner = QWidget(view)
        self.corner.setAutoFillBackground(True)
        self.corner.hide()
        self._on_scroll = on_scroll
        for bar in (self.horizontal, self.vertical):
            bar.setCursor(Qt.CursorShape.ArrowCursor)
            bar.setSingleStep(20)
            bar.hide()
        self.horizontal.valueChanged.connect(lambda v: self._scrolled(self.horizontal, v))
        self.vertical.valueChanged.connect(lambda v: self._scrolled(self.vertical, v))
        self._values = {self.horizontal: 0, self.vertical: 0}

    def _scrolled(self, bar: QScrollBar, value: int) -> None:
        delta = value - self._values[bar]
        self._values[bar] = value
        if delta:
            if bar is self.horizontal:
                self._on_scroll(-delta, 0)
            else:
                self._on_scroll(0, -delta)

    def sync(self, shape: tuple[int, int] | None, zoom: float, ox: float, oy: float) -> None:
        """Set ranges, values and visibility from the image ``shape`` (None: no image), the
        zoom and the image's offset in the view."""
        view = self.view
        if shape is None:
            self.horizontal.hide()
            self.vertical.hide()
            self.corner.hide()
            return
        h, w = shape
        for bar, extent, size, offset in ((self.horizontal, w * zoom, view.width(), ox),
                                          (self.vertical, h * zoom, view.height(), oy)):
            lo, hi = bar_range(extent, size, offset)
            with QSignalBlocker(bar):
                bar.setRange(lo, hi)
                bar.setPageStep(max(size, 1))
                bar.setValue(round(-offset))
            self._values[bar] = bar.value()
            bar.setVisible(hi > lo)
        self.place()

    def place(self) -> None:
        """Lay the bars along the right and bottom edges (leaving the corner free when both
        show)."""
        view = self.view
        hbar, vbar = self.horizontal, self.vertical
        thick_h = hbar.sizeHint().height()
        thick_v = vbar.sizeHint().width()
        corner_v = thick_h if hbar.isVisibleTo(view) else 0
        corner_h = thick_v if vbar.isVisibleTo(view) else 0
        hbar.setGeometry(0, view.height() - thick_h, view.width() - corner_h, thick_h)
        vbar.setGeometry(view.width() - thick_v, 0, thick_v, view.height() - corner_v)
        self.corner.setGeometry(view.width() - thick_v, view.height() - thick_h, thick_v, thick_h)
        self.corner.setVisible(bool(corner_v and corner_h))
