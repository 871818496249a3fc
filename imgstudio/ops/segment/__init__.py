"""Segmentation operations: thresholds, watersheds, seeded and clustering segmentations.

Every op takes an ``Image`` first, ignores alpha, never mutates its inputs and returns int32
Labels (0 = unlabelled) or a Result whose first field is such Labels. Heavy libraries (OpenCV,
scikit-image, SciPy, scikit-learn, SimpleITK) are imported inside the functions.

Modules: ``threshold`` (otsu, riddler_calvard), ``watershed`` (watershed, watershed_markers,
sitk_watershed and the marker helpers), ``interactive`` (random_walker, grabcut, region_grow),
``cluster`` (kmeans, gmm, fuzzy_cmeans, mean_shift), ``som`` and ``superpixels`` (slic,
rag_merge), ``deep`` (semantic, mask_rcnn: torchvision networks with weights from the model
store; torch is imported only when they run).
"""

from imgstudio.ops.segment.cluster import (
    FuzzyCMeansResult,
    MeanShiftResult,
    fuzzy_cmeans,
    gmm,
    kmeans,
    mean_shift,
)
from imgstudio.ops.segment.deep import Semantic, mask_rcnn, semantic
from imgstudio.ops.segment.interactive import grabcut, random_walker, region_grow
from imgstudio.ops.segment.som import SomResult, som
from imgstudio.ops.segment.superpixels import rag_merge, slic
from imgstudio.ops.segment.threshold import otsu, riddler_calvard
from imgstudio.ops.segment.watershed import (
    markers_from_points,
    propose_markers,
    sitk_watershed,
    watershed,
    watershed_markers,
)

__all__ = [
    "FuzzyCMeansResult", "MeanShiftResult", "Semantic", "SomResult", "fuzzy_cmeans", "gmm",
    "grabcut", "kmeans", "markers_from_points", "mask_rcnn", "mean_shift", "otsu",
    "propose_markers", "rag_merge", "random_walker", "region_grow", "riddler_calvard",
    "semantic", "sitk_watershed", "slic", "som", "watershed", "watershed_markers",
]
