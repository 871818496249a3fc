"""The Layers dock: the layer stack (top row = top layer), visibility, opacity, blend, order.

Every change the user makes is one step of ``workspace.history``; the panel itself only ever
redraws from document and layer events, so undo, scripts and other views keep it in step.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core.document import BLEND_MODES, Layer
from imgstudio.core.history import AddLayer, MoveLayer, RemoveLayer, SetLayerProperty
from imgstudio.core.workspace import Workspace
from imgstudio.gui.panels import ModelLink
from imgstudio.gui.panels.layer_list import LAYER_ID_ROLE, LayerList, describe, kind_icon


def copy_layer(layer: Layer, name: str) -> Layer:
    """An independent copy of ``layer`` (data deep-copied, new id) called ``name``."""
    data = layer.data
    data = data.copy() if isinstance(data, np.ndarray) else copy.deepcopy(data)
    return type(layer)(data, name, visible=layer.visible, opacity=layer.opacity,
                       blend_mode=layer.blend_mode)


class LayersPanel(QWidget):
    """The layer stack of ``workspace.document``; edits go through ``workspace.history``.

    Signals: ``message(str)`` for errors the main window shows in its message bar.
    """

    message = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.document = workspace.document
        self.history = workspace.history
        self._updating = False
        self._layer_links: set[Layer] = set()
        self._layer_link = ModelLink(self)
        self._opacity_press: tuple[Layer, float] | None = None

        self.list = LayerList(self)
        self.list.setToolTip("Double-click or F2 to rename; drag to reorder")

        icon, pixmap = self.style().standardIcon, QStyle.StandardPixmap
        #: actions by name (add_labels, add_points, duplicate, delete, up, down, rename), for
        #: menus; all but rename also have a tool button in ``buttons``
        self.actions: dict[str, QAction] = {}
        self.buttons: dict[str, QToolButton] = {}
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for key, text, tip, slot, pix in (
            ("add_labels", "+ Labels", "Add a new labels layer (seeds, masks)",
             lambda: self._new_layer(self.workspace.new_labels_layer), None),
            ("add_points", "+ Points", "Add a new points layer (landmarks)",
             lambda: self._new_layer(self.workspace.new_points_layer), None),
            ("duplicate", "Duplicate", "Duplicate the active layer", self.duplicate_active, None),
            ("delete", "Delete", "Delete the active layer (Del)", self.delete_active,
             pixmap.SP_TrashIcon),
            ("up", "Up", "Move the active layer up", lambda: self.move_active(+1),
             pixmap.SP_ArrowUp),
            ("down", "Down", "Move the active layer down", lambda: self.move_active(-1),
             pixmap.SP_ArrowDown),
            ("rename", "Rename", "Rename the active layer (F2)", self.rename_active, None),
        ):
            action = QAction(text, self)
            action.setToolTip(tip)
            action.triggered.connect(slot)
            self.addAction(action)
            self.actions[key] = action
            if key == "rename":
                continue
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            if pix is not None:
                action.setIcon(icon(pix))
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addStretch(1)
        self.actions["delete"].setShortcut(QKeySequence.StandardKey.Delete)
        self.actions["delete"].setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Opacity of the active layer")
        self.opacity_label = QLabel("100%", self)
        self.opacity_label.setMinimumWidth(36)
        self.blend_combo = QComboBox(self)
        self.blend_combo.addItems(list(BLEND_MODES))
        self.blend_combo.setToolTip("Blend mode of the active layer")
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(self.opacity_slider, 1)
        opacity_row.addWidget(self.opacity_label)
        form = QFormLayout()
        form.addRow("Opacity", opacity_row)
        form.addRow("Blend", self.blend_combo)
        self.contours_check = QCheckBox("Outlines only", self)
        self.contours_check.setToolTip("Show each label as its outline (labels layers)")
        form.addRow("", self.contours_check)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

        self.list.currentItemChanged.connect(self._on_current_item_changed)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.move_requested.connect(self.move_row)
        self.opacity_slider.sliderPressed.connect(self._on_opacity_pressed)
        self.opacity_slider.valueChanged.connect(self._on_opacity_value)
        self.opacity_slider.sliderReleased.connect(self._on_opacity_released)
        self.blend_combo.currentIndexChanged.connect(self._on_blend_index)
        self.contours_check.toggled.connect(self._on_contours_toggled)

        self._link = ModelLink(self, [
            (self.document.layer_inserted, self._on_structure),
            (self.document.layer_removed, self._on_structure),
            (self.document.layer_moved, self._on_structure),
            (self.document.active_changed, self._on_active_changed),
        ])
        self._link.connect_all()
        self._rebuild()

    # -- model -> view ----------------------------------------------------------------------
    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Update widgets from the model without their signals echoing back."""
        was = self._updating
        self._updating = True
        blockers = [QSignalBlocker(w) for w in (self.list, self.opacity_slider, self.blend_combo)]
        try:
            yield
        finally:
            del blockers
            self._updating = was

    def row_of(self, layer: Layer) -> int:
        return len(self.document) - 1 - self.document.index(layer)

    def layer_at(self, row: int) -> Layer:
        return self.document[len(self.document) - 1 - row]

    def _make_item(self, layer: Layer) -> QListWidgetItem:
        item = QListWidgetItem(kind_icon(layer.kind), layer.name)
        item.setData(LAYER_ID_ROLE, layer.id)
        item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
                      | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable
                      | Qt.ItemFlag.ItemIsDragEnabled)
        self._fill_item(item, layer)
        return item

    def _fill_item(self, item: QListWidgetItem, layer: Layer) -> None:
        item.setText(layer.name)
        item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
        item.setToolTip(f"{describe(layer)}\nopacity {round(layer.opacity * 100)}%, "
                        f"{layer.blend_mode}")
        item.setForeground(self.palette().color(self.palette().ColorRole.Text) if layer.visible
                           else self.palette().color(self.palette().ColorRole.PlaceholderText))

    def _rebuild(self) -> None:
        with self._quiet():
            self.list.clear()
            for layer in reversed(self.document.layers):
                self.list.addItem(self._make_item(layer))
            self._select_active()
        self._sync_layer_links()
        self._update_controls()

    def _sync_layer_links(self) -> None:
        current = set(self.document.layers)
        link = self._layer_link
        for layer in self._layer_links - current:
            link.remove(layer.property_changed, self._on_layer_changed)
            link.remove(layer.data_changed, self._on_layer_changed)
        for layer in current - self._layer_links:
            link.add(layer.property_changed, self._on_layer_changed)
            link.add(layer.data_changed, self._on_layer_changed)
        self._layer_links = current
        link.connect_all()

    def _active(self) -> Layer | None:
        """The active layer, None while it is being removed (events come before the update)."""
        active = self.document.active
        return active if active is not None and active in self.document else None

    def _select_active(self) -> None:
        active = self._active()
        with self._quiet():
            if active is None:
                self.list.setCurrentRow(-1)
            else:
                self.list.setCurrentRow(self.row_of(active))

    def _update_controls(self) -> None:
        layer = self._active()
        with self._quiet():
            has = layer is not None
            for w in (self.opacity_slider, self.blend_combo):
                w.setEnabled(has)
            if has and self._opacity_press is None:
                self.opacity_slider.setValue(round(layer.opacity * 100))
                self.blend_combo.setCurrentIndex(BLEND_MODES.index(layer.blend_mode))
            is_labels = has and hasattr(layer, "contours")
            self.contours_check.setVisible(is_labels)
            if is_labels:
                self.contours_check.setChecked(layer.contours)
            if not has:  # nothing to show: a full slider, no number (never a bogus 0 %)
                self.opacity_slider.setValue(100)
            self.opacity_label.setText(f"{self.opacity_slider.value()}%" if has else "–")
        index = self.document.index(layer) if has else -1
        has_image = self.document.size is not None
        for key in ("add_labels", "add_points"):  # both belong on an image
            self.actions[key].setEnabled(has_image)
        for key in ("duplicate", "delete", "rename"):
            self.actions[key].setEnabled(has)
        self.actions["up"].setEnabled(has and index < len(self.document) - 1)
        self.actions["down"].setEnabled(has and index > 0)

    def _on_structure(self, *_: object) -> None:
        self._rebuild()

    def _on_active_changed(self, _layer: Layer | None) -> None:
        self._select_active()
        self._update_controls()

    def _on_layer_changed(self, layer: Layer, _what: object) -> None:
        """A layer's property (name, visible...) or data (size, point count) changed."""
        if layer in self.document:
            with self._quiet():
                self._fill_item(self.list.item(self.row_of(layer)), layer)
            if layer is self.document.active:
                self._update_controls()

    # -- view -> model ----------------------------------------------------------------------
    def _execute(self, command, label: str | None = None) -> bool:
        if label is not None:
            command.label = label
        try:
            self.history.execute(command)
        except (ValueError, RuntimeError) as exc:
            self.message.emit(str(exc))
            self._rebuild()
            return False
        return True

    def _on_current_item_changed(self, item: QListWidgetItem | None, _prev: object) -> None:
        if self._updating or item is None:
            return
        self.document.active = self.document[item.data(LAYER_ID_ROLE)]

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        layer = self.document[item.data(LAYER_ID_ROLE)]
        visible = item.checkState() == Qt.CheckState.Checked
        if visible != layer.visible:
            self.set_property(layer, "visible", visible)
        name = item.text().strip()
        if name != layer.name:
            if name:
                self.set_property(layer, "name", name)
            else:
                self._on_layer_changed(layer, "name")  # put the old name back

    def set_property(self, layer: Layer, name: str, value: object) -> None:
        """One history step setting ``layer.<name>`` (name, visible, opacity, blend_mode)."""
        if getattr(layer, name) != value:
            self._execute(SetLayerProperty(layer, name, value))

    def _on_opacity_pressed(self) -> None:
        layer = self.document.active
        if layer is not None:
            self._opacity_press = (layer, layer.opacity)

    def _on_opacity_value(self, value: int) -> None:
        if self._updating:
            return
        self.opacity_label.setText(f"{value}%")
        if self._opacity_press is not None and self.opacity_slider.isSliderDown():
            layer = self._opacity_press[0]
            with self._quiet():
                layer.opacity = value / 100  # live feedback; recorded on release
            return
        layer = self.document.active
        if layer is not None:  # keyboard, wheel or page click: one step each
            self.set_property(layer, "opacity", value / 100)

    def _on_opacity_released(self) -> None:
        if self._opacity_press is None:
            return
        layer, old = self._opacity_press
        self._opacity_press = None
        new = self.opacity_slider.value() / 100
        with self._quiet():
            layer.opacity = old  # so the step records the value at press time
        if layer in self.document:
            self.set_property(layer, "opacity", new)
        self._update_controls()

    def _on_blend_index(self, index: int) -> None:
        layer = self.document.active
        if not self._updating and layer is not None and index >= 0:
            self.set_property(layer, "blend_mode", BLEND_MODES[index])

    def _on_contours_toggled(self, on: bool) -> None:
        layer = self.document.active
        if not self._updating and layer is not None and hasattr(layer, "contours"):
            self.set_property(layer, "contours", on)

    # -- actions ----------------------------------------------------------------------------
    def _new_layer(self, factory) -> None:
        try:
            factory()  # workspace.new_labels_layer / new_points_layer: one step each
        except ValueError as exc:  # e.g. no image to size a labels layer on
            self.message.emit(str(exc))

    def duplicate_active(self) -> None:
        layer = self.document.active
        if layer is None:
            return
        dup = copy_layer(layer, self.document.unique_name(f"{layer.name} copy"))
        index = self.document.index(layer) + 1
        self._execute(AddLayer(self.document, dup, index), f"Duplicate {layer.name}")

    def delete_active(self) -> None:
        layer = self.document.active
        if layer is not None:
            self._execute(RemoveLayer(self.document, layer))

    def move_active(self, delta: int) -> None:
        """Move the active layer ``delta`` places up (+) or down (-) the stack, one step."""
        layer = self.document.active
        if layer is None:
            return
        index = self.document.index(layer) + delta
        if 0 <= index < len(self.document):
            self._execute(MoveLayer(self.document, layer, index))

    def move_row(self, from_row: int, to_row: int) -> None:
        """Move the layer shown at ``from_row`` so it is shown at ``to_row`` (one step)."""
        n = len(self.document)
        if not (0 <= from_row < n and 0 <= to_row < n) or from_row == to_row:
            return
        self._execute(MoveLayer(self.document, self.layer_at(from_row), n - 1 - to_row))

    def rename_active(self) -> None:
        layer = self.document.active
        if layer is not None:
            self.list.editItem(self.list.item(self.row_of(layer)))

    # -- lifetime ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._link.disconnect()
        self._layer_link.clear()
        self._layer_links = set()
        super().closeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self._link.connected:
            self._link.connect_all()
            self._rebuild()
        super().showEvent(event)
