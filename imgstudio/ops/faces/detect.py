"""faces.detect: frontal faces with dlib's HOG detector, dlib's MMOD CNN or OpenCV's Haar cascade."""

from __future__ import annotations

from typing import Annotated

from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import Boxes, Image, Range, check_image
from imgstudio.ops._pixels import token
from imgstudio.ops.faces._models import Detector, detect_faces, to_rgb8


@operation("faces.detect", title="Detect faces", menu="Faces")
def detect(
    image: Image,
    *,
    detector: Detector = "hog",
    upsample: Annotated[int, Range(0, 2)] = 1,
    threshold: Annotated[float, Range(-1.0, 10.0, step=0.05)] = 0.5,
    progress: Progress | None = None,
) -> Boxes:
    """Find frontal faces and return their boxes, most confident first.

    The detector sees an 8-bit RGB copy of the image (gray replicated, alpha ignored).

    Parameters
    ----------
    image : (H, W[, 3|4]) ndarray
        Input image.
    detector : {"hog", "cnn", "haar"}
        ``hog``: dlib's frontal face detector (HOG + linear SVM), fast. ``cnn``: dlib's MMOD
        CNN (``mmod_human_face_detector.dat``), more robust to pose and light, but slow on a
        CPU (about 10 s and 1 GB of memory per megapixel scanned, i.e. per MP × 4**upsample;
        more than 4 MP is refused) and not interruptible while it runs. ``haar``:
        OpenCV's ``haarcascade_frontalface_default.xml`` with ``detectMultiScale3``
        (scale factor 1.1, at least 3 neighbours).
    upsample : int
        Find smaller faces: dlib doubles the image this many times (its HOG window is 80 px,
        so faces down to ~80 / 2**upsample px; each step costs about four times the time).
        For ``haar`` it sets the smallest face looked for the same way (``minSize`` 80, 40,
        20 px; the cascade's own 24-px window is reached by doubling the image), so the
        cascade does not fire on 24-px texture at the default.
    threshold : float
        Boxes scoring below it are dropped. Scores are each detector's own confidence, 0 being
        (about) its decision boundary: ``hog`` — the SVM margin (clear faces ≳ 1);
        ``cnn`` — the MMOD confidence (clear faces ≈ 1; dlib reports only scores above 0, so
        a negative threshold acts as 0); ``haar`` — OpenCV's level weight of the grouped
        detection, i.e. the sum of the cascade's last stage (a window passes the cascade at
        about −3; frontal faces measured 3.9–10.8 on LFW, false detections below 0). The
        default 0.5 keeps her face on ``skimage.data.astronaut()`` (hog 1.16, cnn 1.07,
        haar 5.8) and drops the HOG detector's weak hit on her suit (0.12).
    progress : Progress, optional
        Progress and cancellation (HOG and Haar runs are cancelled within 50 ms).

    Returns
    -------
    Boxes
        ``xyxy`` in pixels (x1, y1 exclusive, clipped to the image), ``scores`` as above,
        every label ``"face"``.
    """
    image = check_image(image)
    progress = token(progress)
    progress(0.0, f"detecting faces ({detector})")
    faces = detect_faces(to_rgb8(image), detector, upsample, threshold, progress)
    progress(1.0, f"{len(faces)} face(s)")
    return Boxes(
        xyxy=[f.xyxy for f in faces],
        scores=[f.score for f in faces],
        labels=["face"] * len(faces),
    )
