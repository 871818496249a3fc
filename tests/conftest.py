"""Shared test set-up: headless Qt, small sample images."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _private_user_data(tmp_path_factory):
    """No test writes into the real user's data folders: the model store's user folder
    (``$XDG_DATA_HOME/imgstudio/models``, where a training with no ``output`` registers its model)
    and the torch hub cache point into a session temporary folder, for child processes too."""
    root = tmp_path_factory.mktemp("user-data")
    saved = {k: os.environ.get(k) for k in ("XDG_DATA_HOME", "TORCH_HOME")}
    os.environ["XDG_DATA_HOME"] = str(root / "data")
    os.environ["TORCH_HOME"] = str(root / "torch")
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def astronaut_small() -> np.ndarray:
    """A 64×96 RGB uint8 crop of skimage's astronaut: real content, fast to process."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[40:232:3, 100:388:3])


@pytest.fixture
def png(tmp_path, astronaut_small):
    """``astronaut_small`` saved as ``photo.png`` in the test's temporary folder."""
    from imgstudio.core.io import save_image

    path = tmp_path / "photo.png"
    save_image(path, astronaut_small)
    return path


@pytest.fixture(autouse=True)
def _private_recovery_dir(tmp_path, monkeypatch):
    """Autosave writes crash-recovery files; keep each test's in its own temporary folder."""
    monkeypatch.setenv("IMGSTUDIO_RECOVERY_DIR", str(tmp_path / "recovery"))
    # and crash logs (imgstudio.core.crashlog) in it too, never in the real home folder
    monkeypatch.setenv("IMGSTUDIO_LOG_DIR", str(tmp_path / "logs"))


@pytest.fixture
def models(tmp_path, monkeypatch):
    """An empty private model store: no user folder, no torch hub cache, nothing loaded."""
    from imgstudio.models import store

    monkeypatch.setenv("IMGSTUDIO_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    store.forget()
    yield tmp_path
    store.forget()
