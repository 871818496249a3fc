"""Helpers shared by the core tests (imported by name): random images and a one-layer document
with its history, small images for the image-file tests, a listener that records its calls,
and the comparison of replayed layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.history import History
from imgstudio.core.io import save_image
from imgstudio.core.recipe import LayerRef, RecordedStep

# -- documents and their history (test_commands.py, test_history.py) ---------------------------


def _image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.float32:
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def _doc(data, cls=ImageLayer):
    layer = cls(data.copy(), "base")
    doc = Document([layer])
    return doc, layer, History(doc)


def _edited(data, y0, y1, x0, x1, seed=1):
    new = data.copy()
    new[y0:y1, x0:x1] = _image(new[y0:y1, x0:x1].shape, data.dtype, seed)
    return new


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(args)


def _step(layer, op_id: str, params: dict | None = None) -> RecordedStep:
    """A recorded in-place op call on ``layer``."""
    return RecordedStep(op_id, params or {}, {"image": LayerRef(layer.id, layer.name)},
                        layer.name, ((None, layer.id),))


# -- image files (test_io.py, test_io_medical.py) -------------------------------------------------

SHAPE = (12, 17)
CHANNELS = {"gray": (), "rgb": (3,), "rgba": (4,)}


def make_image(dtype: str, channels: str, *, seed: int = 0) -> np.ndarray:
    """A small random image spanning the dtype's range (float32 in [0, 1), int16 signed)."""
    rng = np.random.default_rng(seed)
    shape = SHAPE + CHANNELS[channels]
    if dtype == "float32":
        return rng.random(shape, dtype=np.float32)
    if dtype == "int16":
        return rng.integers(-1024, 3072, shape, dtype=np.int16)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _write_valid(path: Path) -> None:
    """Write a valid 64 x 64 image whose pixel data dominates the file size."""
    rng = np.random.default_rng(1)
    if path.suffix == ".dcm":
        import SimpleITK as sitk

        image = rng.integers(0, 4096, (64, 64), dtype=np.uint16)
        sitk.WriteImage(sitk.GetImageFromArray(image), str(path))
    else:
        save_image(path, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))


# -- recipe replays (test_recipe_every_op.py, test_recipe_sessions.py) ----------------------------


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return [s.to_json() for s in a] == [s.to_json() for s in b]


def _round_trip(history, layer, original, command, new) -> None:
    """Execute ``command``, then undo and redo it, checking ``layer``'s pixels each time."""
    history.execute(command)
    np.testing.assert_array_equal(layer.data, new)
    history.undo()
    np.testing.assert_array_equal(layer.data, original)
    history.redo()
    np.testing.assert_array_equal(layer.data, new)
