"""Corpus test for load_image: valid files of every format, truncated at many offsets and
mutated by byte flips. Every outcome must be the original image (the full decode for JPEG) or
an ImageIOError naming the file: never another exception, a partial image, a hang or an
allocation beyond a memory limit.

The cases run in one child process with an address-space limit (RLIMIT_AS) and a small pixel
limit, so a mutated header that declares a large image cannot make the test machine swap; a
per-case alarm and the parent's timeout catch hangs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
AS_LIMIT = 1536 * 2**20  # 1.5 GiB of address space for the child (it needs ~0.7 GiB to start)
CHILD_MAX_PIXELS = 1_000_000
TRUNCATIONS = 40
TAIL_CUTS = 10  # cut, then the file's last 16 bytes put back (JPEG's FF D9, PNG's IEND...)
MUTATIONS = 40
SHAPE = (32, 48)


def _image(channels: int, dtype: str) -> np.ndarray:
    """A smooth gradient with some noise: compressible, yet every pixel matters."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    base = (xx * 5 + yy * 3)[..., None] + np.arange(max(channels, 1)) * 40
    base = base + rng.integers(0, 8, base.shape)
    if dtype == "uint16":
        base = base * 97
    elif dtype == "int16":
        base = base * 13 - 1024
    elif dtype == "float32":
        return (base / base.max()).astype(np.float32)[..., 0] if channels == 1 else (
            base / base.max()).astype(np.float32)
    image = base.astype(dtype) if dtype != "uint8" else (base % 256).astype(np.uint8)
    return image[..., 0] if channels == 1 else image


def _write_formats(folder: Path) -> dict[str, tuple[Path, np.ndarray, str]]:
    """Write one valid file per format; return name -> (path, source image, kind).

    kind: "lossless" (must load equal), "lossy" (JPEG: compared with its own full decode),
    "checked" (lossless and every byte covered by a checksum: a flip must not go unnoticed).
    """
    import SimpleITK as sitk
    import tifffile
    from PIL import Image

    from imgstudio.core.io import save_image

    rgb, rgba = _image(3, "uint8"), _image(4, "uint8")
    gray16 = _image(1, "uint16")
    ct = _image(1, "int16")
    made: dict[str, tuple[Path, np.ndarray, str]] = {}

    def add(name, filename, image, kind, write=None):
        path = folder / filename
        (write or (lambda p, a: save_image(p, a)))(path, image)
        made[name] = (path, image, kind)

    add("png8", "rgba.png", rgba, "checked")
    add("png16", "gray16.png", gray16, "checked")
    add("jpeg", "photo.jpg", rgb, "lossy")
    add("jpeg-progressive", "progressive.jpg", rgb, "lossy",
        lambda p, a: Image.fromarray(a).save(p, quality=90, progressive=True))
    add("tiff-zlib", "zlib.tif", rgb, "lossless")
    add("tiff-strips", "strips.tif", gray16, "lossless",
        lambda p, a: tifffile.imwrite(p, a, rowsperstrip=5))
    add("tiff-tiled", "tiled.tif", rgb, "lossless",
        lambda p, a: tifffile.imwrite(p, a, tile=(16, 16), compression="zlib",
                                      photometric="rgb"))
    add("tiff-lzw", "lzw.tif", rgb, "lossless",
        lambda p, a: Image.fromarray(a).save(p, compression="tiff_lzw"))
    add("tiff-float", "float.tif", _image(1, "float32"), "lossless")
    add("webp", "lossless.webp", rgba, "lossless")
    add("bmp", "picture.bmp", rgb, "lossless")
    add("nrrd", "scan.nrrd", gray16, "lossless")
    add("mha", "scan.mha", gray16, "lossless")
    add("nifti", "ct.nii", ct, "lossless")
    add("nifti-gz", "ct.nii.gz", ct, "checked")
    add("dicom", "slice.dcm", gray16, "lossless",
        lambda p, a: sitk.WriteImage(sitk.GetImageFromArray(a), str(p)))
    return made


