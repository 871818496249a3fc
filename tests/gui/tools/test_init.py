"""The tool set (imgstudio.gui.tools): names, shortcuts, switching tools on the canvas."""

from __future__ import annotations

import pytest

from imgstudio.gui.tools import TOOL_CLASSES


def test_set_tool_emits_and_rejects_unknown_names(view, qtbot):
    with qtbot.waitSignal(view.tool_changed) as sig:
        view.set_tool("brush")
    assert sig.args == ["brush"] and view.tool == "brush"
    with pytest.raises(ValueError, match="tool"):
        view.set_tool("lasso")


def test_every_tool_has_a_distinct_shortcut():
    names = {"pan", "brush", "eraser", "points", "rect", "polygon", "picker", "place"}
    assert set(TOOL_CLASSES) == names
    shortcuts = [cls.shortcut for cls in TOOL_CLASSES.values()]
    assert len(set(shortcuts)) == len(shortcuts) and all(shortcuts)
    assert TOOL_CLASSES["pan"].shortcut == "H" and TOOL_CLASSES["brush"].shortcut == "B"
