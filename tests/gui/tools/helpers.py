"""Constants shared by the canvas-tool tests (imported by name)."""

from __future__ import annotations

ZOOM = 3.0
