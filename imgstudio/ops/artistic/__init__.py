"""Artistic effects: cartoon, sketches, painterly filters, stained glass, long exposure.

Every function takes an ``Image`` first (``long_exposure``: a list of frames or a video path)
and keyword-only parameters, never mutates its input and returns the input's dtype unless its
docstring says otherwise. OpenCV, scikit-image and SciPy are imported inside the functions so
that discovering operations stays cheap.
"""

from imgstudio.ops.artistic.cartoon import cartoon, cartoon_anisotropic
from imgstudio.ops.artistic.exposure import long_exposure
from imgstudio.ops.artistic.paint import stained_glass, stylize
from imgstudio.ops.artistic.sketch import (
    pencil,
    sketch_anisotropic,
    sketch_dodge,
    sketch_dog,
    sketch_xdog,
)

__all__ = [
    "cartoon", "cartoon_anisotropic", "long_exposure", "pencil", "sketch_anisotropic",
    "sketch_dodge", "sketch_dog", "sketch_xdog", "stained_glass", "stylize",
]
