"""``imgstudio run train.vae ...`` headless: a progress bar on standard error, the model in the
store, and a first Ctrl-C that stops the training cleanly, keeps the checkpoint of the last
finished epoch (named in the message) and exits 130; ``-p resume=true`` continues from it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("torch")


def _env(tmp_path) -> dict[str, str]:
    return dict(os.environ, IMGSTUDIO_MODELS=str(tmp_path / "models"),
                XDG_DATA_HOME=str(tmp_path / "data"), TORCH_HOME=str(tmp_path / "torch"),
                IMGSTUDIO_TORCH_THREADS="1", OMP_NUM_THREADS="1",
                IMGSTUDIO_LOG_DIR=str(tmp_path / "logs"))


def _cmd(*params: str) -> list[str]:
    return [sys.executable, "-m", "imgstudio", "run", "train.vae", "-p", "dataset=digits",
            "-p", "limit=64", "-p", "batch_size=32", *(x for p in params for x in ("-p", p))]


def _checkpoint(path):
    import torch

    return torch.load(str(path), map_location="cpu", weights_only=True)


def test_headless_training_shows_progress_and_registers_the_model(tmp_path):
    out = tmp_path / "vae.pt"
    proc = subprocess.run(_cmd("epochs=2", f"output={out}", "name=cli-vae", "seed=3"),
                          capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 2/2" in proc.stderr and "%]" in proc.stderr  # the bar's last line
    result = json.loads(proc.stdout)
    assert result["name"] == "cli-vae" and result["epochs"] == 2
    assert result["losses"]["columns"]["epoch"] == [1, 2]
    assert out.is_file() and (tmp_path / "models" / "cli-vae.json").is_file()
    card = json.loads((tmp_path / "models" / "cli-vae.json").read_text())
    assert card["training"]["seed"] == 3 and card["training"]["epochs"] == 2


def test_ctrl_c_keeps_the_checkpoint_and_resume_continues(tmp_path):
    out = tmp_path / "vae.pt"
    ckpt = tmp_path / "vae.pt.ckpt"
    proc = subprocess.Popen(_cmd("epochs=10000", f"output={out}"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(tmp_path),
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not ckpt.is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ckpt.is_file(), proc.communicate(timeout=5)[1]
        time.sleep(0.3)  # into a later epoch
        os.killpg(proc.pid, signal.SIGINT)
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=30)
        stopped_in = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert stopped_in < 5.0
    assert f"the checkpoint {ckpt}" in err and "resume=True" in err
    assert "Traceback" not in err
    assert not out.exists()  # no model: the training did not finish
    state = _checkpoint(ckpt)
    done = int(state["epoch"])
    assert done >= 1 and state["history"]["epoch"] == list(range(1, done + 1))

    resumed = subprocess.run(_cmd(f"epochs={done + 1}", f"output={out}", "resume=true"),
                             capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    losses = json.loads(resumed.stdout)["losses"]["columns"]
    assert losses["epoch"] == list(range(1, done + 2))
    assert losses["loss"][:done] == pytest.approx(state["history"]["loss"])
