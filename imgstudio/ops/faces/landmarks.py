"""faces.landmarks: dlib's 68- or 5-point shape predictor on a detected face."""

from __future__ import annotations

from typing import Literal

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Image, Points, check_image
from imgstudio.ops._pixels import token
from imgstudio.ops.faces._models import Detector, FaceIndex, face_points


@operation("faces.landmarks", title="Face landmarks", menu="Faces")
def landmarks(
    image: Image,
    *,
    model: Literal[68, 5] = 68,
    face: FaceIndex = 0,
    detector: Detector = "hog",
    progress: Progress | None = None,
) -> Points:
    """Locate facial landmarks (68 or 5 points) on one detected face.

    Faces are found as by ``faces.detect`` with its defaults (upsample 1, threshold 0.5) and
    ordered most confident first; dlib's shape predictor then places the points in the box.

    Licence: the 68-point model (``shape_predictor_68_face_landmarks.dat``) was trained on
    the iBUG 300-W data set, whose images are licensed for non-commercial research only —
    do not use ``model=68`` in a commercial product without checking that licence. The
    5-point model was trained on images annotated by dlib's author and released with the
    model files into the public domain (see github.com/davisking/dlib-models).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image (gray is replicated, alpha ignored).
    model : {68, 5}
        ``68``: the iBUG 300-W layout — jaw 0–16, brows 17–26, nose 27–35, the subject's
        right eye 36–41 (on the left of a frontal photo), left eye 42–47, mouth 48–67.
        ``5``: eye corners (0, 1: the eye on the image's right, outer then inner; 2, 3: the
        other eye, outer then inner) and the base of the nose (4).
    face : int
        Which face: 0 is the most confident detection, 1 the next...
    detector : {"hog", "cnn", "haar"}
        Face detector (see ``faces.detect``); ``cnn`` finds turned or badly lit faces the
        HOG detector misses, slowly.
    progress : Progress, optional
        Progress and cancellation.

    Returns
    -------
    (N, 2) ndarray
        Float ``(x, y)`` pixel coordinates, N = 68 or 5.

    Raises
    ------
    ValueError
        "no face found" when the detector finds none; ``face`` beyond the faces found.
    """
    image = check_image(image)
    if model not in (68, 5):
        raise ValueError(f"model must be 68 or 5; got {model!r}")
    progress = token(progress)
    progress(0.0, "detecting faces")
    points = face_points(image, model=model, face=face, detector=detector, progress=progress)
    progress(1.0, f"{len(points)} landmarks")
    return points
