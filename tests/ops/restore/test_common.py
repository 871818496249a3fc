"""Point spread functions (imgstudio.ops.restore._common.make_psf)."""

from __future__ import annotations

import numpy as np
import pytest

from imgstudio.ops.restore import make_psf

# -- point spread functions -------------------------------------------------------------------


@pytest.mark.parametrize("psf", ["gaussian", "box", "motion"])
@pytest.mark.parametrize("size", [1, 4, 9])
def test_psf_is_normalised_and_square(psf, size):
    kernel = make_psf(psf, size, 30.0)
    assert kernel.shape == (size, size) and kernel.sum() == pytest.approx(1.0)
    assert (kernel >= 0).all()


@pytest.mark.parametrize("size", [5, 9])
def test_gaussian_psf_is_a_sampled_gaussian_with_opencvs_sigma_rule(size):
    sigma = 0.3 * ((size - 1) / 2 - 1) + 0.8  # what cv2.getGaussianKernel(size, 0) would use
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    assert np.allclose(make_psf("gaussian", size), np.outer(g, g) / np.outer(g, g).sum())


def test_motion_psf_draws_a_segment_at_the_angle():
    horizontal = make_psf("motion", 7, 0.0)
    assert np.allclose(horizontal[3], 1 / 7) and horizontal.sum(axis=1)[3] == pytest.approx(1)
    assert np.allclose(make_psf("motion", 7, 90.0), horizontal.T)
    for size in (4, 6):  # even sizes: the segment sits on row / column size // 2
        row = make_psf("motion", size, 0.0)
        assert np.allclose(row[size // 2], 1 / size)
        assert np.array_equal(make_psf("motion", size, 90.0), row.T)
        assert np.array_equal(make_psf("motion", size, 180.0), row)
    diagonal = make_psf("motion", 9, 45.0)  # counter-clockwise: bottom-left to top-right
    rows, cols = np.nonzero(diagonal)
    # a segment 9 px long spans 9 / sqrt(2) = 6.4 px along each axis: 7 pixels on the diagonal
    assert np.array_equal(rows + cols, np.full(len(rows), 8)) and len(rows) == 7
    assert np.allclose(diagonal, diagonal[::-1, ::-1])