def _variants(data: bytes, seed: int):
    """Truncations at evenly spread offsets, cuts with the tail put back, and byte flips."""
    n = len(data)
    for i in range(TRUNCATIONS):
        cut = max(1, n * i // TRUNCATIONS)
        yield "truncated", f"cut{cut}", data[:cut]
    for i in range(1, TAIL_CUTS + 1):
        cut = n * i // (TAIL_CUTS + 1)
        yield "truncated", f"cut{cut}+tail", data[:cut] + data[-16:]
    rng = np.random.default_rng(seed)
    for i in range(MUTATIONS):
        mutated = bytearray(data)
        for position in rng.integers(0, n, 1 + i % 4):
            mutated[position] ^= int(rng.integers(1, 256))
        yield "mutated", f"flip{i}", bytes(mutated)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Write the corpus, run every case in a memory-limited child, return (cases, results)."""
    from imgstudio.core.io import load_image

    folder = tmp_path_factory.mktemp("corpus")
    originals = folder / "originals"
    originals.mkdir()
    cases = []
    for index, (name, (path, image, kind)) in enumerate(_write_formats(originals).items()):
        reference = load_image(path)  # the full decode, which must equal the source
        if kind != "lossy":
            expected = image if image.dtype != np.int16 else (
                image.astype(np.int32) + 32768).astype(np.uint16)
            np.testing.assert_array_equal(reference, expected)
            assert reference.dtype == expected.dtype
        np.save(folder / f"{name}.npy", reference)
        for mode, label, data in _variants(path.read_bytes(), seed=index):
            target = folder / name / label / path.name
            target.parent.mkdir(parents=True)
            target.write_bytes(data)
            cases.append({"format": name, "kind": kind, "mode": mode, "label": label,
                          "path": str(target), "reference": str(folder / f"{name}.npy")})
    spec = folder / "cases.json"
    spec.write_text(json.dumps(cases))
    env = dict(os.environ, IMGSTUDIO_MAX_PIXELS=str(CHILD_MAX_PIXELS), OMP_NUM_THREADS="1",
               ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS="1", PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.core.test_io_corpus import _child; "
         "_child(sys.argv[1])", str(spec)],
        capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - started
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = {line["path"]: line for line in lines if "outcome" in line}
    summary = next((line for line in lines if "peak_rss_mib" in line), {})
    assert proc.returncode == 0 and summary, (
        f"child failed (rc {proc.returncode}) after {len(results)} of {len(cases)} cases; last "
        f"started: {lines[-1] if lines else None}\n{proc.stderr[-3000:]}")
    counts = Counter((case["format"], results[case["path"]]["outcome"]) for case in cases)
    print(f"\ncorpus: {len(cases)} cases in {elapsed:.1f} s, child peak RSS "
          f"{summary['peak_rss_mib']:.0f} MiB; outcomes: "
          + ", ".join(f"{fmt}/{outcome}={n}" for (fmt, outcome), n in sorted(counts.items())))
    return cases, results



def _peak_kib() -> int:
    """This process's peak RSS (VmHWM) in KiB. Not ru_maxrss: Linux keeps that across execve,
    so a child started from a big pytest process would report the parent's peak."""
    with open("/proc/self/status") as fh:
        return int(fh.read().split("VmHWM:")[1].split()[0])

def _child(spec: str) -> None:
    """Run the cases of ``spec`` (in the child): print one JSON line per case."""
    import resource
    import signal

    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    from imgstudio.core.io import ImageIOError, load_image

    def alarm(signum, frame):
        raise TimeoutError("load_image took more than 10 s")

    signal.signal(signal.SIGALRM, alarm)
    for case in json.loads(Path(spec).read_text()):
        print(json.dumps({"started": case["path"]}), flush=True)
        signal.alarm(10)
        try:
            image = load_image(case["path"])
        except ImageIOError as exc:
            named = Path(case["path"]).name in str(exc)
            outcome, detail = ("error" if named else "error-not-naming-file"), str(exc)
        except BaseException as exc:  # noqa: BLE001 - any other exception is the finding
            outcome, detail = f"raised-{type(exc).__name__}", str(exc)[:300]
        else:
            outcome, detail = _judge(image, np.load(case["reference"]), case)
        finally:
            signal.alarm(0)
        print(json.dumps({"path": case["path"], "outcome": outcome, "detail": detail}),
              flush=True)
    peak = _peak_kib() / 1024
    print(json.dumps({"peak_rss_mib": peak}), flush=True)


def _judge(image: np.ndarray, reference: np.ndarray, case: dict) -> tuple[str, str]:
    """Classify a loaded image: equal to the reference, or (where allowed) another valid one."""
    valid = (image.dtype in (np.uint8, np.uint16, np.float32) and image.size > 0
             and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))))
    if not valid:
        return "invalid-image", f"{image.shape} {image.dtype}"
    if image.dtype == reference.dtype and image.shape == reference.shape and np.array_equal(
            image, reference, equal_nan=True):
        return "equal", ""
    if case["mode"] == "mutated" and case["kind"] in ("lossless", "lossy"):
        # No checksum covers these bytes: a flipped pixel or tag byte is a different, complete
        # image (same for a lossy file whose entropy-coded data changed).
        return "other-valid-image", f"{image.shape} {image.dtype}"
    return "partial-or-wrong-image", f"{image.shape} {image.dtype} vs {reference.shape}"


FORMAT_NAMES = ["png8", "png16", "jpeg", "jpeg-progressive", "tiff-zlib", "tiff-strips",
                "tiff-tiled", "tiff-lzw", "tiff-float", "webp", "bmp", "nrrd", "mha", "nifti",
                "nifti-gz", "dicom"]
ALLOWED = {"equal", "error", "other-valid-image"}


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_every_damaged_file_loads_equal_or_raises_image_io_error_naming_it(corpus, fmt):
    cases, results = corpus
    mine = [case for case in cases if case["format"] == fmt]
    bad = [(case["label"], results[case["path"]]["outcome"], results[case["path"]]["detail"])
           for case in mine if results[case["path"]]["outcome"] not in ALLOWED]

    assert len(mine) == TRUNCATIONS + TAIL_CUTS + MUTATIONS
    assert not bad, bad


def test_truncations_are_refused_not_filled(corpus):
    """A cut file is never accepted as a different image (the grey or zero filler of old)."""
    cases, results = corpus
    refused = [case for case in cases if case["mode"] == "truncated"
               and results[case["path"]]["outcome"] == "error"]
    truncated = [case for case in cases if case["mode"] == "truncated"]

    assert all(results[case["path"]]["outcome"] in ("equal", "error") for case in truncated)
    assert len(refused) >= 0.9 * len(truncated)  # the rest: cuts of trailing bytes only
