"""What ``train.vae`` and ``train.gan`` share: checking their parameters, loading the dataset
as a grey tensor, seeded mini-batches and a distance that says how much samples look like the
data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imgstudio.ops import _training as tr

#: The image side a dataset trains at when ``size`` is automatic.
DEFAULT_SIZE = {"digits": 16, "fashion_mnist": 28}
FOLDER_SIZE = 32


@dataclass
class Data:
    """The training images as a torch tensor ``(N, 1, s, s)`` in [0, 1], with the dataset's
    card text and the brightness of its background (``"dark"`` or ``"light"``)."""

    x: Any
    size: int
    description: str
    background: str


def check_common(*, epochs: int, batch_size: int, learning_rate: float, z_dim: int,
                 size: int | None, limit: int | None, name: str,
                 output: Path | None) -> Path:
    """The checks both ops make before any work (each ``ValueError`` names its parameter);
    returns the weights file to write."""
    for pname, value, lo in (("epochs", epochs, 1), ("batch_size", batch_size, 1),
                             ("z_dim", z_dim, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < lo:
            raise ValueError(f"{pname} must be an integer >= {lo}; got {value!r}")
    if not isinstance(learning_rate, (int, float)) or not math.isfinite(learning_rate) \
            or not 0 < learning_rate <= 1:
        raise ValueError(f"learning_rate must be in (0, 1]; got {learning_rate!r}")
    if size is not None and (not isinstance(size, (int, np.integer)) or not 8 <= size <= 128
                             or size % 4):
        raise ValueError(f"size must be a multiple of 4 in [8, 128] (two stride-2 layers "
                         f"halve it twice); got {size!r}")
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 2):
        raise ValueError(f"limit must be at least 2 images; got {limit!r}")
    return tr.weights_output(output, name)


def load(dataset: str, size: int | None, limit: int | None) -> Data:
    """The dataset as grey ``(N, 1, s, s)`` float32 torch images."""
    from imgstudio.models import loading

    if not isinstance(dataset, str) or not dataset.strip():
        raise ValueError(f"dataset must be one of {', '.join(tr.BUILTIN)} or a folder of "
                         f"images; got {dataset!r}")
    side = int(size) if size is not None else DEFAULT_SIZE.get(dataset.strip(), FOLDER_SIZE)
    images = tr.load_images(dataset, size=side, limit=None if limit is None else int(limit))
    x = images.x
    if len(x) < 2:
        raise ValueError(f"dataset: {images.description} has {len(x)} image; training needs "
                         "at least 2")
    border = np.concatenate([x[:, 0].ravel(), x[:, -1].ravel(), x[:, :, 0].ravel(),
                             x[:, :, -1].ravel()])
    background = "light" if float(np.median(border)) > 0.5 else "dark"
    description = images.description + (f", the first {len(x)}" if limit is not None else "") \
        + f", at {side}×{side} grey"
    torch = loading.torch("training")
    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)[:, None])
    return Data(tensor, side, description, background)


def batches(n: int, batch_size: int, generator: Any, smallest: int = 1) -> list[Any]:
    """A seeded shuffle of ``range(n)`` cut into batches of ``batch_size``; a last batch
    smaller than ``smallest`` is dropped (batch normalisation needs two samples)."""
    import torch

    order = torch.randperm(n, generator=generator)
    out = list(torch.split(order, min(int(batch_size), n)))
    if len(out) > 1 and len(out[-1]) < smallest:
        out.pop()
    return out


def nearest_distance(samples: Any, reference: Any) -> float:
    """Mean over ``samples`` of the Euclidean distance (pixels in [0, 1]) to the nearest
    ``reference`` image: low when every sample looks like some training image."""
    import torch

    a = samples.reshape(len(samples), -1).double()
    b = reference.reshape(len(reference), -1).double()
    return float(torch.cdist(a, b).min(dim=1).values.mean())
