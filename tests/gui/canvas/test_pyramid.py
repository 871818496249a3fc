"""Image pyramids for zoomed-out display (imgstudio.gui.canvas.pyramid)."""

from __future__ import annotations

import numpy as np

from imgstudio.gui.canvas.pyramid import Pyramid, level_for_zoom
from tests.gui.canvas.helpers import rgb


def test_level_for_zoom():
    assert [level_for_zoom(z) for z in (2, 1, 0.75, 0.5, 0.3, 0.25, 0.1, 1 / 64)] == [
        0, 0, 0, 1, 1, 2, 3, 6]


def test_pyramid_region_update_equals_a_rebuild():
    data = rgb(200, 260)
    pyr = Pyramid(data)
    pyr.level(3)
    data[37:81, 101:150] = 7
    pyr.update((37, 81, 101, 150))
    fresh = Pyramid(data.copy())
    for level in (1, 2, 3):
        np.testing.assert_array_equal(pyr.level(level), fresh.level(level))
