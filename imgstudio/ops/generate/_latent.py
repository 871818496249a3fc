"""What the GAN and VAE generate ops (and their training ops' previews) share: seeded latent
batches, a sample grid filled in as samples come, and making an editor image look like a
model's training data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from imgstudio.core.progress import Progress

#: Samples made per forward pass: small enough that the editor sees the grid fill in, large
#: enough that the per-call overhead stays a few per cent of the work.
CHUNK = 16


def check_count(count: int, name: str = "count", lo: int = 1, hi: int = 1024) -> int:
    """``count`` as an int in [``lo``, ``hi``]; ``ValueError`` naming ``name`` otherwise."""
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or not lo <= count <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}]; got {count!r}")
    return int(count)


def latents(count: int, z_dim: int, seed: int) -> np.ndarray:
    """``(count, z_dim)`` float32 standard normal latents from NumPy's PCG64 seeded by
    ``seed``. Row ``i`` does not depend on ``count``: asking for fewer samples gives the first
    ones of a larger request."""
    rng = np.random.default_rng(int(seed))
    return rng.standard_normal((int(count), int(z_dim)), dtype=np.float32)


def columns_for(count: int) -> int:
    """The grid's width in cells: the square root of ``count``, rounded up."""
    return int(np.ceil(np.sqrt(count)))


class GridFiller:
    """A ``count``-cell grid of ``size``×``size`` grey uint8 samples (1-pixel black gaps,
    :func:`imgstudio.ops._training.grid`'s layout), pasted in as they come and reported to
    ``progress`` as ``"sample"`` with ``{"index", "count", "image"}`` (a copy of the grid so
    far)."""

    def __init__(self, count: int, size: int, columns: int | None = None, pad: int = 1) -> None:
        self.count, self.size, self.pad = int(count), int(size), int(pad)
        self.columns = int(columns or columns_for(count))
        rows = -(-self.count // self.columns)
        self.image = np.zeros((rows * (size + pad) - pad, self.columns * (size + pad) - pad),
                              np.uint8)

    def put(self, index: int, sample: np.ndarray) -> None:
        r, c = divmod(int(index), self.columns)
        y, x = r * (self.size + self.pad), c * (self.size + self.pad)
        self.image[y:y + self.size, x:x + self.size] = sample

    def fill(self, make: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray,
             progress: Progress, what: str = "sample") -> np.ndarray:
        """Run ``make`` on ``inputs`` in chunks of :data:`CHUNK` rows (it returns uint8
        ``(n, size, size)``), paste and report each sample; returns the grid."""
        done = 0
        while done < self.count:
            batch = make(inputs[done:done + CHUNK])
            for sample in batch:
                self.put(done, sample)
                done += 1
                progress.report("sample", {"index": done - 1, "count": self.count,
                                           "image": self.image.copy()})
            progress(done / self.count, f"{what} {done}/{self.count}")
        return self.image


def to_uint8_images(batch: Any) -> np.ndarray:
    """A torch ``(n, 1, s, s)`` batch in [0, 1] as uint8 ``(n, s, s)``."""
    x = batch.detach().cpu().numpy()[:, 0]
    return np.clip(np.rint(x * np.float32(255.0)), 0, 255).astype(np.uint8)


def like_training(image: np.ndarray, size: int, background: str = "dark") -> np.ndarray:
    """An editor image as a model input: ``(size, size)`` float32 grey in [0, 1] with the
    training data's polarity.

    1. grey: BT.601 luma of the [0, 1] values (alpha ignored);
    2. polarity: when the border's median brightness is on the other side of 0.5 from the
       training data's background (``"dark"``: bright strokes on black, as the digits and
       Fashion-MNIST; ``"light"``), the image is inverted;
    3. padded to a square with the border's median value, keeping the aspect ratio;
    4. resized to ``size`` as the training data were: ``cv2.INTER_AREA`` when shrinking,
       ``cv2.INTER_LINEAR`` when enlarging.
    """
    import cv2

    from imgstudio.ops._pixels import grey_unit

    grey = grey_unit(image, np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if (np.median(border) > 0.5) != (background == "light"):
        grey = 1.0 - grey
    h, w = grey.shape
    if h != w:
        fill = float(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))
        side = max(h, w)
        square = np.full((side, side), fill, np.float32)
        square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = grey
        grey = square
    if grey.shape[0] != size:
        inter = cv2.INTER_AREA if grey.shape[0] > size else cv2.INTER_LINEAR
        grey = cv2.resize(grey, (size, size), interpolation=inter)
    return np.clip(grey, 0.0, 1.0).astype(np.float32)
