"""Menus generated from the operation registry (each spec's ``menu`` path)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMenuBar

from imgstudio.core.spec import OperationSpec


def add_operation_menus(
    menubar: QMenuBar,
    specs: list[OperationSpec],
    on_chosen: Callable[[str], None],
    before: QAction | None = None,
    places: Mapping[str, str] | None = None,
) -> dict[str, QAction]:
    """Create nested menus from ``spec.menu`` ("Filters/Artistic") with one action per op.

    Returns the actions by op id. Top-level menus are inserted before ``before`` (e.g. the
    Help menu) when given; a top-level name the menu bar already has ("Tools" for
    "Tools/Train", whatever its ``&`` accelerator) goes into that menu, after a separator.
    ``places`` moves a top-level name elsewhere: ``{"Search": "Tools"}`` puts the ops of
    "Search" into the Tools menu (their spec's ``menu`` is unchanged).
    """
    places = dict(places or {})
    menus: dict[str, QMenu] = {}
    actions: dict[str, QAction] = {}

    def menu_for(path: str) -> QMenu:
        if path in menus:
            return menus[path]
        top, _, rest = path.partition("/")
        if top in places:
            menu = menu_for(places[top] + ("/" + rest if rest else ""))
            menus[path] = menu
            return menu
        parent_path, _, name = path.rpartition("/")
        if parent_path:
            menu = menu_for(parent_path).addMenu(name)
        elif (found := existing(menubar, name)) is not None:
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


def existing(menubar: QMenuBar, name: str) -> QMenu | None:
    """The top-level menu called ``name`` (whatever its ``&`` accelerator), or None."""
    for action in menubar.actions():
        menu = action.menu()
        if menu is not None and menu.title().replace("&", "") == name:
            return menu
    return None


#: The top-level menus in the order an image editor's users expect; menus not named here
#: (those only operations create, say "Binary") go, alphabetically, where ``"*"`` stands.
MENU_ORDER = ("File", "Edit", "View", "Image", "Layer", "Select", "Filters", "Segment",
              "Analyze", "Faces", "*", "Tools", "Help")


def order_menus(menubar: QMenuBar, order: tuple[str, ...] = MENU_ORDER) -> list[str]:
    """Rearrange ``menubar``'s top-level menus into ``order``; returns the titles (no ``&``)
    in their new order."""
    entries = [a for a in menubar.actions() if a.menu() is not None]
    title = {a: a.menu().title().replace("&", "") for a in entries}
    others = sorted((a for a in entries if title[a] not in order), key=lambda a: title[a])
    ranked: list[QAction] = []
    for name in order:
        ranked += others if name == "*" else [a for a in entries if title[a] == name]
    for action in entries:
        menubar.removeAction(action)
    for action in ranked:
        menubar.addAction(action)
    return [title[a] for a in ranked]
