"""Wizards: multi-page dialogs for tasks of several steps (one module per wizard).

An operation opens a wizard by declaring it in its spec
(:class:`~imgstudio.core.editor.Wizard`: the wizard's name, its menu title, the op ids it
runs by role, its helper functions); :func:`declared` finds that declaration, so the op ids
stay in the ops' modules and a wizard reaches its ops through the registry and
:func:`imgstudio.api.run`. ``FaceMorphWizard`` is imported lazily, so importing this package
costs nothing.
"""

from __future__ import annotations

from typing import Any

from imgstudio.core import registry
from imgstudio.core.editor import Wizard

__all__ = ["FaceMorphWizard", "declared"]


def declared(name: str) -> Wizard:
    """The :class:`~imgstudio.core.editor.Wizard` named ``name`` that an operation declares;
    ``KeyError`` when no registered operation declares it."""
    for spec in registry.all_specs().values():
        wizard = spec.editor.wizard
        if wizard is not None and wizard.name == name:
            return wizard
    raise KeyError(f"no operation declares the {name!r} wizard")


def __getattr__(name: str) -> Any:
    if name == "FaceMorphWizard":
        from imgstudio.gui.wizards.face_morph import FaceMorphWizard

        return FaceMorphWizard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
