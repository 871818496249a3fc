"""Medical formats through imgstudio.core.io_medical (SimpleITK): DICOM, NIfTI, MetaImage,
volumes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core.io import ImageIOError, load_image, save_image
from tests.core.helpers import _write_valid, make_image
from tests.core.test_io import load_within

# --- round trips ------------------------------------------------------------------------------


def test_mhd_writes_header_and_data_file_side_by_side(tmp_path):
    save_image(tmp_path / "image.mhd", make_image("uint16", "gray"))

    names = sorted(item.name for item in tmp_path.iterdir())

    assert names[0] == "image.mhd"
    assert len(names) == 2 and names[1].startswith("image.")


# --- medical formats --------------------------------------------------------------------------


def test_dicom_written_by_simpleitk_loads_as_uint16_gray(tmp_path):
    import SimpleITK as sitk

    image = np.random.default_rng(0).integers(0, 4096, (20, 24), dtype=np.uint16)
    path = tmp_path / "slice.dcm"
    sitk.WriteImage(sitk.GetImageFromArray(image), str(path))

    loaded = load_image(path)

    assert loaded.dtype == np.uint16
    np.testing.assert_array_equal(loaded, image)


@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_nifti_loads_its_own_pixels_next_to_a_sibling_of_the_same_name(tmp_path, ext):
    other = ".nii.gz" if ext == ".nii" else ".nii"
    save_image(tmp_path / f"scan{other}", make_image("uint16", "gray", seed=1))
    image = make_image("uint16", "gray", seed=2)
    save_image(tmp_path / f"scan{ext}", image)

    np.testing.assert_array_equal(load_image(tmp_path / f"scan{ext}"), image)


def test_volume_with_more_than_two_dimensions_raises(tmp_path):
    import SimpleITK as sitk

    path = tmp_path / "volume.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 8, 9), dtype=np.uint8)), str(path))

    with pytest.raises(ImageIOError, match=r"volume\.nrrd.*only 2D"):
        load_image(path)


@pytest.mark.parametrize(
    ("volume_shape", "expected_shape"),
    [((1, 8, 9), (8, 9)), ((8, 1, 9), (8, 9)), ((1, 1, 9), (1, 9))],
)
def test_volume_with_a_single_slice_loads_as_2d(tmp_path, volume_shape, expected_shape):
    import SimpleITK as sitk

    volume = np.arange(np.prod(volume_shape), dtype=np.uint16).reshape(volume_shape)
    path = tmp_path / "slice.mha"
    sitk.WriteImage(sitk.GetImageFromArray(volume), str(path))

    loaded = load_image(path)

    assert loaded.shape == expected_shape
    np.testing.assert_array_equal(loaded, volume.reshape(expected_shape))


# --- corrupt, truncated and missing files -----------------------------------------------------


def test_mhd_whose_data_file_is_truncated_raises(tmp_path):
    path = tmp_path / "image.mhd"
    _write_valid(path)
    (data_file,) = (item for item in tmp_path.iterdir() if item != path)
    data_file.write_bytes(data_file.read_bytes()[: data_file.stat().st_size // 2])

    with pytest.raises(ImageIOError, match=r"image\.mhd"):
        load_image(path)


# --- content wins over the name; only regular files -------------------------------------------


@pytest.mark.parametrize("written", [".nii", ".nii.gz"])
@pytest.mark.parametrize("renamed", ["scan.png", "scan.dat", "scan", "scan.nii.gz", "scan.nii"])
def test_nifti_content_loads_under_any_name(tmp_path, written, renamed):
    image = make_image("uint16", "gray")
    save_image(tmp_path / f"original{written}", image)
    path = (tmp_path / f"original{written}").rename(tmp_path / renamed)

    np.testing.assert_array_equal(load_image(path), image)


def test_nifti_pair_loads_from_its_header_even_renamed(tmp_path):
    import SimpleITK as sitk

    image = make_image("uint16", "gray")
    sitk.WriteImage(sitk.GetImageFromArray(image), str(tmp_path / "pair.hdr"))
    assert (tmp_path / "pair.img").exists()

    np.testing.assert_array_equal(load_image(tmp_path / "pair.hdr"), image)
    (tmp_path / "pair.hdr").rename(tmp_path / "pair.header")
    np.testing.assert_array_equal(load_image(tmp_path / "pair.header"), image)


def test_nifti_pair_with_a_truncated_data_file_raises(tmp_path):
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(make_image("uint16", "gray")),
                    str(tmp_path / "pair.hdr"))
    data = tmp_path / "pair.img"
    data.write_bytes(data.read_bytes()[:100])

    with pytest.raises(ImageIOError, match=r"pair\.hdr: truncated NIfTI file \(100 of"):
        load_image(tmp_path / "pair.hdr")


def _mhd_pointing_at(tmp_path, target: str):
    save_image(tmp_path / "image.mhd", make_image("uint16", "gray"))
    header = tmp_path / "image.mhd"
    text = header.read_text()
    lines = [line if not line.startswith("ElementDataFile") else f"ElementDataFile = {target}"
             for line in text.splitlines()]
    header.write_text("\n".join(lines) + "\n")
    return header


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_mhd_whose_data_file_is_a_device_is_refused(tmp_path):
    header = _mhd_pointing_at(tmp_path, "/dev/zero")

    with pytest.raises(ImageIOError, match=r"image\.mhd.*/dev/zero: not a regular file"):
        load_within(header)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_mhd_whose_data_file_is_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "data.raw")
    header = _mhd_pointing_at(tmp_path, "data.raw")
    try:
        with pytest.raises(ImageIOError, match=r"image\.mhd.*data\.raw: not a regular file"):
            load_within(header)
    finally:
        try:
            os.close(os.open(tmp_path / "data.raw", os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


def test_mhd_whose_data_file_is_missing_names_it(tmp_path):
    header = _mhd_pointing_at(tmp_path, "gone.raw")

    with pytest.raises(ImageIOError, match=r"image\.mhd.*gone\.raw: no such file"):
        load_image(header)
