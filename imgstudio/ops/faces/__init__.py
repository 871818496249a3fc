"""Face operations: detection, landmarks, alignment, morphing, embeddings, recognition and
accessories, on dlib (HOG and MMOD CNN detectors, shape predictors, ResNet descriptors; model
files from ``face_recognition_models``) and OpenCV (Haar cascade, warps).

dlib, OpenCV and SciPy are imported inside the functions; loaded models are cached per process
in :mod:`imgstudio.ops.faces._models`. Licence note: dlib's 68-point landmark model was trained
on iBUG 300-W, whose images are for non-commercial research use only (``faces.landmarks`` with
``model=68``, ``faces.morph`` with detected points, ``faces.overlay`` with ``anchor="mouth"``).
"""

from imgstudio.ops.faces.align import align
from imgstudio.ops.faces.detect import detect
from imgstudio.ops.faces.landmarks import landmarks
from imgstudio.ops.faces.morph import (
    add_border_points,
    average_shape,
    delaunay_triangles,
    morph,
    morph_frame,
    morph_sequence,
)
from imgstudio.ops.faces.overlay import overlay
from imgstudio.ops.faces.recognize import embed, recognize

__all__ = [
    "add_border_points", "align", "average_shape", "delaunay_triangles", "detect", "embed",
    "landmarks", "morph", "morph_frame", "morph_sequence", "overlay", "recognize",
]
