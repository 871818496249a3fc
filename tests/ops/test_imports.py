"""Importing an op family loads no heavy library: they are imported inside the ops, so listing
the operations (the editor's menus, ``imgstudio ops``) stays fast."""

from __future__ import annotations

import subprocess
import sys

import pytest

FAMILIES = ["artistic", "basic", "binary", "edges", "enhance", "faces", "measure", "register",
            "restore", "search", "segment"]
HEAVY = ("cv2", "skimage", "scipy", "sklearn", "pywt", "SimpleITK", "dlib", "torch", "PySide6")


@pytest.mark.parametrize("family", FAMILIES)
def test_importing_a_family_loads_no_heavy_library(family):
    code = (f"import sys, imgstudio.ops.{family}; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
