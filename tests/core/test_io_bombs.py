"""Decompression bombs and lying headers: load_image checks the size a header declares against
the one pixel limit ($IMGSTUDIO_MAX_PIXELS) before decoding, for every format, and refuses a
header that announces more data than the file holds.

The bombs are loaded in a child process with an address-space limit (RLIMIT_AS) that each of
them would exceed if it were decoded; the child reports each error message, the time taken and
how much the peak RSS grew while loading it.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core.io import ImageIOError, load_image, save_image
from tests.core.test_io_corpus import ROOT, _write_formats

AS_LIMIT = 1536 * 2**20
CHILD_MAX_PIXELS = 100_000_000  # 100 MP: every bomb below declares more
RSS_GROWTH_LIMIT_MIB = 64

# --- building lying files -----------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png(width: int, height: int, depth: int, colour: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def _zeros_zlib(count: int, block: int) -> bytes:
    """A valid zlib stream of ``count`` zero bytes (``count`` a multiple of ``block``), built
    from one fully flushed deflate block repeated, so it costs milliseconds to make."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = deflate.compress(bytes(block)) + deflate.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    adler = ((count % 65521) << 16) | 1
    return b"\x78\xda" + chunk * (count // block) + final + struct.pack(">I", adler)


def _patched(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1, (path, old)
    path.write_bytes(data.replace(old, new))


def _jpeg_declaring(path: Path, width: int, height: int) -> None:
    save_image(path, np.full((16, 16, 3), 99, np.uint8))
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))


def _tiff_declaring(path: Path, length: int, width: int | None = None, **write) -> None:
    import tifffile

    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 255, (37, 53), np.uint8),
                     **write)
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tif.pages[0].tags["ImageLength"].overwrite(length)
        if width is not None:
            tif.pages[0].tags["ImageWidth"].overwrite(width)


def _nifti_declaring(path: Path, size: int) -> None:
    import gzip

    plain = path.with_name("plain.nii")
    save_image(plain, np.zeros((16, 16), np.int16))
    data = bytearray(plain.read_bytes())
    plain.unlink()
    data[42:46] = struct.pack("<hh", size, size)  # dim[1], dim[2]
    path.write_bytes(gzip.compress(bytes(data)) if path.name.endswith(".gz") else bytes(data))


def _bombs(folder: Path) -> list[dict]:
    """Tiny files declaring huge images, one or more per format: (name, path, declared size)."""
    import SimpleITK as sitk
    from PIL import Image

    cases = []

    def add(name, filename, declared, build):
        path = folder / filename
        build(path)
        cases.append({"name": name, "path": str(path), "declared": declared,
                      "bytes": path.stat().st_size})

    add("png-8bit", "huge.png", "100000 × 100000",
        lambda p: p.write_bytes(_png(100_000, 100_000, 8, 2, zlib.compress(bytes(4096)))))
    add("png-16bit", "huge16.png", "100000 × 100000",
        lambda p: p.write_bytes(_png(100_000, 100_000, 16, 0, zlib.compress(bytes(4096)))))
    # A real bomb: 380 KB of valid zlib data that inflates to 400 MB of zero pixels.
    add("png-real-bomb", "zeros.png", "20000 × 20000",
        lambda p: p.write_bytes(_png(20_000, 20_000, 8, 0, _zeros_zlib(20_000 * 20_001,
                                                                      1000 * 20_001))))
    add("jpeg", "huge.jpg", "60000 × 60000", lambda p: _jpeg_declaring(p, 60_000, 60_000))
    add("tiff-tall", "tall.tif", "50356261 × 53", lambda p: _tiff_declaring(p, 50_356_261))
    add("tiff-square", "square.tif", "100000 × 100000",
        lambda p: _tiff_declaring(p, 100_000, 100_000, compression="zlib"))

    def webp(p):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(p, lossless=True)
        data = bytearray(p.read_bytes())
        assert data[12:16] == b"VP8L" and data[20] == 0x2F
        bits = int.from_bytes(data[21:25], "little")
        data[21:25] = ((bits & ~0x0FFFFFFF) | 16383 | (16383 << 14)).to_bytes(4, "little")
        p.write_bytes(bytes(data))

    add("webp", "huge.webp", "16384 × 16384", webp)

    def bmp(p):
        save_image(p, np.zeros((16, 16, 3), np.uint8))
        data = bytearray(p.read_bytes())
        data[18:26] = struct.pack("<ii", 100_000, 100_000)
        p.write_bytes(bytes(data))

    add("bmp", "huge.bmp", "100000 × 100000", bmp)

    def text_header(ext, old, new):
        def build(p):
            save_image(p, np.zeros((32, 48), np.uint16))
            _patched(p, old, new)
        return build

    add("nrrd", "huge.nrrd", "100000 × 100000",
        text_header(".nrrd", b"sizes: 48 32", b"sizes: 100000 100000"))
    add("mha", "huge.mha", "100000 × 100000",
        text_header(".mha", b"DimSize = 48 32", b"DimSize = 100000 100000"))
    add("nifti", "huge.nii", "32767 × 32767", lambda p: _nifti_declaring(p, 32767))
    add("nifti-gz", "huge.nii.gz", "32767 × 32767", lambda p: _nifti_declaring(p, 32767))

    def dicom(p):  # SimpleITK writes implicit VR: tag, 4-byte length, value
        sitk.WriteImage(sitk.GetImageFromArray(np.zeros((32, 48), np.uint16)), str(p))
        for element, value in ((0x10, 32), (0x11, 48)):  # (0028,0010) Rows, (0028,0011) Columns
            tag = struct.pack("<HHI", 0x28, element, 2)
            _patched(p, tag + struct.pack("<H", value), tag + struct.pack("<H", 65535))

    add("dicom", "huge.dcm", "65535 × 65535", dicom)
    return cases



