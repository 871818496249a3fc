"""Hostile project files: every one is a ProjectError naming the file and the problem, refused
before the data it declares is read, within a small memory limit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core import project as project_module
from imgstudio.core.document import LabelsLayer
from imgstudio.core.project import ProjectError, load_project
from tests.core.hostile_projects import (
    Member,
    deflated,
    image_layer,
    manifest,
    npy,
    npy_header,
    small_project,
    stored,
    write_zip,
    zero_bomb,
)

GRAY = np.arange(20, dtype=np.uint8).reshape(4, 5)
REPO = Path(__file__).resolve().parents[2]


def _one(path, layer=None, data=None, **extra):
    """A one-layer project whose layer meta or member data is replaced."""
    member = deflated("layers/0000.npy", npy(GRAY) if data is None else data)
    return small_project(path, layers=[layer or image_layer(0)], members=[member], **extra)


def _layers(path, *metas, members=None):
    members = members if members is not None else [
        deflated(f"layers/{n:04d}.npy", npy(GRAY)) for n in range(len(metas))]
    return small_project(path, layers=list(metas), members=members)


def _labels(n=0, **meta):
    return {**image_layer(n), "kind": "labels", **meta}


def _shapes_layer(shapes, **meta):
    meta = {"id": "s", "kind": "shapes", "name": "boxes", "shapes": shapes, **meta}
    return meta


def _box(**fields):
    return {"kind": "box", "points": [[0, 0], [4, 5]], "text": "", "score": None,
            "color": None, "extra": {}, **fields}


def _deep(depth):
    return "[" * depth + "]" * depth


def _raw(path, data: bytes):
    path.write_bytes(data)
    return path


def _raw_manifest(path, text: bytes):
    return write_zip(path, [deflated("manifest.json", text)])


# (case id, builder(path) -> path, regex the message must match after the file name)
CASES = [
    # sizes declared before anything is read
    ("manifest declaring 3.6 GB", lambda p: write_zip(p, [zero_bomb("manifest.json", 3_600_000_000)]),
     r"manifest.json declares 3.35 GiB, more than the 32 MiB allowed"),
    ("layer declaring 3.6 GB", lambda p: small_project(p, members=[
        zero_bomb("layers/0000.npy", 3_600_000_000, npy_header((60000, 60000)))]),
     r"layer 0 \('image 0'\): image of 60000 × 60000 pixels \(3.6 GP.*exceeds the limit"),
    ("npy header declaring 1 TiB", lambda p: _one(p, data=npy_header((2**20, 2**20))),
     r"image of 1048576 × 1048576 pixels .*1.02e\+03 GiB in memory\) exceeds the limit"),
    ("npy header larger than its member", lambda p: _one(p, data=npy_header((40, 50)) + b"x" * 20),
     r"holds \d+ bytes, but its header declares uint8 data of shape \(40, 50\)"),
    ("3000 layers on one member", lambda p: small_project(p, layers=[
        image_layer(n, file="layers/0000.npy") for n in range(3000)]),
     r"layer 1 \('image 1'\): the member 'layers/0000.npy' is already the data of layer 0"),
    ("too many layers", lambda p: small_project(
        p, layers=[_shapes_layer([], id=f"s{n}") for n in range(100_001)], members=[]),
     r"it lists 100001 layers; at most 100000 are read"),
    # zip members imgstudio never writes
    ("encrypted member", lambda p: _layers(p, image_layer(0), members=[
        Member("layers/0000.npy", npy(GRAY), flags=1)]), r"'layers/0000.npy' is encrypted"),
    ("encrypted manifest", lambda p: write_zip(p, [Member("manifest.json", manifest([]), flags=1)]),
     r": manifest.json is encrypted"),
    ("zstd member", lambda p: _layers(p, image_layer(0), members=[
        Member("layers/0000.npy", npy(GRAY), method=93)]), r"compression method 93 \(zstd\)"),
    ("AES member", lambda p: _layers(p, image_layer(0), members=[
        Member("layers/0000.npy", npy(GRAY), method=99, flags=1)]), r"is encrypted"),
    ("AES method alone", lambda p: _layers(p, image_layer(0), members=[
        Member("layers/0000.npy", npy(GRAY), method=99)]), r"compression method 99 \(AES\)"),
    ("bzip2 member", lambda p: _layers(p, image_layer(0), members=[
        Member("layers/0000.npy", npy(GRAY), method=12)]), r"compression method 12 \(bzip2\)"),
    ("member named twice", lambda p: _layers(p, image_layer(0), members=[
        deflated("layers/0000.npy", npy(GRAY)), deflated("layers/0000.npy", npy(GRAY))]),
     r"two members named 'layers/0000.npy'"),
    ("missing member", lambda p: _one(p, image_layer(0, file="layers/9.npy")),
     r"layer 0 \('image 0'\): the member 'layers/9.npy' is missing"),
    ("file not a string", lambda p: _one(p, image_layer(0, file=7)), r"file must be the name"),
    ("corrupt deflate data", lambda p: _layers(p, image_layer(0), members=[
        Member("layers/0000.npy", b"\xff" * 200, method=8, file_size=208, crc=0)]),
     r"layer 0 .*(Error|error)"),
    ("bad CRC", lambda p: _layers(p, image_layer(0), members=[
        Member("layers/0000.npy", npy(GRAY), crc=1234)]), r"Bad CRC-32"),
    ("member shorter than declared", lambda p: _layers(p, image_layer(0), members=[
        Member("layers/0000.npy", npy(GRAY)[:-5], file_size=len(npy(GRAY)), crc=0)]),
     r"layer 0 .*(truncated|EOF|BadZipFile|Bad CRC)"),
    # the manifest
    ("not a zip", lambda p: _raw(p, b"GIF89a" + bytes(100)), r"BadZipFile"),
    ("empty file", lambda p: _raw(p, b""), r"BadZipFile"),
    ("truncated zip", lambda p: _raw(p, small_project(p).read_bytes()[:-30]), r"BadZipFile"),
    ("manifest missing", lambda p: write_zip(p, [stored("readme.txt", b"hi")]),
     r"manifest.json is missing"),
    ("manifest not JSON", lambda p: _raw_manifest(p, b"{'format': 1"), r"manifest.json: not valid JSON"),
    ("manifest not UTF-8", lambda p: _raw_manifest(p, b'{"format": "\xff\xfe"}'),
     r"manifest.json: not valid JSON"),
    ("manifest nested 100000 deep", lambda p: _raw_manifest(
        p, b'{"format": "imgstudio-project", "version": 2, "view": {"a": ' +
        _deep(100_000).encode() + b"}}"), r"nested too deeply"),
    ("manifest nested 200 deep", lambda p: _raw_manifest(
        p, b'{"format": "imgstudio-project", "version": 2, "view": {"a": ' +
        _deep(200).encode() + b"}}"), r"nested too deeply \(more than 64 levels\)"),
    ("manifest a list", lambda p: _raw_manifest(p, b"[1, 2]"), r"not an imgstudio project"),
    ("huge integer", lambda p: _raw_manifest(
        p, b'{"format": "imgstudio-project", "version": ' + b"9" * 5000 + b"}"),
     r"not valid JSON: Exceeds the limit"),
    ("version missing", lambda p: _raw_manifest(p, b'{"format": "imgstudio-project"}'),
     r"format version must be a whole number >= 1; got None"),
    ("version a string", lambda p: _raw_manifest(
        p, b'{"format": "imgstudio-project", "version": "2"}'), r"format version must be"),
    ("version true", lambda p: _raw_manifest(
        p, b'{"format": "imgstudio-project", "version": true}'), r"format version must be"),
    ("version newer", lambda p: _raw_manifest(
        p, b'{"format": "imgstudio-project", "version": 3}'), r"format version 3 is newer"),
    ("layers not a list", lambda p: small_project(p, layers={"a": 1}, members=[]),
     r"layers must be a list; got \{'a': 1\}"),
    ("layer not an object", lambda p: small_project(p, layers=["x"], members=[]),
     r"layer 0 must be an object; got 'x'"),
    ("view a list", lambda p: _one(p, view=[1]), r"view must be an object; got \[1\]"),
    ("view a string", lambda p: _one(p, view="zoom"), r"view must be an object"),
    ("recovered_from not a string", lambda p: _one(p, view={"recovered_from": 5}),
     r"view: recovered_from must be a string; got 5"),
    ("active names no layer", lambda p: _one(p, active="elsewhere"),
     r"active must be the id of one of its layers or null; got 'elsewhere'"),
    ("active a number", lambda p: _one(p, active=0), r"active must be the id"),
    ("recipe not a recipe", lambda p: _one(p, recipe={"format": "x"}), r"its recipe: not an"),
    ("recipe nested field", lambda p: _one(p, recipe={
        "format": "imgstudio-recipe", "version": 2, "steps": [{"op": "basic.invert",
                                                              "inputs": {"image": [[1]]}}]}),
     r"its recipe: step 1 \(basic.invert\): input image"),
    ("recipe_layers a list", lambda p: _one(p, recipe={
        "format": "imgstudio-recipe", "version": 2, "steps": []}, recipe_layers=[1]),
     r"recipe_layers must map layer names to ids"),
    # layer fields: exact types
    ("duplicate ids", lambda p: _layers(p, image_layer(0), image_layer(1, id="layer-0")),
     r"layer 1 \('image 1'\): id 'layer-0' is also the id of layer 0"),
    ("id a number", lambda p: _one(p, image_layer(0, id=7)), r"id must be a non-empty string"),
    ("id empty", lambda p: _one(p, image_layer(0, id="")), r"id must be a non-empty string"),
    ("kind unknown", lambda p: _one(p, image_layer(0, kind="video")),
     r"layer 0: kind must be one of image, labels, points, shapes; got 'video'"),
    ("kind a list", lambda p: _one(p, image_layer(0, kind=["image"])), r"kind must be one of"),
    ('visible "false"', lambda p: _one(p, image_layer(0, visible="false")),
     r"visible must be true or false; got 'false'"),
    ("visible 0", lambda p: _one(p, image_layer(0, visible=0)), r"visible must be true or false"),
    ("name a number", lambda p: _one(p, image_layer(0, name=5)),
     r"layer 0: name must be a string; got 5"),
    ("name an object", lambda p: _one(p, image_layer(0, name={"a": 1})), r"name must be a string"),
    ("opacity a string", lambda p: _one(p, image_layer(0, opacity="0.5")),
     r"opacity must be a number in \[0, 1\]; got '0.5'"),
    ("opacity 2", lambda p: _one(p, image_layer(0, opacity=2)), r"opacity must be a number"),
    ("opacity NaN", lambda p: _one(p, image_layer(0, opacity=float("nan"))), r"opacity must be"),
    ("opacity true", lambda p: _one(p, image_layer(0, opacity=True)), r"opacity must be"),
    ("blend mode unknown", lambda p: _one(p, image_layer(0, blend_mode="dodge")),
     r"blend_mode must be one of normal, .*; got 'dodge'"),
    ("contours a string", lambda p: _one(p, _labels(0, contours="yes")),
     r"contours must be true or false; got 'yes'"),
    # layer data: dtype and shape checked from the header
    ("pickled object array", lambda p: _one(p, data=npy_header((2,), "|O") + b"\x80" * 30),
     r"data type '\|O' is not a plain number type"),
    ("structured dtype", lambda p: _one(p, data=npy(np.zeros((2, 2), "u1,u1"))),
     r"is not a plain number type"),
    ("complex image", lambda p: _one(p, data=npy(np.zeros((2, 2), np.complex64))),
     r"is not a plain number type"),
    ("int64 image", lambda p: _one(p, data=npy(np.zeros((2, 2), np.int64))),
     r"must be uint8, uint16 or float32; got int64"),
    ("7-channel image", lambda p: _one(p, data=npy(np.zeros((2, 2, 7), np.uint8))),
     r"an image layer has shape \(H, W\), \(H, W, 3\) or \(H, W, 4\); got \(2, 2, 7\)"),
    ("4-D image", lambda p: _one(p, data=npy(np.zeros((2, 2, 3, 1), np.uint8))),
     r"an image layer has shape"),
    ("empty image", lambda p: _one(p, data=npy(np.zeros((0, 5), np.uint8))), r"is not positive"),
    ("float labels", lambda p: _one(p, _labels(0), data=npy(np.zeros((4, 5), np.float32))),
     r"must be an integer array; got float32"),
    ("3-D labels", lambda p: _one(p, _labels(0), data=npy(np.zeros((4, 5, 3), np.int32))),
     r"a labels layer has shape \(H, W\)"),
    ("points of 3 columns", lambda p: _one(p, {**image_layer(0), "kind": "points"},
                                           data=npy(np.zeros((4, 3)))),
     r"a points layer holds numbers of shape \(N, 2\)"),
    ("non-finite points", lambda p: _one(p, {**image_layer(0), "kind": "points"},
                                         data=npy(np.full((2, 2), np.inf))),
     r"must contain only finite coordinates"),
    ("npy version 3", lambda p: _one(p, data=npy_header((4, 5), version=(3, 0)) + GRAY.tobytes()),
     r"\.npy format version \(3, 0\)"),
    ("not npy at all", lambda p: _one(p, data=b"\x89PNG\r\n\x1a\n" + bytes(100)),
     r"layer 0 \('image 0'\): the member 'layers/0000.npy' is not a valid \.npy file"),
    ("npy header not a dict", lambda p: _one(
        p, data=b"\x93NUMPY\x01\x00\x10\x00" + b"[1, 2, 3]      \n"), r"not a valid \.npy file"),
    ("negative shape", lambda p: _one(p, data=npy_header((-4, 5)) + GRAY.tobytes()),
     r"not a valid \.npy file|declares the shape"),
    # shapes in the manifest
    ("shapes not a list", lambda p: small_project(p, layers=[_shapes_layer({})], members=[]),
     r"layer 0 \('boxes'\): shapes must be a list"),
    ("shape not an object", lambda p: small_project(p, layers=[_shapes_layer([3])], members=[]),
     r"shape 0 must be an object"),
    ("shape kind unknown", lambda p: small_project(
        p, layers=[_shapes_layer([_box(kind="circle")])], members=[]),
     r"shape 0: kind must be one of box, polygon, polyline; got 'circle'"),
    ("shape points flat", lambda p: small_project(
        p, layers=[_shapes_layer([_box(points=[0, 0, 4, 5])])], members=[]),
     r"points must be a list of \[x, y\] numbers"),
    ("shape points strings", lambda p: small_project(
        p, layers=[_shapes_layer([_box(points=[["0", 0], [1, 1]])])], members=[]),
     r"points must be a list of \[x, y\] numbers"),
    ("box of 3 points", lambda p: small_project(
        p, layers=[_shapes_layer([_box(points=[[0, 0], [1, 1], [2, 2]])])], members=[]),
     r"a box has 2 corners; got 3 points"),
    ("shape text a number", lambda p: small_project(
        p, layers=[_shapes_layer([_box(text=5)])], members=[]), r"text must be a string"),
    ("shape score a string", lambda p: small_project(
        p, layers=[_shapes_layer([_box(score="high")])], members=[]), r"score must be a number"),
    ("shape extra a list", lambda p: small_project(
        p, layers=[_shapes_layer([_box(extra=[1])])], members=[]), r"extra must be an object"),
    ("shape point too large", lambda p: _raw_manifest(p, manifest(
        [_shapes_layer([_box()])]).replace(b"[4, 5]", b"[4, 1" + b"0" * 400 + b"]")),
     r"points must be finite \[x, y\] numbers"),
    ("shape point NaN", lambda p: small_project(
        p, layers=[_shapes_layer([_box(points=[[0, float("nan")], [1, 1]])])], members=[]),
     r"shape 0: points must be finite"),
    ("shapes layer with a file", lambda p: small_project(
        p, layers=[_shapes_layer([], file="layers/0000.npy")]), r"keeps its shapes in the manifest"),
    ("image layer with shapes", lambda p: _one(p, image_layer(0, shapes=[])),
     r"only a shapes layer has shapes"),
]


@pytest.mark.parametrize(("build", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_project_is_one_project_error_naming_the_file_and_the_problem(
        tmp_path, build, reason):
    path = build(tmp_path / "hostile.imgs")
    with pytest.raises(ProjectError) as info:
        load_project(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(f"cannot open project {path}: "), message
    assert re.search(reason, message), message
    assert "\n" not in message


@pytest.fixture
def read_counter(monkeypatch):
    """Bytes read from each zip member (every read goes through ZipExtFile.read)."""
    counts: dict[str, int] = {}
    real = zipfile.ZipExtFile.read

    def read(self, n=-1):
        data = real(self, n)
        counts[self.name] = counts.get(self.name, 0) + len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    return counts


@pytest.mark.parametrize("case", ["manifest declaring 3.6 GB", "layer declaring 3.6 GB",
                                  "npy header declaring 1 TiB", "npy header larger than its member",
                                  "3000 layers on one member"])
def test_declared_sizes_are_refused_before_the_data_is_read(tmp_path, read_counter, case):
    build = dict((c[0], c[1]) for c in CASES)[case]
    path = build(tmp_path / "bomb.imgs")
    with pytest.raises(ProjectError):
        load_project(path)
    # the manifest is read (a few KB), each layer member's header at most, never its data
    assert read_counter.get("manifest.json", 0) < 1_000_000
    assert read_counter.get("layers/0000.npy", 0) <= 4096, read_counter


def test_all_layers_together_stay_within_the_memory_budget(tmp_path, read_counter, monkeypatch):
    monkeypatch.setenv("IMGSTUDIO_MAX_PROJECT_BYTES", "50")  # room for two 20-byte layers
    path = _layers(tmp_path / "many.imgs", image_layer(0), image_layer(1), image_layer(2))
    with pytest.raises(ProjectError, match=r"layer 2 \('image 2'\): the layers would take 60 "
                                           r"bytes in memory, more than the limit of 50 bytes; "
                                           r"set IMGSTUDIO_MAX_PROJECT_BYTES") as info:
        load_project(path)
    assert str(path) in str(info.value)
    assert read_counter["layers/0002.npy"] < 200  # its header only
    monkeypatch.setenv("IMGSTUDIO_MAX_PROJECT_BYTES", "60")
    assert len(load_project(path).document) == 3


def test_the_default_budget_follows_the_pixel_limit(monkeypatch):
    monkeypatch.delenv("IMGSTUDIO_MAX_PROJECT_BYTES", raising=False)
    monkeypatch.setenv("IMGSTUDIO_MAX_PIXELS", "1000")
    assert project_module.max_project_bytes() == 16_000
    monkeypatch.setenv("IMGSTUDIO_MAX_PROJECT_BYTES", "lots")
    with pytest.raises(ValueError, match="IMGSTUDIO_MAX_PROJECT_BYTES must be a number"):
        project_module.max_project_bytes()


def test_a_fifo_named_imgs_is_refused_without_blocking(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "pipe.imgs"
    os.mkfifo(path)
    with pytest.raises(ProjectError, match=r"pipe.imgs: not a regular file \(it is a FIFO\)"):
        load_project(path)


def test_a_link_to_a_device_is_refused(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    path = tmp_path / "zero.imgs"
    path.symlink_to("/dev/zero")
    with pytest.raises(ProjectError, match=r"zero.imgs: not a regular file \(it is a "
                                           r"character device\)"):
        load_project(path)


def test_a_directory_named_imgs_is_refused(tmp_path):
    (tmp_path / "dir.imgs").mkdir()
    with pytest.raises(ProjectError, match=r"dir.imgs: (not a regular file|it is a directory)"):
        load_project(tmp_path / "dir.imgs")


# -- what is still read: the variants numpy and the editor produce -----------------------------
def test_big_endian_fortran_and_version_2_layer_files_load_exactly(tmp_path):
    image = np.random.default_rng(1).integers(0, 65535, (6, 7, 3)).astype(">u2")
    fortran = np.asfortranarray(np.random.default_rng(2).random((6, 7), dtype=np.float32))
    v2 = npy_header((4, 5), version=(2, 0)) + GRAY.tobytes()
    path = _layers(tmp_path / "variants.imgs", image_layer(0), image_layer(1), image_layer(2),
                   members=[deflated("layers/0000.npy", npy(image)),
                            deflated("layers/0001.npy", npy(fortran)),
                            stored("layers/0002.npy", v2)])
    doc = load_project(path).document
    assert doc[0].data.dtype == np.uint16 and doc[0].data.dtype.isnative
    assert np.array_equal(doc[0].data, image)
    assert np.array_equal(doc[1].data, fortran) and doc[1].data.dtype == np.float32
    assert np.array_equal(doc[2].data, GRAY)
    assert all(layer.data.flags.writeable for layer in doc)


def test_layers_of_different_sizes_load(tmp_path):
    """A geometry op (resize, crop) changes only the layer it runs on, so the editor saves
    documents whose labels are not the size of the image: they must open again."""
    path = _layers(tmp_path / "sizes.imgs", image_layer(0), _labels(1),
                   members=[deflated("layers/0000.npy", npy(GRAY)),
                            deflated("layers/0001.npy", npy(np.ones((3, 2), np.uint8)))])
    doc = load_project(path).document
    assert doc[0].shape == (4, 5) and doc[1].shape == (3, 2)
    assert isinstance(doc[1], LabelsLayer) and doc[1].data.dtype == np.int32


def test_unknown_keys_and_nan_scores_are_kept_as_the_writer_wrote_them(tmp_path):
    path = small_project(tmp_path / "s.imgs", layers=[
        _shapes_layer([_box(score=float("nan"))], note="from a newer minor version")],
        members=[], view={"zoom": 2.5, "recovered_from": ""})
    project = load_project(path)
    shape = project.document[0].data[0]
    assert np.isnan(shape.score) and shape.points.shape == (2, 2)
    assert project.view == {"zoom": 2.5, "recovered_from": ""}


# -- peak memory: the campaign's files under an address-space limit ---------------------------
_CHILD = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    from imgstudio.core.project import ProjectError, load_project
    out = {}
    for path in sys.argv[1:]:
        try:
            project = load_project(path)
            out[path] = ["loaded", [layer.data.shape for layer in project.document]]
        except ProjectError as exc:
            out[path] = ["ProjectError", str(exc)]
        except BaseException as exc:
            out[path] = [type(exc).__name__, str(exc)]
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child forked from a big
    # pytest process would report the parent's peak
    status = open("/proc/self/status").read()
    out["maxrss_mib"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps(out))
""")


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and ru_maxrss in KiB: Linux")
def test_the_campaigns_bombs_are_refused_within_1_5_gib(tmp_path):
    cases = {c[0]: c for c in CASES}
    paths = {}
    for name in ("manifest declaring 3.6 GB", "layer declaring 3.6 GB",
                 "npy header declaring 1 TiB"):
        paths[name] = cases[name][1](tmp_path / f"{len(paths)}.imgs")
    # 3000 layers naming one 2 MB member: 6 GB if each layer read it
    big = np.zeros((1000, 2000), np.uint8)
    paths["3000 layers on one member"] = small_project(
        tmp_path / "3000.imgs", layers=[image_layer(n, file="layers/0000.npy")
                                        for n in range(3000)],
        members=[deflated("layers/0000.npy", npy(big))])
    # a control: a real 1000 × 2000 RGB project loads under the same limit
    rgb = np.random.default_rng(0).integers(0, 256, (1000, 2000, 3), dtype=np.uint8)
    paths["control"] = _layers(tmp_path / "control.imgs", image_layer(0),
                               members=[deflated("layers/0000.npy", npy(rgb))])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    code = _CHILD.replace("AS_LIMIT", str(int(1.5 * 2**30)))
    proc = subprocess.run([sys.executable, "-c", code, *map(str, paths.values())],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for name, path in paths.items():
        kind, detail = out[str(path)]
        if name == "control":
            assert kind == "loaded" and detail == [[1000, 2000, 3]], (name, kind, detail)
        else:
            assert kind == "ProjectError" and str(path) in detail, (name, kind, detail)
    assert out["maxrss_mib"] < 400, out["maxrss_mib"]


# -- every field of a valid manifest, replaced by each hostile value ---------------------------
HOSTILE_VALUES = [None, True, 0, -1, 2**40, 1e308, float("nan"), "", "false", "layers/0000.npy",
                  [], [[0, 0]], {}, {"a": [1]}]


def _paths(value, path=()):
    yield path
    children = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*path, key))


