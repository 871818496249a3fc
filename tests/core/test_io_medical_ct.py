"""Signed 16-bit CT data (DICOM, NRRD, NIfTI, MetaImage) loads by the documented rule, int16
→ uint16 + 32768, and then works with the document model, the operations and the CLI (which
also writes DICOM)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import imgstudio.api as api
from imgstudio.core.document import Document, ImageLayer
from imgstudio.core.io import load_image, save_image
from imgstudio.core.recipe import Recipe, RecipeStep, save_recipe

SHIFT = 32768


def ct_slice() -> np.ndarray:
    """A CT-like axial slice in Hounsfield units: air around a soft-tissue body (40 HU) with
    lungs (-800 HU), a bone ring (1000 HU) and noise; values span -1024..3071."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[-1:1:96j, -1:1:128j]
    hu = np.full(yy.shape, -1000.0)
    body = (xx / 0.9) ** 2 + (yy / 0.7) ** 2 < 1
    hu[body] = 40
    hu[((xx + 0.4) / 0.25) ** 2 + (yy / 0.35) ** 2 < 1] = -800
    hu[((xx - 0.4) / 0.25) ** 2 + (yy / 0.35) ** 2 < 1] = -800
    ring = (xx**2 + (yy + 0.45) ** 2 < 0.12**2) & (xx**2 + (yy + 0.45) ** 2 > 0.07**2)
    hu[ring] = 1000
    hu += rng.normal(0, 15, hu.shape)
    hu[0, 0], hu[0, 1] = -1024, 3071
    return np.clip(np.rint(hu), -1024, 3071).astype(np.int16)


def _write_sitk(path, array, **metadata):
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array)
    for key, value in metadata.items():
        image.SetMetaData(key, value)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    writer.SetFileName(str(path))
    writer.Execute(image)


@pytest.mark.parametrize("ext", [".dcm", ".nrrd", ".nii", ".nii.gz", ".mha"])
def test_int16_ct_loads_as_uint16_hu_plus_32768(tmp_path, ext):
    hu = ct_slice()
    path = tmp_path / f"ct{ext}"
    _write_sitk(path, hu)

    loaded = load_image(path)

    assert loaded.dtype == np.uint16
    np.testing.assert_array_equal(loaded.astype(np.int32) - SHIFT, hu)


def test_dicom_with_a_rescale_intercept_loads_like_its_int16_twin(tmp_path):
    hu = ct_slice()
    _write_sitk(tmp_path / "plain.dcm", hu)
    # Stored as unsigned values with RescaleIntercept -1024, as scanners write CT.
    _write_sitk(tmp_path / "rescaled.dcm", hu, **{"0028|1052": "-1024", "0028|1053": "1"})

    np.testing.assert_array_equal(load_image(tmp_path / "rescaled.dcm"),
                                  load_image(tmp_path / "plain.dcm"))


@pytest.fixture
def ct_file(tmp_path):
    path = tmp_path / "ct.nii.gz"
    _write_sitk(path, ct_slice())
    return path


def test_loaded_ct_goes_into_a_document_and_through_ops(ct_file):
    hu = ct_slice()
    image = load_image(ct_file)
    Document([ImageLayer(image, "CT")])  # the editor's model takes it as it is

    smooth = api.run("enhance.gaussian", image, sigma=1.5)
    labels = api.run("segment.otsu", image)
    mask = api.run("binary.threshold", image, method="otsu")

    assert smooth.dtype == np.uint16 and smooth.shape == image.shape
    assert np.abs(smooth.astype(np.int32) - SHIFT - hu).mean() < np.abs(hu - hu.mean()).mean()
    body, air = (48, 64), (2, 2)
    assert labels[body] != labels[air]
    assert mask[body] != mask[air]


def test_window_level_on_the_shifted_values_matches_the_hu_window(ct_file):
    """A soft-tissue window (W 400, L 40) set in HU + 32768 gives the same picture."""
    hu = ct_slice()
    image = load_image(ct_file)
    low, high = 40 - 200, 40 + 200

    windowed = np.clip((image.astype(np.float64) - SHIFT - low) / (high - low), 0, 1)
    expected = np.clip((hu.astype(np.float64) - low) / (high - low), 0, 1)

    np.testing.assert_array_equal(windowed, expected)


def _imgstudio(*args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "imgstudio", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_batch_reads_and_writes_dicom(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for index in range(2):
        _write_sitk(source / f"slice{index}.dcm", np.roll(ct_slice(), index, axis=1))
    recipe = tmp_path / "smooth.json"
    save_recipe(recipe, Recipe(("ct",), (
        RecipeStep("enhance.gaussian", {"sigma": 1.0}, {"image": "ct"}, "ct"),)))

    proc = _imgstudio("batch", str(recipe), str(source), str(tmp_path / "out"))

    assert proc.returncode == 0, proc.stdout + proc.stderr
    for index in range(2):
        expected = api.run("enhance.gaussian", load_image(source / f"slice{index}.dcm"),
                           sigma=1.0)
        np.testing.assert_array_equal(load_image(tmp_path / "out" / f"slice{index}.dcm"),
                                      expected)


def test_run_writes_a_dicom_output(tmp_path, ct_file):
    out = tmp_path / "smooth.dcm"

    proc = _imgstudio("run", "enhance.gaussian", str(ct_file), "-o", str(out), "--json")

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dtype"] == "uint16"
    np.testing.assert_array_equal(load_image(out),
                                  api.run("enhance.gaussian", load_image(ct_file)))


def test_save_then_load_keeps_the_shifted_values(tmp_path, ct_file):
    image = load_image(ct_file)
    for ext in (".dcm", ".nrrd", ".tif", ".png"):
        save_image(tmp_path / f"again{ext}", image)
        np.testing.assert_array_equal(load_image(tmp_path / f"again{ext}"), image)