def _peak_kib() -> int:
    """This process's peak RSS (VmHWM) in KiB. Not ru_maxrss: Linux keeps that across execve,
    so a child started from a big pytest process would report the parent's peak."""
    with open("/proc/self/status") as fh:
        return int(fh.read().split("VmHWM:")[1].split()[0])

def _child(spec: str) -> None:
    """Load each case of ``spec`` (in the child) and print one JSON line per case."""
    import resource
    import time

    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    from imgstudio.core.io import ImageIOError, load_image

    for warm in sorted(Path(spec).parent.glob("warm-up.*")):  # load the decoders (SimpleITK
        load_image(warm)                                       # too) before measuring
    for case in json.loads(Path(spec).read_text()):
        os.environ["IMGSTUDIO_MAX_PIXELS"] = str(case.get("max_pixels", CHILD_MAX_PIXELS))
        before = _peak_kib()
        started = time.perf_counter()
        try:
            image = load_image(case["path"])
            outcome = f"loaded {image.shape}"
        except ImageIOError as exc:
            outcome = f"ImageIOError: {exc}"
        except BaseException as exc:  # noqa: BLE001 - reported, the parent fails on it
            outcome = f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        growth = (_peak_kib() - before) / 1024
        print(json.dumps({"path": case["path"], "outcome": outcome, "seconds": seconds,
                          "rss_growth_mib": growth,
                          "peak_rss_mib": _peak_kib()
                          / 1024}), flush=True)


