"""Face operations (imgstudio.ops.faces) as a family: catalog, summaries and menus, cheap
import."""

from __future__ import annotations

import imgstudio.api as api

CATALOG = {  # id: (layer inputs, catalog parameters with their defaults)
    "faces.detect": (["image"], {"detector": "hog", "upsample": 1, "threshold": 0.5}),
    "faces.landmarks": (["image"], {"model": 68}),
    "faces.align": (["image", "reference"], {"size": 256, "padding": 0.25}),
    "faces.morph": (["image", "other", "points_a", "points_b"], {"frames": 20, "alpha": 0.5}),
    "faces.embed": (["image"], {}),
    "faces.recognize": (["image"], {"gallery": None, "tolerance": 0.6}),
    "faces.overlay": (["image", "overlay"], {"anchor": "eyes", "scale": 1.0}),
}
ADDED = {"face": 0, "detector": "hog"}  # parameters added beyond the catalog (with defaults)


# -- catalog and module contracts -------------------------------------------------------------


def test_catalog_ids_inputs_parameter_names_and_defaults():
    specs = {s.id: s for s in api.list_operations() if s.family == "faces"}
    assert set(specs) == set(CATALOG)
    for op_id, (inputs, params) in CATALOG.items():
        spec = specs[op_id]
        assert [i.name for i in spec.inputs] == inputs, op_id
        names = {p.name for p in spec.params}
        assert set(params) <= names and names - set(params) <= set(ADDED), op_id
        for name, default in params.items():
            if default is not None:
                assert spec.param(name).default == default, (op_id, name)
        for name in names - set(params):
            assert spec.param(name).default == ADDED[name], (op_id, name)
    assert specs["faces.detect"].param("detector").choices == ("hog", "cnn", "haar")
    assert specs["faces.landmarks"].param("model").choices == (68, 5)
    assert specs["faces.overlay"].param("anchor").choices == ("eyes", "nose", "mouth")
    assert specs["faces.recognize"].param("gallery").kind == "path"
    assert specs["faces.align"].input("reference").optional
    assert specs["faces.morph"].input("points_a").optional


def test_every_faces_op_has_summary_menu_and_progress():
    for spec in api.list_operations():
        if spec.family == "faces":
            assert spec.menu == "Faces" and spec.takes_progress, spec.id
            assert spec.summary and not spec.summary.endswith(":"), spec.id

