"""Small widget helpers shared by dialogs and wizard pages."""

from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QRadioButton, QWidget


def radio_buttons(parent: QWidget, *texts: str) -> list[QRadioButton]:
    """Radio buttons labelled ``texts``, children of ``parent`` and in one exclusive group
    (also a child of ``parent``), the first one checked."""
    group = QButtonGroup(parent)
    buttons = [QRadioButton(text, parent) for text in texts]
    for button in buttons:
        group.addButton(button)
    buttons[0].setChecked(True)
    return buttons


__all__ = ["radio_buttons"]
