"""Place tool (imgstudio.gui.tools.place): dragging reports the pixel under the mouse."""

from __future__ import annotations

from tests.gui.canvas_events import at, drag


def test_place_tool_reports_the_dragged_pixel(view, qtbot):
    view.set_tool("place")
    seen = []
    view.position_picked.connect(lambda x, y: seen.append((x, y)))
    drag(view, [at(view, 10.5, 12.5), at(view, 20.5, 15.5), at(view, 30.5, 18.5)])
    assert seen[0] == (10, 12) and seen[-1] == (30, 18)
