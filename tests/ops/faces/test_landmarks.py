"""faces.landmarks (imgstudio.ops.faces.landmarks): the 5- and 68-point dlib models on her face."""

from __future__ import annotations

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.ops import faces
from imgstudio.ops.faces import _models
from tests.ops.faces.helpers import EYE_BOX, noise

EYES_BY_EYE = np.array([[203.0, 101.0], [247.0, 104.0]])
MOUTH_BY_EYE = np.array([223.0, 145.0])


# -- faces.landmarks --------------------------------------------------------------------------


def test_landmarks68_lie_on_her_face(p68):
    assert p68.shape == (68, 2) and p68.dtype == np.float64
    margin = 0.1 * (EYE_BOX[2:] - EYE_BOX[:2])
    assert np.all(p68 >= EYE_BOX[:2] - margin) and np.all(p68 <= EYE_BOX[2:] + margin)
    eyes = np.array(_models.eye_centres_68(p68))
    mouth = p68[48:68].mean(axis=0)
    assert np.abs(eyes - EYES_BY_EYE).max() <= 4  # measured (203.2, 101.5), (246.5, 104.2)
    assert np.abs(mouth - MOUTH_BY_EYE).max() <= 4  # measured (223.3, 145.5)
    assert eyes[:, 1].max() < p68[33, 1] < mouth[1]  # eyes above the nose above the mouth
    assert p68[8, 1] > mouth[1]  # chin below the mouth


def test_landmarks5_match_the_68_point_eye_corners_and_nose(p68, p5):
    assert p5.shape == (5, 2)
    # measured distances 1.0, 1.4, 0.0, 1.0, 1.0 px
    assert np.linalg.norm(p5 - p68[[45, 42, 36, 39, 33]], axis=1).max() <= 3


@pytest.mark.parametrize("kind", ["uint16", "float32"])
def test_landmarks_do_not_depend_on_dtype(astro, p68, kind):
    image = astro.astype(np.uint16) * 257 if kind == "uint16" else astro.astype(np.float32) / 255
    assert np.array_equal(api.run("faces.landmarks", image), p68)


def test_landmarks_no_face_found():
    with pytest.raises(ValueError, match="no face found"):
        api.run("faces.landmarks", noise())
    with pytest.raises(ValueError, match="no face found"):
        api.run("faces.landmarks", np.full((100, 100), 128, np.uint8), model=5)


def test_landmarks_bad_params(astro):
    with pytest.raises(ValueError, match="face"):
        api.run("faces.landmarks", astro, face=1)  # she is the only face
    with pytest.raises(ValueError, match="model"):
        api.run("faces.landmarks", astro, model=7)
    with pytest.raises(ValueError, match="detector"):
        faces.landmarks(astro, detector="dnn")
