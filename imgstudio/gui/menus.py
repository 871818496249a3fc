"""Menus generated from the operation registry (each spec's ``menu`` path)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMenuBar

from imgstudio.core.spec import OperationSpec


def add_operation_menus(
    menubar: QMenuBar,
    specs: list[OperationSpec],
    on_chosen: Callable[[str], None],
    before: QAction | None = None,
) -> dict[str, QAction]:
    """Create nested menus from ``spec.menu`` ("Filters/Artistic") with one action per op.

    Returns the actions by op id. Top-level menus are inserted before ``before`` (e.g. the
    Help menu) when given; a top-level name the menu bar already has ("Tools" for
    "Tools/Train", whatever its ``&`` accelerator) goes into that menu, after a separator.
    """
    menus: dict[str, QMenu] = {}
    actions: dict[str, QAction] = {}

    def existing(name: str) -> QMenu | None:
        for action in menubar.actions():
            menu = action.menu()
            if menu is not None and menu.title().replace("&", "") == name:
                return menu
        return None

    def menu_for(path: str) -> QMenu:
        if path in menus:
            return menus[path]
        parent_path, _, name = path.rpartition("/")
        if parent_path:
            menu = menu_for(parent_path).addMenu(name)
        elif (found := existing(name)) is not None:
            menu = found
            menu.addSeparator()
        else:
            menu = QMenu(name, menubar)
            if before is not None:
                menubar.insertMenu(before, menu)
            else:
                menubar.addMenu(menu)
        menu.setToolTipsVisible(True)
        menus[path] = menu
        return menu

    for spec in sorted(specs, key=lambda s: (s.menu, s.title)):
        menu = menu_for(spec.menu or "Operations")
        action = menu.addAction(spec.title + "…")
        action.setToolTip(spec.summary)
        action.setStatusTip(spec.summary)
        action.setData(spec.id)
        action.triggered.connect(lambda _=False, op_id=spec.id: on_chosen(op_id))
        actions[spec.id] = action
    return actions
