"""Helpers shared by several GUI test modules (imported by name): a test-only op with every
parameter kind, typing into spin boxes, clicking rows of a list panel."""

from __future__ import annotations

import enum
import pathlib
from typing import Annotated, Literal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from imgstudio.core.types import Color, Image, Labels, Points, Range

# -- parameter forms (test_forms.py, panels/test_operation.py) ---------------------------------


class Mode(enum.Enum):
    FAST = "fast"
    GOOD = "good"


def every_kind(
    image: Image,
    *,
    seeds: Labels,
    mask: Labels | None = None,
    landmarks: Points | None = None,
    others: list[Image] | None = None,
    count: Annotated[int, Range(1, 10)] = 3,
    sigma: Annotated[float, Range(0.0, 5.0, step=0.5)] = 1.5,
    size: int = 7,
    radius: Annotated[float, Range(0.0, 100.0)] | None = None,
    flag: bool = True,
    name: str = "hello",
    shape: Literal["disk", "square"] = "disk",
    mode: Mode = Mode.FAST,
    file: pathlib.Path | None = None,
    tint: Color = Color(255, 0, 0),
    freqs: tuple[float, ...] = (1.0, 2.5),
) -> Image:
    """A test-only op with every parameter kind.

    Parameters
    ----------
    image : ndarray
    seeds : ndarray
        Seed labels painted with the brush.
    mask, landmarks, others : ndarray
    count : int
        How many.
    sigma, size, radius, flag, name, shape, mode, file, tint, freqs
        Whatever.
    """
    return image


def type_into(qtbot, spin, text: str) -> None:
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, text)


# -- list panels (panels/test_history.py, panels/test_layers.py, test_recipes_gui.py) ------------


def _click_row(qtbot, panel, row):
    rect = panel.list.visualItemRect(panel.list.item(row))
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _check_rect(panel, row):
    lst = panel.list
    opt = QStyleOptionViewItem()
    lst.initViewItemOption(opt)
    opt.rect = lst.visualItemRect(lst.item(row))
    opt.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    return lst.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, opt, lst)
