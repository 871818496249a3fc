"""Wizards: multi-page dialogs for tasks of several steps (one module per wizard).

``FaceMorphWizard`` is imported lazily, so importing this package costs nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FaceMorphWizard"]


def __getattr__(name: str) -> Any:
    if name == "FaceMorphWizard":
        from imgstudio.gui.wizards.face_morph import FaceMorphWizard

        return FaceMorphWizard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
