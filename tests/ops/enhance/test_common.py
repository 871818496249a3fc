"""Strip processing (imgstudio.ops.enhance._common.in_strips): forced strips give exactly the
whole-image result and cancel between strips."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.progress import Cancelled, Progress
from imgstudio.ops.enhance import _common
from tests.ops.enhance.helpers import bgr


@pytest.fixture
def strips(monkeypatch):
    """Force strip processing: 12-row strips whatever the work."""
    monkeypatch.setattr(_common, "STRIP_WORK", 0.0)
    monkeypatch.setattr(_common, "STRIP_PIXELS", 1)


def _strip_count(op_id, image, **params):
    seen: list[float] = []
    api.run(op_id, image, progress=Progress(lambda f, m: seen.append(f)), **params)
    return len(seen)


@pytest.mark.parametrize(
    ("op_id", "params", "reference"),
    [
        ("enhance.gaussian", {"sigma": 2.5}, lambda x: cv2.GaussianBlur(x, (0, 0), 2.5)),
        ("enhance.median", {"ksize": 7}, lambda x: cv2.medianBlur(x, 7)),
        ("enhance.bilateral", {"d": 7, "sigma_color": 40.0, "sigma_space": 5.0},
         lambda x: cv2.bilateralFilter(x, 7, 40.0, 5.0)),
        ("enhance.nl_means", {"h": 12.0},
         lambda x: bgr(cv2.fastNlMeansDenoisingColored(bgr(x), None, 12.0, 12.0, 7, 21))),
    ],
    ids=["gaussian", "median", "bilateral", "nl_means"],
)
def test_strips_give_exactly_the_whole_image_result(op_id, params, reference, make, strips):
    image = make(np.uint8, "rgb")
    assert np.array_equal(api.run(op_id, image, **params), reference(image))
    assert _strip_count(op_id, image, **params) >= 3  # start + at least two strips


def test_strips_exact_for_scipy_median_and_unsharp_mask(make, strips):
    from scipy import ndimage
    from skimage.filters import unsharp_mask

    image = make(np.uint16, "rgb")
    expected = ndimage.median_filter(image, size=(9, 9, 1), mode="nearest")
    assert np.array_equal(api.run("enhance.median", image, ksize=9), expected)
    f = make(np.float32, "rgb")
    expected = unsharp_mask(f, radius=2.0, amount=1.5, channel_axis=2)
    assert np.array_equal(api.run("enhance.unsharp_mask", f, radius=2.0, amount=1.5), expected)


def test_strips_cancel_between_strips(make, strips):
    calls = []

    def cancel_on_second(fraction, message):
        calls.append(fraction)
        if len(calls) == 2:
            token.cancel()

    token = Progress(cancel_on_second)
    with pytest.raises(Cancelled):
        api.run("enhance.median", make(np.uint16, "gray"), ksize=7, progress=token)
    assert len(calls) == 2
