"""Parameter types that operations of several families declare alike: the shared vocabulary
(same name, type, range) of style.md.

Each is an ``Annotated`` alias or a ``Literal``, so an op's type hints, spec (kind, range,
choices) and form are exactly those of the annotation written out; defaults stay in the
signatures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from imgstudio.core.types import Range

#: ``seed``: the seed of an op's random generator; the same seed gives the same output.
Seed = Annotated[int, Range(0, 2**31 - 1)]

#: ``kappa``: the edge threshold of Perona–Malik diffusion, in 8-bit grey levels.
Kappa = Annotated[float, Range(1.0, 255.0)]

#: An intensity on the 8-bit scale (0-255) whatever the image's dtype: thresholds and levels
#: mean the same for uint8, uint16 and float32 images (see ``_pixels.from_8bit_level``).
Level8 = Annotated[float, Range(0.0, 255.0)]

#: ``wavelet``: the discrete wavelets (PyWavelets names) of the wavelet transforms.
Wavelet = Literal["haar", "db2", "db4", "db6", "db8", "sym4", "sym8", "coif1", "coif3",
                  "bior2.2", "bior4.4", "rbio2.2"]

__all__ = ["Kappa", "Level8", "Seed", "Wavelet", "user_path"]


def user_path(value: object, param: str) -> Path:
    """A path parameter with ``~`` expanded; ``ValueError`` naming ``param`` when it names a
    home folder that does not exist (``~nobody-here/x``: ``Path.expanduser`` raises
    ``RuntimeError`` for it)."""
    try:
        return Path(str(value)).expanduser()
    except RuntimeError:
        raise ValueError(f"{param}: cannot expand the home folder in {str(value)!r}") from None
