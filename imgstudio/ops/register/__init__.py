"""Registration: align a moving image onto a fixed one, and stitch overlapping images.

- :func:`register_sitk` (``register.sitk``): intensity-based, SimpleITK, multi-modal metrics.
- :func:`register_ecc` (``register.ecc``): OpenCV's enhanced correlation coefficient.
- :func:`register_features` (``register.features``): keypoints, ratio test, RANSAC homography.
- :func:`stitch` (``register.stitch``): OpenCV's stitching pipeline (panorama or scans).

Registration results are :class:`~imgstudio.core.types.Registered` (or subclasses): the moving
image resampled onto the fixed grid and the 3×3 matrix mapping a moving point ``(x, y, 1)``
onto the fixed image. SimpleITK and OpenCV are imported inside the functions.
"""

from imgstudio.ops.register.ecc import EccRegistered, register_ecc
from imgstudio.ops.register.features import FeaturesRegistered, register_features
from imgstudio.ops.register.sitk import SitkRegistered, register_sitk
from imgstudio.ops.register.stitch import stitch

__all__ = [
    "EccRegistered", "FeaturesRegistered", "SitkRegistered", "register_ecc", "register_features",
    "register_sitk", "stitch",
]
