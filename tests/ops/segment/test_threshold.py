"""segment.otsu and segment.riddler_calvard (imgstudio.ops.segment.threshold) against
scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.filters import threshold_isodata, threshold_otsu

import imgstudio.api as api
from tests.ops.helpers import dtypes, kinds
from tests.ops.segment.helpers import ref_luma

# -- otsu, riddler_calvard --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op_id", "method"),
    [("segment.otsu", threshold_otsu), ("segment.riddler_calvard", threshold_isodata)],
)
@dtypes
@kinds
def test_threshold_equals_skimage_on_the_luma(op_id, method, dtype, kind, make):
    image = make(dtype, kind)
    grey = ref_luma(image)
    expected = (grey > method(grey)).astype(np.int32)
    out = api.run(op_id, image)
    assert out.dtype == np.int32 and np.array_equal(out, expected)
    assert 0 < out.mean() < 1


@pytest.mark.parametrize("op_id", ["segment.otsu", "segment.riddler_calvard"])
def test_threshold_of_constant_image_is_empty(op_id):
    assert not api.run(op_id, np.full((8, 9), 77, np.uint8)).any()


@pytest.mark.parametrize("op_id", ["segment.otsu", "segment.riddler_calvard"])
def test_threshold_bad_params_name_the_image(op_id):
    with pytest.raises(ValueError, match="image"):
        api.run(op_id, np.zeros((8, 8), np.float64))
