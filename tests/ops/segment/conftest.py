"""Fixtures shared by the segmentation-operation tests."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Tiny BLAS/OpenMP calls (scikit-learn) crawl with threads on an oversubscribed CPU."""
    with threadpool_limits(1):
        yield