def _run_child(folder: Path, cases: list[dict]) -> dict[str, dict]:
    for ext in (".png", ".nrrd", ".dcm"):
        save_image(folder / f"warm-up{ext}", np.zeros((4, 4), np.uint8))
    spec = folder / "cases.json"
    spec.write_text(json.dumps(cases))
    env = dict(os.environ, OMP_NUM_THREADS="1", ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS="1",
               PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.core.test_io_bombs import _child; "
         "_child(sys.argv[1])", str(spec)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    results = {r["path"]: r for r in map(json.loads, proc.stdout.splitlines()) if "path" in r}
    assert proc.returncode == 0 and len(results) == len(cases), proc.stderr[-3000:]
    return results


@pytest.fixture(scope="module")
def bomb_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bombs")
    cases = _bombs(folder)
    results = _run_child(folder, cases)
    print("\nbombs (declared size, file size, time, peak-RSS growth, child peak RSS):")
    for case in cases:
        result = results[case["path"]]
        print(f"  {case['name']:14} {case['declared']:>16} in {case['bytes']:>7} bytes: "
              f"{result['seconds'] * 1e3:6.1f} ms, +{result['rss_growth_mib']:.1f} MiB, "
              f"peak {result['peak_rss_mib']:.0f} MiB")
    return {case["name"]: (case, results[case["path"]]) for case in cases}


BOMB_NAMES = ["png-8bit", "png-16bit", "png-real-bomb", "jpeg", "tiff-tall", "tiff-square",
              "webp", "bmp", "nrrd", "mha", "nifti", "nifti-gz", "dicom"]


@pytest.mark.parametrize("name", BOMB_NAMES)
def test_bomb_is_refused_from_its_header_naming_file_size_and_limit(bomb_results, name):
    case, result = bomb_results[name]
    message = result["outcome"]

    assert message.startswith("ImageIOError: "), message
    assert Path(case["path"]).name in message
    assert case["declared"] in message
    assert "exceeds the limit of 100 MP" in message
    assert "IMGSTUDIO_MAX_PIXELS" in message
    assert result["rss_growth_mib"] < RSS_GROWTH_LIMIT_MIB  # nothing of the size was allocated
    assert result["seconds"] < 2


# --- the limit is configurable ----------------------------------------------------------------


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    return _write_formats(tmp_path_factory.mktemp("valid"))


@pytest.mark.parametrize("fmt", ["png8", "png16", "jpeg", "jpeg-progressive", "tiff-zlib",
                                 "tiff-strips", "tiff-tiled", "tiff-lzw", "webp", "bmp", "nrrd",
                                 "mha", "nifti", "nifti-gz", "dicom"])
def test_a_small_limit_refuses_a_normal_file_and_a_raised_one_loads_it(
    valid_files, monkeypatch, fmt
):
    path, image, _ = valid_files[fmt]
    pixels = image.shape[0] * image.shape[1]

    monkeypatch.setenv("IMGSTUDIO_MAX_PIXELS", str(pixels - 1))
    with pytest.raises(ImageIOError, match=re.escape(path.name) + r".*32 × 48 pixels.*exceeds"):
        load_image(path)

    monkeypatch.setenv("IMGSTUDIO_MAX_PIXELS", str(pixels))
    assert load_image(path).shape[:2] == image.shape[:2]


def test_a_malformed_limit_is_reported_as_such(png, monkeypatch):
    monkeypatch.setenv("IMGSTUDIO_MAX_PIXELS", "lots")

    with pytest.raises(ValueError, match="IMGSTUDIO_MAX_PIXELS"):
        load_image(png)


# --- headers that announce more data than the file holds --------------------------------------


def _jpeg_bytes(image: np.ndarray, **options) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


JPEG_KINDS = {
    "baseline": {"quality": 95},
    "subsampled": {"quality": 75, "subsampling": 2},
    "optimized": {"quality": 40, "optimize": True},
    "restart-markers": {"quality": 85, "restart_marker_blocks": 3},
    "progressive": {"quality": 90, "progressive": True},
}


@pytest.mark.parametrize("kind", list(JPEG_KINDS))
@pytest.mark.parametrize("gray", [False, True], ids=["rgb", "gray"])
def test_jpeg_cut_anywhere_with_an_end_marker_is_truncated_not_grey(tmp_path, kind, gray):
    from skimage import data

    image = data.camera()[::2, ::2] if gray else data.astronaut()[::2, ::2]
    encoded = _jpeg_bytes(np.ascontiguousarray(image), **JPEG_KINDS[kind])
    path = tmp_path / "cut.jpg"
    cuts = [len(encoded) * i // 50 for i in range(2, 46)]  # 4 % .. 90 % of the file

    for cut in cuts:
        path.write_bytes(encoded[:cut] + b"\xff\xd9")
        with pytest.raises(ImageIOError, match=r"cut\.jpg.*truncated JPEG"):
            load_image(path)
    path.write_bytes(encoded)
    assert load_image(path).shape[:2] == image.shape[:2]


def test_jpeg_cut_at_a_third_with_end_marker_was_84_percent_grey_now_refused(tmp_path):
    from skimage import data

    encoded = _jpeg_bytes(data.astronaut(), quality=95)
    path = tmp_path / "third.jpg"
    path.write_bytes(encoded[: len(encoded) // 3] + b"\xff\xd9")

    with pytest.raises(ImageIOError, match=r"third\.jpg: truncated JPEG file"):
        load_image(path)


def test_jpeg_header_claiming_12000_square_in_3_kb_is_truncated_before_decoding(tmp_path):
    path = tmp_path / "claims.jpg"
    _jpeg_declaring(path, 12_000, 12_000)
    results = _run_child(tmp_path, [{"path": str(path), "max_pixels": 400_000_000}])
    result = results[str(path)]

    assert path.stat().st_size < 3000
    assert re.search(r"ImageIOError: cannot read image .*claims\.jpg: truncated JPEG file "
                     r"\(the header declares 12000 × 12000", result["outcome"]), result
    assert result["rss_growth_mib"] < RSS_GROWTH_LIMIT_MIB


@pytest.mark.parametrize(
    "write",
    [pytest.param({}, id="uncompressed-one-strip"),
     pytest.param({"rowsperstrip": 8}, id="uncompressed-strips"),
     pytest.param({"compression": "zlib"}, id="zlib-one-strip"),
     pytest.param({"compression": "zlib", "rowsperstrip": 8}, id="zlib-strips"),
     pytest.param({"tile": (16, 16)}, id="tiles")],
)
def test_tiff_whose_image_length_was_raised_is_refused_not_zero_filled(tmp_path, write):
    path = tmp_path / "raised.tif"
    _tiff_declaring(path, 370, **write)
    if "tile" in write:
        _tiff_declaring(path, 370, **write)

    with pytest.raises(ImageIOError, match=r"raised\.tif.*truncated TIFF"):
        load_image(path)


def test_tiny_tiff_declaring_50_million_rows_is_refused_even_under_a_raised_limit(tmp_path):
    path = tmp_path / "tall.tif"
    _tiff_declaring(path, 50_356_261)
    results = _run_child(tmp_path, [{"path": str(path), "max_pixels": 3_000_000_000}])
    result = results[str(path)]

    assert path.stat().st_size < 4500
    assert re.search(r"tall\.tif: truncated TIFF file \(1360981 strips needed, 1 listed\)",
                     result["outcome"]), result
    assert result["rss_growth_mib"] < RSS_GROWTH_LIMIT_MIB


def test_dicom_element_lengths_are_checked_before_gdcm_allocates_them(tmp_path):
    """GDCM allocates an element's declared length before reading it (and keeps the memory):
    a 4 KB file with one lying length cost 0.7–1.2 GB per load before this check."""
    import SimpleITK as sitk

    source = tmp_path / "source.dcm"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((32, 48), np.uint16)), str(source))
    data = source.read_bytes()
    sop_class = data.index(b"\x08\x00\x16\x00")  # (0008,0016), implicit VR: 4-byte length
    lying = data[: sop_class + 4] + struct.pack("<I", 1_230_307_344) + data[sop_class + 8 :]
    (tmp_path / "length.dcm").write_bytes(lying)
    version = data.index(b"\x02\x00\x13\x00SH")  # (0002,0013) in the explicit-VR meta group
    bad_vr = data[: version + 4] + b"`%" + data[version + 6 :]
    (tmp_path / "vr.dcm").write_bytes(bad_vr)

    results = _run_child(tmp_path, [{"path": str(tmp_path / "length.dcm")},
                                    {"path": str(tmp_path / "vr.dcm")}])

    length, vr = results[str(tmp_path / "length.dcm")], results[str(tmp_path / "vr.dcm")]
    assert re.search(r"length\.dcm: truncated or corrupt DICOM file \(element \(0008,0016\) "
                     r"declares 1230307344 bytes", length["outcome"]), length
    assert re.search(r"vr\.dcm: .*\(0002,0013\) has no valid VR", vr["outcome"]), vr
    assert max(length["rss_growth_mib"], vr["rss_growth_mib"]) < RSS_GROWTH_LIMIT_MIB


@pytest.mark.parametrize("ndims", ["-1", "2147483647", "100000 100000"])
def test_metaimage_with_bad_ndims_is_refused_before_metaio_crashes_on_it(tmp_path, ndims):
    save_image(tmp_path / "scan.mha", np.zeros((32, 48), np.uint16))
    _patched(tmp_path / "scan.mha", b"NDims = 2", b"NDims = " + ndims.encode())

    results = _run_child(tmp_path, [{"path": str(tmp_path / "scan.mha")}])  # MetaIO segfaulted

    expected = f"scan.mha: corrupt MetaImage header (NDims [{ndims.replace(' ', ', ')}]"
    assert expected in results[str(tmp_path / "scan.mha")]["outcome"]


def test_png_chunk_lengths_are_checked_before_opencv_allocates_them(tmp_path):
    """OpenCV allocates a chunk's declared length before reading it: a 68-byte PNG whose IDAT
    declared 0.5 GB raised the peak memory by 0.5 GB (found by tests/fuzz/fuzz_load_image.py)."""
    data = bytearray(_png(48, 32, 8, 2, zlib.compress(bytes(4096))))
    data[33:37] = struct.pack(">I", 536_874_041)  # the IDAT length
    path = tmp_path / "chunk.png"
    path.write_bytes(bytes(data))

    result = _run_child(tmp_path, [{"path": str(path)}])[str(path)]

    assert re.search(r"chunk\.png: truncated PNG file \(chunk 'IDAT' declares 536874041 bytes",
                     result["outcome"]), result
    assert result["rss_growth_mib"] < RSS_GROWTH_LIMIT_MIB
