"""Basic image operations: colour, tone, geometry and colour selection.

Every function takes an ``Image`` first and keyword-only parameters, never mutates its input and
returns the input's dtype unless its docstring says otherwise. OpenCV, scikit-image, SciPy and
scikit-learn are imported inside the functions so that discovering operations stays cheap.
"""

from imgstudio.ops.basic.color import color_mask, convert_color, grayscale, quantize
from imgstudio.ops.basic.tone import brightness_contrast, gamma, invert, levels
from imgstudio.ops.basic.transform import affine, crop, elastic, flip, perspective, resize, rotate

__all__ = [
    "affine", "brightness_contrast", "color_mask", "convert_color", "crop", "elastic", "flip",
    "gamma", "grayscale", "invert", "levels", "perspective", "quantize", "resize", "rotate",
]
