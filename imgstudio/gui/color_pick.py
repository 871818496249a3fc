"""What the Colour picker does with a picked pixel: it becomes the foreground colour (shown as
a swatch in the status bar), the value is reported, and the open operation's first colour
parameter, if any, takes it."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from imgstudio.core.types import Color


def color_of(value: tuple, dtype) -> Color | None:
    """An 8-bit RGB colour for a picked pixel of an image of ``dtype`` (gray repeated, alpha
    dropped, 16-bit and float rescaled); None for a value with no colour (labels)."""
    if not value or len(value) == 2 or len(value) > 4:
        return None
    kind = getattr(dtype, "kind", "f")
    scale = 1.0 if kind == "u" and dtype.itemsize == 1 else (
        255.0 / 65535.0 if kind == "u" else 255.0)
    rgb = value[:3] if len(value) >= 3 else value * 3
    return Color(*(min(255, max(0, round(float(v) * scale))) for v in rgb))


class ColorPicker:
    """Receives the canvas's ``color_picked`` and applies it (see the module docstring)."""

    def __init__(self, window, swatch_parent: QWidget) -> None:
        self.window = window
        self.foreground = Color(0, 0, 0)
        self.swatch = QLabel(swatch_parent)
        self.swatch.setObjectName("foreground-swatch")
        self.swatch.setFixedSize(18, 18)
        self._paint()

    def _paint(self) -> None:
        self.swatch.setStyleSheet(f"background: {self.foreground.hex()}; border: 1px solid #888;")
        self.swatch.setToolTip(f"Foreground colour {self.foreground.hex()} (pick with the "
                               "Colour picker, I)")

    def picked(self, value: tuple) -> None:
        window = self.window
        layer = window.workspace.document.active
        color = color_of(value, getattr(getattr(layer, "data", None), "dtype", None)) \
            if layer is not None and layer.kind.value == "image" else None
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        if color is None:
            window.message_bar.show_info(f"Picked value ({shown})")
            return
        self.foreground = color
        self._paint()
        filled = ""
        panel = window.operation_panel
        spec, form = panel.spec, panel.form
        if spec is not None and form is not None:
            param = next((p for p in spec.params if p.kind == "color"), None)
            if param is not None:
                form.set_values({param.name: color})
                filled = f"; {spec.title}: {param.name} set to it"
        window.message_bar.show_info(f"Picked ({shown}) = {color.hex()}, now the foreground "
                                     f"colour{filled}")
