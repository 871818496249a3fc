"""Known answers and measures shared by the face-operation tests (imported by name).

Known answers come from ``skimage.data.astronaut()`` (Eileen Collins). Her face box was read
by eye off a 10-px grid drawn over the image: cheeks x 180–272, hairline y 75 to chin y 183;
her eye centres are near (203, 101) and (247, 104), her mouth near (223, 145). The only other
human face shipped with scikit-image is ``skimage.data.camera()`` (the cameraman, looking
down into his camera): dlib's HOG detector does not find him (best score −0.1), the CNN does
(1.1), so every "different person" check uses the CNN on a crop of his head."""

from __future__ import annotations

import cv2
import numpy as np

EYE_BOX = np.array([180.0, 75.0, 272.0, 183.0])  # her face, by eye (see the module docstring)


def similarity(image: np.ndarray, angle: float, scale: float, shift=(0.0, 0.0)) -> np.ndarray:
    """``image`` rotated by ``angle`` degrees and scaled about its centre, then shifted."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += shift
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def iou(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def noise(h=64, w=64, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
