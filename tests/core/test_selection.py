"""Selections (imgstudio.core.selection)."""

from __future__ import annotations

import numpy as np
import pytest

from imgstudio.core.selection import Selection


def test_selection_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="kind"):
        Selection("ellipse", np.zeros((2, 2)), (10, 10))
