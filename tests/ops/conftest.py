"""Shared fixtures for the operation tests."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
from skimage.util import img_as_ubyte

from tests.ops.helpers import convert


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "gray_channel(index): the ``make`` fixture's gray image is this channel of the RGB crop "
        "instead of the BT.601 luma",
    )


@pytest.fixture
def make(astronaut_small, request):
    """``make(dtype, kind)``: the 64×96 astronaut crop as gray/rgb/rgba in ``dtype``.

    Gray is the BT.601 luma (``skimage.color.rgb2gray``), or channel ``c`` of the crop in a
    module marked ``pytestmark = pytest.mark.gray_channel(c)``.
    """
    marker = request.node.get_closest_marker("gray_channel")

    def build(dtype=np.uint8, kind="rgb"):
        rgb = astronaut_small
        if kind == "gray":
            if marker is None:
                base = img_as_ubyte(skimage.color.rgb2gray(rgb))
            else:
                base = rgb[..., marker.args[0]]
        elif kind == "rgba":
            alpha = np.linspace(0, 255, rgb.shape[1]).astype(np.uint8)
            base = np.dstack([rgb, np.broadcast_to(alpha, rgb.shape[:2])])
        else:
            base = rgb
        return convert(base, dtype)

    return build
