"""Tests for imgstudio.core.io: formats, dtypes, channel order, EXIF, corrupt files, atomicity."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core import io
from imgstudio.core.io import ImageIOError, load_image, save_image
from tests.core.helpers import SHAPE, _write_valid, make_image


def _cases(extensions, dtypes, channels):
    return [
        pytest.param(ext, dtype, chan, id=f"{ext}-{dtype}-{chan}")
        for ext in extensions
        for dtype in dtypes
        for chan in channels
    ]


LOSSLESS_CASES = (
    _cases([".png"], ["uint8", "uint16"], ["gray", "rgb", "rgba"])
    + _cases([".tif", ".tiff"], ["uint8", "uint16", "float32"], ["gray", "rgb", "rgba"])
    + _cases([".bmp"], ["uint8"], ["gray", "rgb", "rgba"])
    + _cases([".webp"], ["uint8"], ["rgb", "rgba"])
    + _cases(
        [".nrrd", ".nii", ".nii.gz", ".mha", ".mhd"],
        ["uint8", "int16", "uint16", "float32"],
        ["gray"],
    )
    + _cases([".nrrd", ".nii.gz", ".mha"], ["uint8"], ["rgb", "rgba"])
)


# --- round trips ------------------------------------------------------------------------------


def _as_loaded(image: np.ndarray) -> np.ndarray:
    """What load_image returns for ``image``: int16 is shifted to uint16 (+ 32768)."""
    if image.dtype == np.int16:
        return (image.astype(np.int32) + 32768).astype(np.uint16)
    return image


@pytest.mark.parametrize(("ext", "dtype", "channels"), LOSSLESS_CASES)
def test_lossless_round_trip_keeps_pixels_shape_and_dtype(tmp_path, ext, dtype, channels):
    image = make_image(dtype, channels)
    path = tmp_path / f"image{ext}"

    save_image(path, image)
    loaded = load_image(path)

    expected = _as_loaded(image)
    assert loaded.dtype == expected.dtype
    assert loaded.shape == expected.shape
    np.testing.assert_array_equal(loaded, expected)


@pytest.mark.parametrize("ext", [".jpg", ".jpeg"])
@pytest.mark.parametrize("channels", ["gray", "rgb"])
def test_jpeg_round_trip_is_close_to_the_original(tmp_path, ext, channels):
    from skimage import data

    image = data.astronaut()[::4, ::4] if channels == "rgb" else data.camera()[::4, ::4]
    path = tmp_path / f"image{ext}"

    save_image(path, image)
    loaded = load_image(path)

    assert loaded.dtype == np.uint8
    assert loaded.shape == image.shape
    assert np.abs(loaded.astype(int) - image).mean() < 4


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16_bit_values_are_kept_exactly(tmp_path, ext):
    values = np.array([0, 1, 255, 256, 4095, 32768, 65534, 65535], dtype=np.uint16)
    image = np.tile(values, (3, 1))
    path = tmp_path / f"image{ext}"

    save_image(path, image)

    np.testing.assert_array_equal(load_image(path), image)


def test_float32_tiff_keeps_values_outside_unit_range_exactly(tmp_path):
    image = np.array([[-1.5, 0.0, 1e-7], [0.5, 1.0, 1234.5]], dtype=np.float32)
    path = tmp_path / "image.tif"

    save_image(path, image)
    loaded = load_image(path)

    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, image)


def test_webp_stores_gray_as_rgb_with_equal_channels(tmp_path):
    image = make_image("uint8", "gray")
    path = tmp_path / "image.webp"

    save_image(path, image)
    loaded = load_image(path)

    assert loaded.shape == image.shape + (3,)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], image)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".bmp", ".webp", ".nrrd"])
def test_loaded_image_is_a_writable_contiguous_array(tmp_path, ext):
    path = tmp_path / f"image{ext}"
    save_image(path, make_image("uint8", "rgb"))

    loaded = load_image(path)

    assert loaded.flags.writeable
    assert loaded.flags.c_contiguous


# --- channel order ----------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp", ".webp"])
def test_pure_red_stays_red_after_round_trip(tmp_path, ext):
    image = np.zeros((4, 5, 3), dtype=np.uint8)
    image[..., 0] = 255
    path = tmp_path / f"red{ext}"

    save_image(path, image)

    np.testing.assert_array_equal(load_image(path)[1, 2], [255, 0, 0])


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif"])
@pytest.mark.parametrize("channels", ["rgb", "rgba"])
def test_file_written_by_opencv_from_bgr_loads_as_rgb(tmp_path, ext, channels):
    import cv2

    rgb = make_image("uint8", channels)
    bgr = rgb[..., [2, 1, 0, 3]] if channels == "rgba" else rgb[..., ::-1]
    path = tmp_path / f"opencv{ext}"
    assert cv2.imwrite(str(path), np.ascontiguousarray(bgr))

    np.testing.assert_array_equal(load_image(path), rgb)


def test_16_bit_rgb_png_from_opencv_loads_as_rgb(tmp_path):
    import cv2

    rgb = make_image("uint16", "rgb")
    path = tmp_path / "opencv16.png"
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))

    np.testing.assert_array_equal(load_image(path), rgb)


# --- mode conversions on load -----------------------------------------------------------------


def test_palette_png_loads_as_rgb(tmp_path):
    from PIL import Image

    rgb = make_image("uint8", "rgb") // 64 * 64  # few colours, so the palette is exact
    path = tmp_path / "palette.png"
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(path)

    loaded = load_image(path)

    assert loaded.shape == rgb.shape
    np.testing.assert_array_equal(loaded, rgb)


def test_palette_png_with_transparency_loads_as_rgba(tmp_path):
    from PIL import Image

    indices = np.arange(np.prod(SHAPE), dtype=np.uint8).reshape(SHAPE) % 4
    palette_image = Image.fromarray(indices, mode="L").convert("P")
    palette_image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])
    path = tmp_path / "palette_alpha.png"
    palette_image.save(path, transparency=bytes([255, 255, 255, 0]))

    loaded = load_image(path)

    assert loaded.shape == SHAPE + (4,)
    np.testing.assert_array_equal(loaded[..., 3], np.where(indices == 3, 0, 255))
    np.testing.assert_array_equal(loaded[indices == 0][:, :3], [[255, 0, 0]] * (indices == 0).sum())


def test_gray_alpha_png_loads_as_rgba(tmp_path):
    from PIL import Image

    gray, alpha = make_image("uint8", "gray", seed=1), make_image("uint8", "gray", seed=2)
    path = tmp_path / "la.png"
    Image.fromarray(np.dstack([gray, alpha]), mode="LA").save(path)

    loaded = load_image(path)

    np.testing.assert_array_equal(loaded, np.dstack([gray, gray, gray, alpha]))


def test_bilevel_tiff_loads_as_uint8_0_and_255(tmp_path):
    import tifffile

    mask = make_image("uint8", "gray") > 127
    path = tmp_path / "mask.tif"
    tifffile.imwrite(path, mask, photometric="minisblack")

    loaded = load_image(path)

    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, np.where(mask, 255, 0))


def test_min_is_white_tiff_is_inverted_to_min_is_black(tmp_path):
    import tifffile

    stored = make_image("uint8", "gray")
    path = tmp_path / "miniswhite.tif"
    tifffile.imwrite(path, stored, photometric="miniswhite")

    np.testing.assert_array_equal(load_image(path), 255 - stored)


def test_float64_tiff_loads_as_float32(tmp_path):
    import tifffile

    image = np.random.default_rng(0).random(SHAPE)
    path = tmp_path / "double.tif"
    tifffile.imwrite(path, image)

    loaded = load_image(path)

    assert loaded.dtype == np.float32
    np.testing.assert_allclose(loaded, image, rtol=1e-6)


def test_int16_tiff_loads_as_uint16_shifted_by_32768(tmp_path):
    import tifffile

    image = np.array([[-32768, -1024, -1, 0], [1, 1000, 3071, 32767]], dtype=np.int16)
    path = tmp_path / "ct.tif"
    tifffile.imwrite(path, image)

    loaded = load_image(path)

    assert loaded.dtype == np.uint16
    np.testing.assert_array_equal(loaded.astype(np.int32) - 32768, image)


@pytest.mark.parametrize(
    ("dtype", "values", "expected_dtype", "shift"),
    [
        pytest.param("int8", [-128, -1, 0, 127], np.uint8, 128, id="int8-shifted-by-128"),
        pytest.param("int32", [-32768, -1024, 0, 32767], np.uint16, 32768, id="int32-fits"),
        pytest.param("int64", [-5, 0, 5, 9], np.uint16, 32768, id="int64-fits"),
        pytest.param("uint32", [0, 1, 4095, 65535], np.uint16, 0, id="uint32-fits"),
        pytest.param("float64", [-1.5, 0.0, 0.25, 7.0], np.float32, 0, id="float64"),
    ],
)
def test_other_integer_dtypes_map_by_the_documented_rule(
    tmp_path, dtype, values, expected_dtype, shift
):
    import tifffile

    image = np.array([values, values[::-1]], dtype=dtype)
    path = tmp_path / f"{dtype}.tif"
    tifffile.imwrite(path, image)

    loaded = load_image(path)

    assert loaded.dtype == expected_dtype
    np.testing.assert_array_equal(loaded.astype(np.float64) - shift, image)


@pytest.mark.parametrize(
    ("dtype", "values"),
    [("int32", [-40000, 0]), ("int32", [0, 40000]), ("uint32", [0, 70000]),
     ("int64", [0, 2**40]), ("complex64", [0, 1j])],
)
def test_dtype_that_does_not_fit_16_bits_is_refused_naming_the_dtype(tmp_path, dtype, values):
    import tifffile

    path = tmp_path / f"wide-{dtype}.tif"
    tifffile.imwrite(path, np.array([values, values], dtype=dtype))

    with pytest.raises(ImageIOError, match=rf"wide-{dtype}\.tif.*{dtype}"):
        load_image(path)


def test_lzw_tiff_loads_through_the_pillow_fallback(tmp_path):
    from PIL import Image

    image = make_image("uint8", "rgb")
    path = tmp_path / "lzw.tif"
    Image.fromarray(image).save(path, compression="tiff_lzw")

    np.testing.assert_array_equal(load_image(path), image)


def test_content_decides_format_over_extension(tmp_path):
    image = make_image("uint16", "rgb")
    png = tmp_path / "image.png"
    save_image(png, image)
    renamed = png.rename(tmp_path / "image.tif")

    np.testing.assert_array_equal(load_image(renamed), image)


# --- EXIF orientation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "rotate"),
    [
        pytest.param(3, lambda a: np.rot90(a, 2), id="3-rotate-180"),
        pytest.param(6, lambda a: np.rot90(a, -1), id="6-rotate-90-clockwise"),
        pytest.param(8, lambda a: np.rot90(a, 1), id="8-rotate-90-counterclockwise"),
    ],
)
def test_jpeg_exif_orientation_is_applied(tmp_path, orientation, rotate):
    from PIL import Image

    stored = np.zeros((32, 48, 3), dtype=np.uint8)  # flat 16-pixel blocks compress cleanly
    stored[:16, :16] = [255, 0, 0]
    stored[:16, 32:] = [0, 255, 0]
    stored[16:, 16:32] = [0, 0, 255]
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95)

    loaded = load_image(path)
    expected = rotate(stored)

    assert loaded.shape == expected.shape
    assert np.abs(loaded.astype(int) - expected).mean() < 4


# --- corrupt, truncated and missing files -----------------------------------------------------


CORRUPT_EXTENSIONS = [
    ".png",
    ".jpg",
    ".tif",
    ".bmp",
    ".webp",
    ".dcm",
    ".nrrd",
    ".nii",
    ".nii.gz",
    ".mha",
    ".mhd",
]


def _corrupt_content(kind: str, ext: str, tmp_path: Path) -> bytes:
    if kind == "empty":
        return b""
    if kind == "random":
        return np.random.default_rng(7).bytes(4096)
    if kind == "text":
        return b"this is a text file, not an image\n" * 20
    valid = tmp_path / "valid" / f"valid{ext}"
    valid.parent.mkdir()
    _write_valid(valid)
    data = valid.read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize("ext", CORRUPT_EXTENSIONS)
@pytest.mark.parametrize("kind", ["empty", "random", "text", "truncated"])
def test_corrupt_file_raises_image_io_error_naming_the_file(tmp_path, ext, kind):
    path = tmp_path / f"{kind}_file{ext}"
    path.write_bytes(_corrupt_content(kind, ext, tmp_path))

    with pytest.raises(ImageIOError, match=re.escape(path.name)):
        load_image(path)


def test_missing_file_raises_image_io_error_naming_the_file(tmp_path):
    with pytest.raises(ImageIOError, match=r"missing\.png.*no such file"):
        load_image(tmp_path / "missing.png")


def test_directory_raises_image_io_error_naming_it(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()

    with pytest.raises(ImageIOError, match=r"folder\.png"):
        load_image(folder)


def test_unknown_format_raises_image_io_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")

    with pytest.raises(ImageIOError, match=r"notes\.txt.*unrecognised"):
        load_image(path)


def test_image_io_error_is_an_os_error():
    assert issubclass(ImageIOError, OSError)


# --- save validation --------------------------------------------------------------------------


def test_float32_png_raises_value_error_suggesting_tiff(tmp_path):
    with pytest.raises(ValueError, match=r"float32.*PNG.*TIFF"):
        save_image(tmp_path / "image.png", make_image("float32", "rgb"))


@pytest.mark.parametrize("ext", [".jpg", ".bmp", ".webp"])
@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_8_bit_formats_reject_other_dtypes(tmp_path, ext, dtype):
    with pytest.raises(ValueError, match=rf"image dtype {dtype} cannot be saved as"):
        save_image(tmp_path / f"image{ext}", make_image(dtype, "rgb"))


def test_jpeg_rejects_alpha(tmp_path):
    with pytest.raises(ValueError, match=r"image has an alpha channel.*JPEG"):
        save_image(tmp_path / "image.jpg", make_image("uint8", "rgba"))


@pytest.mark.parametrize(
    "shape", [(5,), (4, 5, 2), (4, 5, 1), (4, 5, 5), (2, 4, 5, 3), (0, 5), (4, 0, 3)]
)
def test_bad_shape_raises_value_error_naming_image(tmp_path, shape):
    with pytest.raises(ValueError, match="image"):
        save_image(tmp_path / "image.png", np.zeros(shape, dtype=np.uint8))


@pytest.mark.parametrize("dtype", ["float64", "int64", "bool", "complex64", "int8"])
def test_unsupported_dtype_raises_value_error_naming_image(tmp_path, dtype):
    with pytest.raises(ValueError, match=rf"image dtype {dtype}"):
        save_image(tmp_path / "image.tif", np.zeros((4, 5), dtype=dtype))


def test_non_array_raises_type_error(tmp_path):
    with pytest.raises(TypeError, match="image must be a numpy.ndarray"):
        save_image(tmp_path / "image.png", [[0, 1], [2, 3]])


@pytest.mark.parametrize("name", ["image.gif", "image", "image.nhdr"])
def test_unsupported_write_extension_raises_value_error_naming_the_path(tmp_path, name):
    with pytest.raises(ValueError, match=re.escape(name) + ".*unsupported extension"):
        save_image(tmp_path / name, make_image("uint8", "gray"))


def test_missing_directory_raises_image_io_error(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "image.png"

    with pytest.raises(ImageIOError, match=r"image\.png"):
        save_image(path, make_image("uint8", "gray"))


# --- atomic writes ----------------------------------------------------------------------------


def test_rejected_image_leaves_directory_and_existing_file_unchanged(tmp_path):
    path = tmp_path / "image.png"
    save_image(path, make_image("uint8", "rgb"))
    before = path.read_bytes()

    with pytest.raises(ValueError):
        save_image(path, make_image("float32", "rgb"))

    assert [item.name for item in tmp_path.iterdir()] == ["image.png"]
    assert path.read_bytes() == before


def test_writer_failure_midway_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "image.tif"
    save_image(path, make_image("uint8", "rgb"))
    before = path.read_bytes()

    def failing_writer(target: Path, image: np.ndarray) -> None:
        target.write_bytes(b"II*\x00partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io, "_write_tiff", failing_writer)
    with pytest.raises(ImageIOError, match=r"image\.tif.*No space left"):
        save_image(path, make_image("uint8", "rgb", seed=1))

    assert [item.name for item in tmp_path.iterdir()] == ["image.tif"]
    assert path.read_bytes() == before


def test_successful_save_replaces_existing_file_without_leftovers(tmp_path):
    path = tmp_path / "image.png"
    save_image(path, make_image("uint8", "rgb", seed=1))
    new = make_image("uint8", "rgb", seed=2)

    save_image(path, new)

    assert [item.name for item in tmp_path.iterdir()] == ["image.png"]
    np.testing.assert_array_equal(load_image(path), new)


# --- module contract --------------------------------------------------------------------------


def test_importing_the_module_does_not_import_heavy_libraries():
    heavy = ("cv2", "SimpleITK", "PIL", "tifffile")
    code = (
        "import sys, imgstudio.core.io; "
        f"print(','.join(name for name in {heavy!r} if name in sys.modules))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == ""


def test_extension_lists_are_lowercase_dotted_tuples():
    for extensions in (io.SUPPORTED_READ_EXTENSIONS, io.SUPPORTED_WRITE_EXTENSIONS):
        assert isinstance(extensions, tuple)
        assert all(ext.startswith(".") and ext == ext.lower() for ext in extensions)
    assert set(io.SUPPORTED_WRITE_EXTENSIONS) <= set(io.SUPPORTED_READ_EXTENSIONS)
    assert {".png", ".jpg", ".tif", ".dcm", ".nii.gz"} <= set(io.SUPPORTED_READ_EXTENSIONS)


# --- only regular files -----------------------------------------------------------------------


def load_within(path, seconds: float = 10.0):
    """load_image(path) in a daemon thread: fail (instead of hanging the run) if it blocks."""
    import threading

    outcome: dict = {}

    def target():
        try:
            outcome["image"] = load_image(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"load_image({path}) still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["image"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_png_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    try:
        with pytest.raises(ImageIOError, match=r"pipe\.png: not a regular file \(a FIFO\)"):
            load_within(fifo)
    finally:  # release a reader that blocked in open(), if any
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_symlink_to_dev_zero_named_nii_is_refused_without_reading_it(tmp_path):
    link = tmp_path / "endless.nii"
    link.symlink_to("/dev/zero")

    with pytest.raises(ImageIOError, match=r"endless\.nii: not a regular file \(a character"):
        load_within(link)


def test_symlink_to_a_regular_file_loads_its_target(tmp_path):
    image = make_image("uint8", "rgb")
    save_image(tmp_path / "real.png", image)
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "real.png")

    np.testing.assert_array_equal(load_image(link), image)


def test_directory_is_not_a_regular_file(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()

    with pytest.raises(ImageIOError, match=r"folder\.png: not a regular file \(a directory\)"):
        load_image(folder)


# --- DICOM writing ----------------------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "channels"), [("uint8", "gray"), ("uint16", "gray"),
                                                 ("uint8", "rgb")])
def test_dicom_round_trip_keeps_pixels(tmp_path, dtype, channels):
    image = make_image(dtype, channels)
    path = tmp_path / "slice.dcm"

    save_image(path, image)
    loaded = load_image(path)

    assert loaded.dtype == image.dtype
    np.testing.assert_array_equal(loaded, image)


@pytest.mark.parametrize(("dtype", "channels"), [("float32", "gray"), ("uint8", "rgba"),
                                                 ("uint16", "rgb")])
def test_dicom_refuses_what_it_cannot_store_naming_the_dtype(tmp_path, dtype, channels):
    with pytest.raises(ValueError, match=rf"{dtype}.*DICOM"):
        save_image(tmp_path / "slice.dcm", make_image(dtype, channels))