def _replaced(value, path, new):
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return copy


def test_every_manifest_field_of_the_wrong_type_is_a_project_error(tmp_path):
    from imgstudio.core.document import Document, ImageLayer, PointsLayer, Shape, ShapesLayer
    from imgstudio.core.project import save_project
    from imgstudio.core.recipe import Recipe, RecipeStep

    doc = Document([ImageLayer(GRAY, "gray"), LabelsLayer(np.ones((4, 5), np.int32), "seeds"),
                    PointsLayer([[1.0, 2.0]], "pts"),
                    ShapesLayer([Shape("box", np.array([[0, 0], [2, 3.0]]), "a", 0.5)], "b")])
    recipe = Recipe(("gray",), (RecipeStep("basic.gamma", {"gamma": 2.0}, {"image": "gray"},
                                           "gray"),), layer_ids={"gray": doc[0].id})
    valid = tmp_path / "valid.imgs"
    save_project(valid, doc, recipe, {"zoom": 1.5})
    with zipfile.ZipFile(valid) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    good = json.loads(dict(members)["manifest.json"])
    path = tmp_path / "mutated.imgs"
    outcomes = {"loaded": 0, "refused": 0}
    for where in _paths(good):
        for value in HOSTILE_VALUES:
            text = json.dumps(_replaced(good, where, value)).encode()
            write_zip(path, [deflated("manifest.json", text),
                             *(deflated(n, b) for n, b in members if n != "manifest.json")])
            try:
                load_project(path)
            except ProjectError as exc:
                assert str(exc).startswith(f"cannot open project {path}: "), (where, value, exc)
                outcomes["refused"] += 1
            else:
                outcomes["loaded"] += 1
    # most replacements are refused; those that load are values of the right type
    assert outcomes["refused"] > 5 * outcomes["loaded"] > 0, outcomes
