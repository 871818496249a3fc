"""Operation failures in the message bar, with a way out when a model or a library is missing.

:class:`ModelErrors` receives the Operation dock's ``error(message, exception)``:

- a :class:`~imgstudio.core.errors.ModelNotFoundError` is shown as one line (the folders
  looked in go to the tooltip) with "Import model…", which asks for the weights file and
  imports it under the model's name, and "Copy command"; after an import the bar says so
  and offers "Run again" (the same operation, if it is still the one in the dock);
- a :class:`~imgstudio.core.errors.MissingExtraError` is shown with "Copy command" (its
  ``pip install`` line);
- anything else is shown as an error, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from imgstudio.core.errors import MissingExtraError, ModelNotFoundError
from imgstudio.gui.dialogs.models import import_model_file
from imgstudio.gui.message_bar import MessageBar


def short_message(message: str, exc: ModelNotFoundError) -> str:
    """``message`` without its "(looked in: …)" list of folders and without the clause that
    gives the install command (the bar's buttons offer both)."""
    if exc.folders:
        message = message.replace(f" (looked in: {'; '.join(exc.folders)})", "")
    at = message.find(exc.command) if exc.command else -1
    cut = message.rfind("; ", 0, at) if at > 0 else -1
    return message[:cut] if cut > 0 else message


def details(exc: ModelNotFoundError) -> str:
    """The tooltip of a missing model's message: the error and each folder looked in."""
    text = f"{short_message(str(exc), exc)}\n\nInstall it with: {exc.command}"
    if exc.folders:
        text += "\n\nLooked in:\n" + "\n".join(f"  {f}" for f in exc.folders)
    return text


class ModelErrors(QObject):
    """Routes operation failures to the message bar (see the module docstring).

    ``panel`` returns the Operation dock now showing (so "Run again" reaches the current
    one). Signal ``imported(dict)``: a model was imported from the bar (its card).
    """

    imported = Signal(dict)

    def __init__(self, bar: MessageBar, parent: QWidget,
                 panel: Callable[[], Any] | None = None) -> None:
        super().__init__(parent)
        self.bar = bar
        self.window = parent
        self.panel = panel

    def report(self, message: str, exc: BaseException) -> None:
        """Show the failure ``message`` of an operation that raised ``exc``."""
        if isinstance(exc, ModelNotFoundError):
            spec = self._current_spec()
            self.bar.show_error(short_message(message, exc), details=details(exc), actions=[
                ("Import model…", lambda: self.import_model(exc.name, spec)),
                ("Copy command", lambda: self.copy(exc.command)),
            ])
        elif isinstance(exc, MissingExtraError):
            self.bar.show_error(message, details=str(exc), actions=[
                ("Copy command", lambda: self.copy(exc.command))])
        else:
            self.bar.show_error(message)

    def import_model(self, name: str, spec: Any = None) -> dict | None:
        """Ask for the weights of model ``name`` and import them; on success the bar says so
        (with "Run again" when the operation ``spec`` is still in the dock)."""
        card = import_model_file(self.window, name)
        if card is None:
            return None
        self.bar.hide_message()
        actions = [("Run again", lambda: self.rerun(spec))] if spec is not None else []
        self.bar.show_info(f"Imported model {card['name']!r}", actions=actions)
        self.bar.setToolTip(card["path"])
        self.imported.emit(card)
        return card

    def rerun(self, spec: Any) -> bool:
        """Apply the dock's operation again if it is still ``spec``; True when started."""
        panel = self.panel() if self.panel is not None else None
        if panel is None or panel.spec is not spec or panel.busy:
            return False
        self.bar.hide_message()
        panel.apply()
        return True

    def copy(self, command: str) -> str:
        QGuiApplication.clipboard().setText(command)
        return command

    def _current_spec(self) -> Any:
        panel = self.panel() if self.panel is not None else None
        return panel.spec if panel is not None else None
