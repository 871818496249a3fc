"""The main window: assembles the canvas, docks, menus and toolbar. The only pixel code here
converts between layers and the clipboard and composites layers for Merge Down / Flatten, with
the canvas's own compositor (:mod:`imgstudio.gui.canvas.render`)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFormLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from imgstudio.core import registry
from imgstudio.core.document import Document, ImageLayer, Layer
from imgstudio.core.history import AddLayer, Group, RemoveLayer
from imgstudio.core.types import LayerKind
from imgstudio.core.workspace import Workspace
from imgstudio.gui.autosave import Autosave
from imgstudio.gui.canvas.view import CanvasView
from imgstudio.gui.color_pick import ColorPicker
from imgstudio.gui.command_palette import CommandPalette
from imgstudio.gui.file_controller import FileController
from imgstudio.gui.menus import add_operation_menus, order_menus
from imgstudio.gui.message_bar import MessageBar, attempt
from imgstudio.gui.model_errors import ModelErrors
from imgstudio.gui.panels.history import HistoryPanel
from imgstudio.gui.panels.jobs import JobsPanel
from imgstudio.gui.panels.layers import LayersPanel
from imgstudio.gui.panels.metric_plot import install as install_metric_plots
from imgstudio.gui.panels.operation import OperationPanel
from imgstudio.gui.panels.results import ResultsPanel, region_selection
from imgstudio.gui.seeds import SeedHints, points_to_markers
from imgstudio.gui.start_page import StartPage
from imgstudio.gui.tools import TOOL_CLASSES
from imgstudio.gui.workers import JobManager

#: Operation menus placed elsewhere than their spec's top-level name says: the image search
#: ops join the Image Search dialog's entry in the Tools menu (one place for search).
MENU_PLACES = {"Search": "Tools"}


class MainWindow(QMainWindow):
    """The editor window over one :class:`Workspace` at a time."""

    def __init__(self, workspace: Workspace | None = None, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings()
        self.jobs = JobManager(self)
        self.canvas: CanvasView | None = None
        self.workspace: Workspace | None = None
        self.setAcceptDrops(True)

        self.message_bar = MessageBar(self)
        #: Operation failures to the bar; a missing model gets an "Import model…" button.
        self.model_errors = ModelErrors(self.message_bar, self, lambda: self.operation_panel)
        #: Open, save, recent files, drag and drop, unsaved prompt, crash recovery.
        self.files = FileController(self, self.settings, lambda: self.workspace, self.bind)
        self.files.error.connect(self.message_bar.show_error)
        self.files.info.connect(self.message_bar.show_info)
        self.files.warning.connect(self.message_bar.show_warning)
        self._central = QWidget(self)
        layout = QVBoxLayout(self._central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.message_bar)
        self.setCentralWidget(self._central)

        self.docks: dict[str, QDockWidget] = {}
        for name, area in [("Layers", Qt.RightDockWidgetArea), ("History", Qt.RightDockWidgetArea),
                           ("Operation", Qt.LeftDockWidgetArea),
                           ("Histogram", Qt.LeftDockWidgetArea),
                           ("Jobs", Qt.BottomDockWidgetArea),
                           ("Results", Qt.BottomDockWidgetArea),
                           ("Training", Qt.BottomDockWidgetArea)]:
            dock = QDockWidget(name, self)
            dock.setObjectName(f"dock-{name.lower()}")
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        # Training beside the Jobs/Results tabs (split before tabifying, or it joins them)
        self.splitDockWidget(self.docks["Jobs"], self.docks["Training"], Qt.Horizontal)
        self.tabifyDockWidget(self.docks["Jobs"], self.docks["Results"])
        self.docks["Jobs"].setWidget(JobsPanel(self.jobs))
        install_metric_plots(self.docks["Jobs"].widget())  # live metric of registration jobs
        self._sampling_jobs: set[int] = set()  # jobs whose sample grid brought Jobs forward
        self.docks["Jobs"].widget().sample_shown.connect(self._on_sample_shown)
        #: The Training dock's panel (runs the ops that declare ``editor.training``), built
        #: when the dock is first shown (Tools → Train a Model…, the View menu).
        self.training_panel = None
        self.docks["Training"].visibilityChanged.connect(
            lambda visible: visible and self._training())
        self.docks["Training"].hide()
        self.results_panel = ResultsPanel(self)
        self.results_panel.row_activated.connect(self.select_table_row)
        self.results_panel.shapes_requested.connect(self.add_shapes_layer)
        self.docks["Results"].setWidget(self.results_panel)
        self.docks["Results"].hide()  # shown when an operation returns a table or classes
        self.resizeDocks([self.docks["Jobs"]], [110], Qt.Vertical)
        self.resizeDocks([self.docks["Operation"], self.docks["Layers"]], [300, 280],
                         Qt.Horizontal)

        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        QGuiApplication.clipboard().dataChanged.connect(self._update_actions)
        self.autosave = Autosave(self)
        self.files.adopt_recovered = self.autosave.adopt  # a recovered file becomes ours
        self.bind(workspace or Workspace())
        self._restore_state()
        self.files.offer_recovery()

    # -- assembly -----------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.pixel_label = QLabel("", self)
        self.zoom_label = QLabel("", self)
        self.job_progress = QProgressBar(self)
        self.job_progress.setMaximumWidth(160)
        self.job_progress.setRange(0, 100)
        self.job_progress.hide()
        bar.addWidget(self.pixel_label, 1)
        self.color_picker = ColorPicker(self, self)
        bar.addPermanentWidget(self.color_picker.swatch)
        bar.addPermanentWidget(self.job_progress)
        bar.addPermanentWidget(self.zoom_label)
        self.jobs.job_added.connect(self._on_job_added)
        self.jobs.job_finished.connect(lambda job: self.job_progress.setVisible(bool(self.jobs.live)))

    def _action(self, text: str, slot, shortcut=None, tip: str = "", group: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.setProperty("palette_group", group)
        action.triggered.connect(lambda _=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        files = self.files
        self.act_new = a("&New…", self.new_document, QKeySequence.New,
                         "A new image of a chosen size and fill", "File")
        self.act_open = a("&Open…", files.open_dialog, QKeySequence.Open,
                          "Open an image or project", "File")
        self.act_close = a("&Close", self.close_document, QKeySequence("Ctrl+W"),
                           "Close the document (asks about unsaved changes)", "File")
        self.act_save = a("&Save Project", files.save, QKeySequence.Save,
                          "Save the project (layers, history)", "File")
        self.act_save_as = a("Save Project &As…", files.save_as, QKeySequence("Ctrl+Shift+S"),
                             "Save the project under a new name", "File")
        self.act_export = a("&Export As…", files.export_dialog, QKeySequence("Ctrl+Shift+E"),
                            "Write the active layer to an image file", "File")
        self.act_overwrite = a("&Overwrite", self.overwrite, None,
                               "Write the image back over the file it came from", "File")
        self.act_import = a("&Import as Layer…", files.import_dialog, QKeySequence("Ctrl+Shift+I"),
                            "Add an image file as a new layer", "File")
        self.act_open_recovered = a("Open Recovered &Document", files.open_recovered, None,
                                    "Reopen work kept after an unexpected stop", "File")
        files.recovery_available.connect(self.act_open_recovered.setEnabled)
        self.act_quit = a("&Quit", self.close, QKeySequence.Quit, "", "File")
        self.act_undo = a("&Undo", self.undo, QKeySequence.Undo, "", "Edit")
        self.act_redo = a("&Redo", self.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")],
                          "", "Edit")
        self.act_copy = a("&Copy", self.copy_to_clipboard, QKeySequence.Copy,
                          "The active image layer (or its selected part) to the clipboard",
                          "Edit")
        self.act_paste = a("&Paste", self.paste_from_clipboard, QKeySequence.Paste,
                           "The clipboard's image as a new layer (or a new document)", "Edit")
        self.act_palette = a("Command &Palette…", self.show_palette, QKeySequence("Ctrl+Shift+P"),
                             "Find any command or operation", "Edit")
        self.act_zoom_in = a("Zoom &In", lambda: self.canvas and self.canvas.zoom_in(),
                             [QKeySequence("+"), QKeySequence("="), QKeySequence.ZoomIn], "", "View")
        self.act_zoom_out = a("Zoom &Out", lambda: self.canvas and self.canvas.zoom_out(),
                              [QKeySequence("-"), QKeySequence.ZoomOut], "", "View")
        self.act_fit = a("&Fit to Window", lambda: self.canvas and self.canvas.fit(),
                         QKeySequence("0"), "", "View")
        self.act_actual = a("&Actual Size (100%)", lambda: self.canvas and self.canvas.actual_size(),
                            QKeySequence("1"), "", "View")
        self.act_new_labels = a("New &Labels Layer", self._new_labels, QKeySequence("Ctrl+Shift+L"),
                                "An empty labels layer for seeds, markers or masks", "Layer")
        self.act_new_points = a("New &Points Layer", self._new_points, None,
                                "An empty points layer for landmarks", "Layer")
        self.act_duplicate = a("&Duplicate Layer", self.duplicate_layer,
                               QKeySequence("Ctrl+Shift+D"), "A copy of the active layer",
                               "Layer")
        self.act_delete_layer = a("D&elete Layer", self.delete_layer, None,
                                  "Remove the active layer", "Layer")
        self.act_merge_down = a("Merge Do&wn", self.merge_down, None,
                                "Combine the active image layer with the one below, as shown",
                                "Layer")
        self.act_flatten = a("&Flatten Image", self.flatten, None,
                             "Combine all visible image layers into one, as shown", "Layer")
        self.act_labels_from_selection = a(
            "Labels Layer from &Selection", self._labels_from_selection, None,
            "A labels layer with 1 inside the selection (e.g. a GrabCut rectangle)", "Layer")
        self.act_points_to_markers = a(
            "Points to &Markers",
            lambda: self._try(lambda: points_to_markers(self.workspace)) and self.set_tool("brush"),
            None, "A labels layer with a small disc per point (watershed markers)", "Layer")
        self.act_labels_to_mask = a("Convert Labels to &Mask", lambda: self._convert("mask"),
                                    None, "Every label becomes 1", "Layer")
        self.act_mask_to_labels = a("Convert Mask to &Labels", lambda: self._convert("labels"),
                                    None, "Number the connected components 1, 2, 3…", "Layer")
        self.tool_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for name, cls in TOOL_CLASSES.items():  # the dict's order is the menu's and toolbar's
            act = a(cls.title, lambda n=name: self.set_tool(n), QKeySequence(cls.shortcut),
                    f"{cls.title} tool", "Tools")
            act.setToolTip(f"{cls.title} ({cls.shortcut})")
            act.setCheckable(True)
            group.addAction(act)
            self.tool_actions[name] = act
        self.tool_actions["pan"].setChecked(True)
        #: Tools menu entries of the wizards the operations declare, by wizard name.
        self.wizard_actions: dict[str, QAction] = {}
        openers = {"image_search": self.show_search_dialog, "face_morph": self.show_face_morph}
        for spec in registry.all_specs().values():
            wizard = spec.editor.wizard
            if wizard is not None and wizard.name in openers \
                    and wizard.name not in self.wizard_actions:
                self.wizard_actions[wizard.name] = a(wizard.title, openers[wizard.name], None,
                                                     wizard.tip, "Tools")
        self.act_models = a("&Models…", self.show_models_dialog, None,
                            "The models operations use: installed or not, import weights",
                            "Tools")
        self.act_train = a("&Train a Model…", self.show_training, QKeySequence("Ctrl+Shift+T"),
                           "Train a model on a dataset, with a live loss plot, Stop and Resume",
                           "Tools")
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts, QKeySequence("F1"),
                               "Every command that has a key", "Help")
        self.act_licences = a("Model and Data &Licences", self.show_licences, None,
                              "The licences of the models and the data they were trained on",
                              "Help")
        self.act_about = a("&About imgstudio", self.show_about, None,
                           "Version of imgstudio, Qt and PySide", "Help")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(lambda: self.files.fill_recent_menu(self.recent_menu))
        file_menu.aboutToShow.connect(self._update_overwrite)
        self.file_menu = file_menu
        self._fill(file_menu, self.act_close, None, self.act_save, self.act_save_as,
                   self.act_export, self.act_overwrite, None, self.act_import,
                   self.act_open_recovered, None, self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.aboutToShow.connect(self._update_actions)  # the clipboard may hold an image now
        self._fill(edit, self.act_undo, self.act_redo, None, self.act_copy, self.act_paste, None,
                   self.act_palette)
        view = bar.addMenu("&View")
        self._fill(view, self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual,
                   None, *(dock.toggleViewAction() for dock in self.docks.values()))
        layer_menu = bar.addMenu("&Layer")
        self._fill(layer_menu, self.act_new_labels, self.act_new_points, None,
                   self.act_duplicate, self.act_delete_layer, self.act_merge_down,
                   self.act_flatten, None, self.act_labels_from_selection,
                   self.act_points_to_markers, self.act_labels_to_mask, self.act_mask_to_labels)
        tools = bar.addMenu("&Tools")
        self._fill(tools, *self.tool_actions.values(), None, *self.wizard_actions.values(),
                   None, self.act_train, self.act_models)
        self.op_actions = add_operation_menus(bar, list(registry.all_specs().values()),
                                              self.choose_operation, places=MENU_PLACES)
        for spec_id, act in self.op_actions.items():
            act.setProperty("palette_group", registry.get(spec_id).menu)
        self._gather_search(tools)
        help_menu = bar.addMenu("&Help")
        self._fill(help_menu, self.act_shortcuts, self.act_licences, None, self.act_about)
        order_menus(bar)
        for name, error in registry.plugin_errors:
            self.message_bar.show_warning(f"Plugin {name} failed to load: {error}")

    @staticmethod
    def _fill(menu, *actions: QAction | None) -> None:
        """Add ``actions`` to ``menu``; None is a separator."""
        for act in actions:
            menu.addSeparator() if act is None else menu.addAction(act)

    def _gather_search(self, tools) -> None:
        """Image Search in one place: the search dialog's entry goes just above the search
        ops that :data:`MENU_PLACES` put into the Tools menu."""
        search = self.wizard_actions.get("image_search")
        wizard_ops = set()
        for spec in registry.all_specs().values():
            if spec.editor.wizard is not None and spec.editor.wizard.name == "image_search":
                wizard_ops |= set(spec.editor.wizard.ops.values())
        first = next((a for a in tools.actions() if a.data() in wizard_ops), None)
        if search is not None and first is not None:
            tools.removeAction(search)
            tools.insertAction(first, search)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Tools", self)
        tb.setObjectName("toolbar-tools")
        self.addToolBar(Qt.TopToolBarArea, tb)
        for act in self.tool_actions.values():
            tb.addAction(act)
        tb.addSeparator()
        tb.addWidget(QLabel(" Label ", self))
        self.label_spin = QSpinBox(self)
        self.label_spin.setRange(1, 255)
        self.label_spin.setToolTip("Label painted by the brush (seed / marker index)")
        tb.addWidget(self.label_spin)
        tb.addWidget(QLabel(" Size ", self))
        self.size_spin = QSpinBox(self)
        self.size_spin.setRange(1, 500)
        self.size_spin.setValue(9)
        self.size_spin.setToolTip("Brush diameter in pixels")
        tb.addWidget(self.size_spin)
        self.label_spin.valueChanged.connect(self._sync_brush)
        self.size_spin.valueChanged.connect(self._sync_brush)
        # typed into only when clicked: at start and after a dialog the keyboard belongs to the
        # canvas, so "+" zooms instead of turning the label into "+11"
        for spin in (self.label_spin, self.size_spin):
            spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    # -- binding a workspace ------------------------------------------------------------------
    def bind(self, workspace: Workspace) -> None:
        """Show ``workspace``: new canvas and panels; the previous ones are closed."""
        old = self.workspace
        if self.canvas is not None:
            self.canvas.clear_preview()
            self.canvas.setParent(None)
            self.canvas.deleteLater()
        for name in ("Layers", "History", "Operation", "Histogram"):
            widget = self.docks[name].widget()
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        self.workspace = workspace
        if hasattr(self, "autosave"):
            self.autosave.watch(workspace)
        self.canvas = CanvasView(workspace, self._central)
        self._central.layout().addWidget(self.canvas, 1)
        self.canvas.setFocus(Qt.FocusReason.OtherFocusReason)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.canvas.cursor_info.connect(self.pixel_label.setText)
        self.canvas.color_picked.connect(self.color_picker.picked)
        self.canvas.message.connect(self.message_bar.show_info)
        start = StartPage(self.files.recent_files)  # shown while the document has no layer
        start.open_requested.connect(lambda path: self.files.open_files([path]))
        start.open_dialog_requested.connect(self.files.open_dialog)
        self.canvas.set_start_page(start)
        self.layers_panel = LayersPanel(workspace)
        self.layers_panel.message.connect(self.message_bar.show_error)
        self.history_panel = HistoryPanel(workspace)
        self.history_panel.message.connect(self.message_bar.show_warning)
        self.history_panel.info.connect(self.message_bar.show_info)
        self.history_panel.error.connect(self.message_bar.show_error)
        self.operation_panel = OperationPanel(workspace, self.jobs, preview_target=self.canvas,
                                              settings=self.settings)
        self.operation_panel.error.connect(self.model_errors.report)
        self.operation_panel.result_ready.connect(self.show_result)
        self.seed_hints = SeedHints(self.operation_panel)  # what to paint for seeded ops
        self.seed_hints.hint.connect(self.message_bar.show_info)
        self.canvas.view_changed.connect(self.operation_panel.view_moved)
        self.operation_panel.selection_source = lambda canvas=self.canvas: canvas.selection
        self.canvas.position_picked.connect(self.operation_panel.set_position)
        self.histogram_panel = None  # built after the first paint: pyqtgraph is slow to import
        self.op_views = None  # op-specific overlays and spectrum in the Histogram dock
        self.docks["Layers"].setWidget(self.layers_panel)
        self.docks["History"].setWidget(self.history_panel)
        self.docks["Operation"].setWidget(self.operation_panel)
        canvas = self.canvas
        if len(workspace.document):
            canvas.first_paint_done.connect(  # the timers die with the canvas (context object)
                lambda: QTimer.singleShot(0, canvas, lambda: self._create_histogram(canvas)))
        else:
            QTimer.singleShot(1000, canvas, lambda: self._create_histogram(canvas))
        workspace.modified_changed.connect(lambda _m: self._update_title())
        workspace.path_changed.connect(lambda _p: self._update_title())
        workspace.history.changed.connect(self._update_actions)
        document = workspace.document
        document.active_changed.connect(
            lambda *_: document is self.workspace.document and self._update_actions())
        self._update_title()
        self._update_actions()
        self._sync_brush()
        self.set_tool(self.canvas.tool if hasattr(self.canvas, "tool") else "pan")
        if old is not None and old is not workspace:
            old.close()
        QTimer.singleShot(0, self.canvas.fit)

    def _create_histogram(self, for_canvas: CanvasView) -> None:
        """Build the Histogram dock once ``for_canvas`` (still the current one) has painted:
        importing pyqtgraph costs about half a second, which must not delay the image."""
        if self.histogram_panel is not None or for_canvas is not self.canvas:
            return
        from imgstudio.gui.op_views import OpViews
        from imgstudio.gui.panels.histogram import HistogramPanel
        from imgstudio.gui.threshold_marker import ThresholdMarker

        self.histogram_panel = HistogramPanel(self.workspace)
        self.docks["Histogram"].setWidget(self.histogram_panel)
        self.op_views = OpViews(self.operation_panel, self.histogram_panel)
        self.threshold_marker = ThresholdMarker(self.operation_panel, self.histogram_panel)

    def _update_title(self) -> None:
        # "[*]" is where Qt shows the modified mark (and without it warns on every edit)
        self.setWindowTitle(f"{self.workspace.title}[*] — imgstudio")
        self.setWindowModified(self.workspace.modified)

    def _update_actions(self, *_: object) -> None:
        """Enable each action whose needs the document meets now (see :meth:`_rules`)."""
        if self.workspace is None:
            return
        history = self.workspace.history
        self.act_undo.setEnabled(history.can_undo)
        self.act_redo.setEnabled(history.can_redo)
        for action, rule in self._rules().items():
            action.setEnabled(bool(rule()))
        for op_id, action in self.op_actions.items():
            action.setEnabled(self._inputs_available(op_id))

    def _rules(self) -> dict[QAction, Callable[[], object]]:
        """What each document-dependent action needs; the rest are always enabled."""
        doc = self.workspace.document
        has_layers = lambda: len(doc) > 0  # noqa: E731 - a table of small predicates
        image = lambda: isinstance(doc.active, ImageLayer)  # noqa: E731
        rules: dict[QAction, Callable[[], object]] = {
            self.act_close: lambda: len(doc) > 0 or self.workspace.modified,
            self.act_save: has_layers, self.act_save_as: has_layers,
            self.act_export: lambda: doc.active is not None,
            self.act_overwrite: lambda: self.files.overwrite_target() is not None,
            self.act_copy: image,
            self.act_paste: lambda: not QGuiApplication.clipboard().image().isNull(),
            self.act_zoom_in: has_layers, self.act_zoom_out: has_layers,
            self.act_fit: has_layers, self.act_actual: has_layers,
            self.act_new_labels: lambda: doc.size is not None,
            self.act_new_points: has_layers,
            self.act_duplicate: lambda: doc.active is not None,
            self.act_delete_layer: lambda: doc.active is not None,
            self.act_merge_down: lambda: self._merge_down_pair() is not None,
            self.act_flatten: lambda: len(self._flatten_layers()) > 1,
            self.act_labels_from_selection: lambda: doc.size is not None,
            self.act_points_to_markers: lambda: doc.of_kind(LayerKind.POINTS),
            self.act_labels_to_mask: lambda: doc.active is not None
            and doc.active.kind == LayerKind.LABELS,
            self.act_mask_to_labels: lambda: doc.active is not None
            and doc.active.kind == LayerKind.LABELS,
        }
        if "face_morph" in self.wizard_actions:
            rules[self.wizard_actions["face_morph"]] = lambda: doc.of_kind(LayerKind.IMAGE)
        return rules

    def _inputs_available(self, op_id: str) -> bool:
        """An op's menu entry is enabled when the document has a layer of every kind its
        required inputs take (an op with none, say a generator, always is)."""
        doc = self.workspace.document
        return all(doc.of_kind(i.kind) for i in registry.get(op_id).inputs if not i.optional)

    def _update_overwrite(self) -> None:
        """File → Overwrite NAME names the file it writes (updated as the menu opens)."""
        target = self.files.overwrite_target()
        name = os.path.basename(target) if target else ""
        self.act_overwrite.setText(f"&Overwrite {name}" if name else "&Overwrite")
        self.act_overwrite.setEnabled(target is not None)

    def _sync_brush(self) -> None:
        if self.canvas is not None:
            self.canvas.brush_label = self.label_spin.value()
            self.canvas.brush_size = self.size_spin.value()

    # -- commands -----------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if self.canvas is not None:
            self.canvas.set_tool(name)
        if name in self.tool_actions:
            self.tool_actions[name].setChecked(True)

    def choose_operation(self, op_id: str) -> None:
        if registry.get(op_id).editor.training is not None:  # trained in the Training dock
            self.show_training(op_id)
            return
        self.operation_panel.set_operation(op_id)
        self.docks["Operation"].show()
        self.docks["Operation"].raise_()
        if self.operation_panel.takes_position:
            self.set_tool("place")
            self.message_bar.show_info("Drag on the canvas to place it; Preview shows the result")

    def _finish_stroke(self) -> None:
        """Record a brush stroke still in progress so undo/redo never interleave with it."""
        tool = self.canvas.tools.get(self.canvas.tool) if self.canvas is not None else None
        if getattr(tool, "stroking", False):
            tool.finish()

    def undo(self) -> None:
        self._finish_stroke()
        if self.workspace.history.can_undo:
            self.workspace.history.undo()

    def redo(self) -> None:
        self._finish_stroke()
        if self.workspace.history.can_redo:
            self.workspace.history.redo()

    def show_result(self, result) -> None:
        spec = self.operation_panel.spec
        self._show_named_result(spec.title if spec is not None else "Result", result)

    def _show_named_result(self, title: str, result) -> None:
        self.results_panel.show_result(title, result)
        self.docks["Results"].show()
        self.docks["Results"].raise_()

    def _training(self):
        if self.training_panel is None:
            from imgstudio.gui.panels.training import TrainingPanel

            panel = self.training_panel = TrainingPanel(self.jobs, self.settings)
            panel.use_requested.connect(self.use_model)
            panel.result_ready.connect(self._show_named_result)
            panel.failed.connect(self.message_bar.show_error)
            self.docks["Training"].setWidget(panel)
        return self.training_panel

    def show_training(self, op_id: str | None = None):
        """The Training dock, shown and raised (with the training op ``op_id`` chosen);
        returns its :class:`~imgstudio.gui.panels.training.TrainingPanel`."""
        panel = self._training()
        if not panel.running:
            panel.refresh()  # ops registered since the window was built
            if op_id is not None:
                panel.set_operation(op_id)
        dock = self.docks["Training"]
        shown = dock.isVisible()
        dock.show()
        dock.raise_()
        if not shown and not dock.isFloating():  # room for the form beside plot and preview
            self.resizeDocks([dock], [max(dock.height(), 330, int(self.height() * 0.42))],
                             Qt.Vertical)
            self.resizeDocks([dock], [max(dock.width(), int(self.width() * 0.6))],
                             Qt.Horizontal)
        return panel

    def use_model(self, op_id: str, param: str, name: str) -> None:
        """Open ``op_id`` in the Operation dock with its model parameter ``param`` = ``name``."""
        self.choose_operation(op_id)
        form = self.operation_panel.form
        if form is not None and self._try(lambda: form.set_values({param: name})):
            self.message_bar.show_info(f"{self.operation_panel.spec.title} uses the model "
                                       f"{name!r}; Apply runs it")

    def _on_sample_shown(self, row) -> None:
        """A job's first sample grid brings the Jobs dock forward (once per job)."""
        if row.job.id not in self._sampling_jobs:
            self._sampling_jobs.add(row.job.id)
            dock = self.docks["Jobs"]
            dock.show()
            dock.raise_()
            wanted = row.sizeHint().height() + 60  # the row with its grid, and the buttons
            if not dock.isFloating() and dock.height() < wanted:
                self.resizeDocks([dock], [min(wanted, self.height() // 2)], Qt.Vertical)

    def show_face_morph(self):
        """The Face morph wizard (non-modal; one at a time) over the current document."""
        from imgstudio.gui.wizards.face_morph import FaceMorphWizard

        wizard = getattr(self, "face_morph_wizard", None)
        if wizard is None or not wizard.isVisible() or wizard.workspace is not self.workspace:
            if wizard is not None:
                wizard.close()  # cancels and waits for its jobs
                wizard.deleteLater()
            wizard = self.face_morph_wizard = FaceMorphWizard(self.workspace, self.jobs, self)
        wizard.show()
        wizard.raise_()
        return wizard

    def show_search_dialog(self):
        """The Image Search dialog (one per window); a result opens as a new layer."""
        from imgstudio.gui.dialogs.search import SearchDialog, active_image

        if getattr(self, "search_dialog", None) is None:
            self.search_dialog = SearchDialog(
                self.jobs, lambda: active_image(self.workspace.document), self)
            self.search_dialog.open_requested.connect(self.files.import_path)
        self.search_dialog.show()
        self.search_dialog.raise_()
        return self.search_dialog

    def show_models_dialog(self):
        """The Models dialog (one per window): the store's models, import, verify."""
        from imgstudio.gui.dialogs.models import ModelsDialog

        if getattr(self, "models_dialog", None) is None:
            self.models_dialog = ModelsDialog(self.jobs, self)
            self.model_errors.imported.connect(
                lambda _card: self.models_dialog.isVisible() and self.models_dialog.refresh())
        else:
            self.models_dialog.refresh()
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def add_shapes_layer(self, shapes: list, name: str) -> None:
        """A results panel's shapes (say, boxes of recognised text) as a new layer, one step."""
        from imgstudio.core.document import ShapesLayer

        layer = ShapesLayer(shapes, self.workspace.document.unique_name(name))
        self.workspace.add_layer(layer, label=f"Add {layer.name}")

    def select_table_row(self, row: dict) -> None:
        """Select on the canvas the region a results row describes (a label, or a bbox)."""
        selection = region_selection(row, self.workspace.document)
        if selection is not None and self.canvas is not None:
            self.canvas.set_selection(selection)

    def show_palette(self) -> CommandPalette:
        actions = [a for a in self.actions() if a.text()] + list(self.op_actions.values())
        palette = CommandPalette(actions, self)
        palette.open()
        return palette

    def _new_labels(self) -> None:
        try:
            self.workspace.new_labels_layer()
            self.set_tool("brush")
        except ValueError as exc:
            self.message_bar.show_error(str(exc))

    def _labels_from_selection(self) -> None:
        selection = self.canvas.selection if self.canvas is not None else None
        if selection is None or self.workspace.document.size is None:
            self.message_bar.show_info("Draw a rectangle or polygon selection first")
            return
        if self._try(lambda: self.workspace.labels_from_mask(
                selection.mask(self.workspace.document.size))):
            self.canvas.clear_selection()  # now a layer; left on, ops would run inside it

    def _convert(self, to: str) -> None:
        layer = self.workspace.document.active
        self._try(lambda: self.workspace.convert_labels(layer, to))

    def _new_points(self) -> None:
        self.workspace.new_points_layer()
        self.set_tool("points")

    # -- File → New / Close / Overwrite -------------------------------------------------------
    def new_document(self) -> bool:
        """File → New…: ask for a size and fill, then (after the unsaved-changes prompt) show
        a new document with one image layer. False when cancelled."""
        dialog = NewImageDialog(self)
        if not dialog.exec() or not self.files.maybe_save():
            return False
        self.files.show_workspace(Workspace(Document([dialog.layer()])))
        return True

    def close_document(self) -> bool:
        """File → Close: after the unsaved-changes prompt, an empty workspace."""
        return self.files.close_document()

    def overwrite(self) -> bool:
        return bool(self.files.overwrite())

    # -- Edit → Copy / Paste ------------------------------------------------------------------
    def copy_to_clipboard(self) -> bool:
        """The active image layer (or the part of it under the selection's bounding box) to
        the clipboard as an image, as the canvas shows it."""
        layer = self.workspace.document.active
        if not isinstance(layer, ImageLayer):
            self.message_bar.show_info("Copy takes an image layer; choose one in Layers")
            return False
        data = layer.data
        selection = self.canvas.selection if self.canvas is not None else None
        if selection is not None:
            y0, y1, x0, x1 = selection.bbox()
            if y1 > y0 and x1 > x0:
                data = data[y0:y1, x0:x1]
        QGuiApplication.clipboard().setImage(array_to_qimage(display_rgba(data)))
        return True

    def paste_from_clipboard(self) -> bool:
        """The clipboard's image as a new layer when it has the document's size (one step),
        else as a new document (after the unsaved-changes prompt)."""
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.message_bar.show_info("The clipboard holds no image")
            return False
        pixels = qimage_to_array(image)
        doc = self.workspace.document
        if doc.size is not None and tuple(doc.size) == pixels.shape[:2]:
            layer = ImageLayer(pixels, doc.unique_name("Pasted"))
            self.workspace.add_layer(layer, label="Paste")
            return True
        if not self.files.maybe_save():
            return False
        self.files.show_workspace(Workspace(Document([ImageLayer(pixels, "Pasted")])))
        return True

    # -- Layer → Duplicate / Delete / Merge Down / Flatten -------------------------------------
    def duplicate_layer(self) -> None:
        self.layers_panel.duplicate_active()

    def delete_layer(self) -> None:
        self.layers_panel.delete_active()

    def _merge_down_pair(self) -> tuple[Layer, Layer] | None:
        """(upper, lower): the active image layer and the image layer right below it, when
        both have the same size; None otherwise."""
        doc = self.workspace.document
        upper = doc.active
        if not isinstance(upper, ImageLayer) or doc.index(upper) == 0:
            return None
        lower = doc[doc.index(upper) - 1]
        if not isinstance(lower, ImageLayer) or lower.shape != upper.shape:
            return None
        return upper, lower

    def _flatten_layers(self) -> list[Layer]:
        """The layers Flatten combines: all of them, when every one is an image layer of one
        size; else none (labels and points layers are not pixels to merge)."""
        layers = list(self.workspace.document)
        if not all(isinstance(lay, ImageLayer) for lay in layers):
            return []
        if len({lay.shape for lay in layers}) != 1:
            return []
        return layers

    def merge_down(self) -> bool:
        pair = self._merge_down_pair()
        if pair is None:
            self.message_bar.show_info("Merge Down needs an image layer of the same size below")
            return False
        upper, lower = pair
        return self._replace_by_composite([lower, upper], f"Merge {upper.name} down",
                                          lower.name, lower)

    def flatten(self) -> bool:
        layers = self._flatten_layers()
        if len(layers) < 2:
            self.message_bar.show_info("Flatten needs two or more image layers of one size")
            return False
        return self._replace_by_composite(layers, "Flatten image", layers[0].name, layers[0])

    def _replace_by_composite(self, layers: list[Layer], label: str, name: str,
                              at: Layer) -> bool:
        """Replace ``layers`` (bottom to top) by one image layer, their composite as the canvas
        shows it (visibility, opacity, blend mode), at ``at``'s place: one undo step."""
        doc = self.workspace.document
        merged = ImageLayer(composite(layers), name)
        index = doc.index(at)
        commands = [RemoveLayer(doc, lay) for lay in layers]
        below = sum(doc.index(lay) < index for lay in layers)  # removed from under ``at``
        commands.append(AddLayer(doc, merged, index - below))
        return self._try(lambda: self.workspace.history.execute(Group(label, commands)))

    # -- Help ---------------------------------------------------------------------------------
    def _help(self, make) -> object:
        dialog = make()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.help_dialog = dialog
        return dialog

    def show_shortcuts(self):
        from imgstudio.gui.dialogs.help import shortcuts_dialog

        return self._help(lambda: shortcuts_dialog(self.actions(), self))

    def show_licences(self):
        from imgstudio.gui.dialogs.help import licences_dialog

        return self._help(lambda: licences_dialog(self))

    def show_about(self):
        from imgstudio.gui.dialogs.help import about_dialog

        return self._help(lambda: about_dialog(self))

    def _try(self, fn: Callable[[], object]) -> bool:
        """Run a layer command; a bad input (OSError or ValueError) goes to the message bar."""
        return attempt(fn, self.message_bar.show_error)

    def _on_job_added(self, job) -> None:
        self.job_progress.setValue(0)
        self.job_progress.show()
        job.signals.progress.connect(lambda f, m: self.job_progress.setValue(int(f * 100)))

    # -- drag and drop and closing ------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.files.drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.files.drop(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not getattr(self, "_force_close", False) and not self.files.maybe_save():
            event.ignore()
            return
        self.jobs.cancel_all()
        self.jobs.wait()
        self.autosave.shutdown()  # the document was saved or discarded: no recovery needed
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        if self.canvas is not None:
            self.canvas.clear_preview()
        self.workspace.close()
        event.accept()

    def force_close(self) -> None:
        """Close without asking (screenshot mode, tests)."""
        self._force_close = True
        self.close()

    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)


class NewImageDialog(QDialog):
    """File → New…: the width, height and fill of a new image."""

    FILLS = {"White": (255, 255, 255, 255), "Black": (0, 0, 0, 255),
             "Transparent": (0, 0, 0, 0)}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Image")
        self.width_spin, self.height_spin = QSpinBox(self), QSpinBox(self)
        for spin, value in ((self.width_spin, 800), (self.height_spin, 600)):
            spin.setRange(1, 20000)
            spin.setValue(value)
            spin.setSuffix(" px")
        self.fill_combo = QComboBox(self)
        self.fill_combo.addItems(list(self.FILLS))
        form = QFormLayout(self)
        form.addRow("&Width", self.width_spin)
        form.addRow("&Height", self.height_spin)
        form.addRow("&Fill with", self.fill_combo)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def layer(self) -> ImageLayer:
        """The new image layer: RGB for white and black, RGBA for transparent."""
        fill = self.FILLS[self.fill_combo.currentText()]
        channels = 4 if fill[3] < 255 else 3
        pixels = np.empty((self.height_spin.value(), self.width_spin.value(), channels),
                          np.uint8)
        pixels[...] = fill[:channels]
        return ImageLayer(pixels, "Background")


# -- pixels for the clipboard and for merging ------------------------------------------------------
def display_rgba(data: np.ndarray) -> np.ndarray:
    """An image layer's pixels as the canvas shows them: (h, w, 4) uint8 straight RGBA."""
    from imgstudio.gui.canvas.render import default_window, image_display

    rgb, alpha = image_display(data, default_window(data))
    a = np.full(rgb.shape[:2], 255, np.uint8) if alpha is None else \
        np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    return np.dstack([rgb, a])


def composite(layers: list[Layer]) -> np.ndarray:
    """Image layers of one size, bottom to top, combined as the canvas composites them: hidden
    ones skipped, each with its opacity and blend mode. (h, w, 3) or (h, w, 4) uint8."""
    from imgstudio.gui.canvas.render import Compositor, default_window, image_display

    h, w = layers[0].shape
    out = Compositor(h, w)
    for layer in layers:
        if not layer.visible or layer.opacity <= 0:
            continue
        rgb, alpha = image_display(layer.data, default_window(layer.data))
        a = layer.opacity if alpha is None else alpha * np.float32(layer.opacity)
        out.add((0, h, 0, w), rgb, a, layer.blend_mode)
    return np.ascontiguousarray(out.result())


def array_to_qimage(rgba: np.ndarray) -> QImage:
    """An (h, w, 4) uint8 RGBA array as a QImage that owns a copy of the pixels."""
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()


def qimage_to_array(image: QImage) -> np.ndarray:
    """A QImage as (h, w, 3) uint8 RGB, or (h, w, 4) RGBA when it has any transparency."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = image.height(), image.width()
    raw = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    rgba = raw.reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()
    return rgba if rgba[..., 3].min() < 255 else np.ascontiguousarray(rgba[..., :3])
