"""The face models (imgstudio.ops.faces._models): found on disk and loaded once."""

from __future__ import annotations

from imgstudio.ops.faces import _models


def test_models_are_loaded_once():
    first = _models.load_model("landmarks5")
    assert _models.load_model("landmarks5") is first
    assert str(_models.model_path("landmarks5")).endswith("shape_predictor_5_face_landmarks.dat")
