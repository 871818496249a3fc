"""Binary and morphology operations: thresholds, morphology, mask clean-up, objects, blobs.

"Binary input" means an Image that is 0 and one other value (0/1, 0/255, 0/65535, 0.0/1.0),
foreground where any colour channel is non-zero; ops for which that matters (hit-or-miss,
skeletonize, fill holes, remove small, granulometry) reject other images with a
``ValueError`` naming ``image``. Others (distance transform, label) take any image as
``image > 0``, and the thresholds take any grey or colour image. Masks and labels come back as
int32 Labels. cv2, scikit-image, SciPy and SimpleITK are imported inside the functions.
"""

from imgstudio.ops.binary.morphology import (
    distance_transform,
    granulometry,
    hit_or_miss,
    morphology,
    parse_pattern,
    reconstruct,
)
from imgstudio.ops.binary.objects import (
    Blobs,
    Components,
    blobs,
    fill_holes,
    label,
    remove_small,
    skeletonize,
)
from imgstudio.ops.binary.threshold import adaptive_threshold, threshold, threshold_value

__all__ = [
    "Blobs", "Components", "adaptive_threshold", "blobs", "distance_transform", "fill_holes",
    "granulometry", "hit_or_miss", "label", "morphology", "parse_pattern", "reconstruct",
    "remove_small", "skeletonize", "threshold", "threshold_value",
]
