"""The one image-size guard: checked from a file's header before decoding, and by operations
whose output size is a parameter, before anything is allocated.

The limit is ``$IMGSTUDIO_MAX_PIXELS`` (pixels per image, or per volume for 3-D medical files),
by default 400 million — a 20 000 × 20 000 image, 1.2 GB as 8-bit RGB. Larger images are for
tiled processing (``imgstudio run --tiles``), not for holding whole in memory.
"""

from __future__ import annotations

import os

DEFAULT_MAX_PIXELS = 400_000_000
ENV = "IMGSTUDIO_MAX_PIXELS"


class ImageTooLargeError(ValueError):
    """An image (to be read, or to be made by an operation) exceeds the pixel limit."""


def max_pixels() -> int:
    """The limit in force: ``$IMGSTUDIO_MAX_PIXELS`` or :data:`DEFAULT_MAX_PIXELS`."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return DEFAULT_MAX_PIXELS
    try:
        limit = int(float(value))
    except ValueError:
        raise ValueError(f"{ENV} must be a number of pixels; got {value!r}") from None
    if limit < 1:
        raise ValueError(f"{ENV} must be >= 1; got {value!r}")
    return limit


def _size(n: float) -> str:
    for unit, scale in (("GP", 1e9), ("MP", 1e6)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} pixels"


def check_pixels(*dims: int, what: str, channels: int = 1, itemsize: int = 1) -> None:
    """Raise :class:`ImageTooLargeError` when an image of ``dims`` (height, width[, depth])
    has more pixels than :func:`max_pixels` allows, or a dimension is not positive.

    ``what`` names the file or parameter in the message; ``channels`` and ``itemsize`` only
    make the message say how much memory it would have taken.
    """
    dims = tuple(int(d) for d in dims)
    if any(d <= 0 for d in dims):
        raise ValueError(f"{what}: image size {' × '.join(map(str, dims))} is not positive")
    pixels = 1
    for d in dims:
        pixels *= d
    limit = max_pixels()
    if pixels > limit:
        gib = pixels * channels * itemsize / 2**30
        raise ImageTooLargeError(
            f"{what}: image of {' × '.join(map(str, dims))} pixels ({_size(pixels)}, "
            f"{gib:.3g} GiB in memory) exceeds the limit of {_size(limit)}; set {ENV} to "
            "raise it")
