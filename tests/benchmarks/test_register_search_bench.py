"""Registration and search benchmarks: the ops through ``api.run`` against the same library
calls written out by hand.

Ratios are measured against a baseline in the same run; asserts are generous sanity bounds,
the targets are printed beside the numbers.
"""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import skimage.data

import imgstudio.api as api
from tests.benchmarks._timing import interleaved_medians, report, target


def _moving_512() -> tuple[np.ndarray, np.ndarray]:
    """Camera (fixed) and an inverted, rotated, scaled, shifted copy (moving), 512 × 512."""
    fixed = skimage.data.camera()
    m = cv2.getRotationMatrix2D((256, 256), 9.0, 1.05)
    m[:, 2] += (12.0, -9.0)
    moving = 255 - cv2.warpAffine(fixed, m, (512, 512), borderMode=cv2.BORDER_REFLECT)
    return fixed, moving


def _bare_sitk(fixed: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """register.sitk's default settings written as plain SimpleITK calls."""
    import SimpleITK as sitk

    f = sitk.GetImageFromArray(fixed.astype(np.float32) / 255)
    m = sitk.GetImageFromArray(moving.astype(np.float32) / 255)
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=50)
    reg.SetMetricSamplingStrategy(reg.NONE)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(learningRate=4.0, minStep=1e-3,
                                                 numberOfIterations=300, relaxationFactor=0.5,
                                                 gradientMagnitudeTolerance=1e-8)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2, 1])
    reg.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    reg.SetInitialTransform(sitk.CenteredTransformInitializer(
        f, m, sitk.Similarity2DTransform(), sitk.CenteredTransformInitializerFilter.GEOMETRY),
        inPlace=False)
    transform = reg.Execute(f, m)
    out = sitk.Resample(sitk.GetImageFromArray(moving), f, transform, sitk.sitkLinear, 0.0)
    return sitk.GetArrayFromImage(out)


def test_sitk_registration_overhead_of_api_run_on_512_pixels():
    fixed, moving = _moving_512()
    times = interleaved_medians({
        "bare": lambda: _bare_sitk(fixed, moving),
        "api.run": lambda: api.run("register.sitk", moving, fixed=fixed),
    }, repeat=3)
    ratio = times["api.run"] / times["bare"]
    report("register.sitk: 512x512 camera vs inverted similarity copy (defaults)", [
        ("what", "median", "vs bare", "target"),
        ("bare SimpleITK calls", f"{times['bare']:.2f} s", "1.00x", ""),
        ("api.run('register.sitk')", f"{times['api.run']:.2f} s", f"{ratio:.2f}x", "<= 1.10x"),
    ])
    target("api.run('register.sitk') vs bare", ratio, 1.10)
    assert ratio < 1.5


SOURCES = ["astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "page",
           "immunohistochemistry", "hubble_deep_field", "retina", "brick", "gravel", "text"]


def _library(folder, count: int = 200) -> None:
    """``count`` 128 × 128 PNGs: random crops of the sources, rotated and re-exposed."""
    rng = np.random.default_rng(0)
    images = {name: getattr(skimage.data, name)() for name in SOURCES}
    for i in range(count):
        name = SOURCES[i % len(SOURCES)]
        image = images[name]
        scale = max(rng.uniform(256, 512) / max(image.shape[:2]), 160 / min(image.shape[:2]))
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        m = cv2.getRotationMatrix2D((image.shape[1] / 2, image.shape[0] / 2),
                                    rng.uniform(-20, 20), 1.0)
        image = cv2.warpAffine(image, m, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
        y = rng.integers(0, image.shape[0] - 128 + 1)
        x = rng.integers(0, image.shape[1] - 128 + 1)
        tile = np.clip(image[y:y + 128, x:x + 128] * rng.uniform(0.7, 1.2), 0, 255)
        api.save_image(folder / f"{name}_{i:03d}.png", tile.astype(np.uint8))


def _bare_query(index_file, image: np.ndarray, top_k: int = 10, ratio: float = 0.75):
    """The same search written as a plain loop: SIFT, one FLANN k-d tree, per-image ratio test."""
    with np.load(index_file, allow_pickle=False) as data:
        database = data["descriptors"]
        files = json.loads(data["manifest"].tobytes().decode())["files"]
    owner = np.repeat(np.arange(len(files)), [f["count"] for f in files])
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    _, query = cv2.SIFT_create(nfeatures=500).detectAndCompute(grey, None)
    flann = cv2.flann.Index(database, {"algorithm": 1, "trees": 4})
    neighbours, distances = flann.knnSearch(query, 10, params={"checks": 64})
    votes = np.zeros(len(files), np.int64)
    for row, dist in zip(neighbours, distances, strict=True):
        best: dict[int, list[float]] = {}
        for n, d in zip(row, dist, strict=True):
            best.setdefault(int(owner[n]), []).append(float(d))
        for img, ds in best.items():
            second = ds[1] if len(ds) > 1 else dist[-1]
            votes[img] += ds[0] < ratio * ratio * second
    order = np.argsort(-votes, kind="stable")[:top_k]
    return [(files[i]["path"], int(votes[i])) for i in order if votes[i] > 0]


def _naive_query(index_file, image: np.ndarray, ratio: float = 0.75):
    """What a first script often does: one FlannBasedMatcher.knnMatch per indexed image."""
    with np.load(index_file, allow_pickle=False) as data:
        database = data["descriptors"]
        files = json.loads(data["manifest"].tobytes().decode())["files"]
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    _, query = cv2.SIFT_create(nfeatures=500).detectAndCompute(grey, None)
    matcher = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 64})
    scores = []
    for f in files:
        train = database[f["start"]:f["start"] + f["count"]]
        if len(train) < 2:
            scores.append(0)
            continue
        pairs = matcher.knnMatch(query, train, k=2)
        scores.append(sum(1 for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance))
    return scores


def test_search_query_overhead_of_api_run_on_a_200_image_index(tmp_path):
    _library(tmp_path)
    t0 = time.perf_counter()
    table = api.run("search.index", folder=tmp_path)
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    api.run("search.index", folder=tmp_path)
    t_reindex = time.perf_counter() - t0
    index_file = tmp_path / ".imgstudio-index.npz"
    coffee = cv2.resize(skimage.data.coffee(), (300, 200), interpolation=cv2.INTER_AREA)
    query = np.ascontiguousarray(coffee[20:180, 40:260])
    top = api.run("search.query", query, index=tmp_path)
    bare_top = _bare_query(index_file, query)
    assert top.columns["path"][0].rsplit("/", 1)[-1].startswith("coffee")
    assert bare_top[0][0].startswith("coffee")
    times = interleaved_medians({
        "bare": lambda: _bare_query(index_file, query),
        "api.run": lambda: api.run("search.query", query, index=tmp_path),
        "naive": lambda: _naive_query(index_file, query),
    }, repeat=5)
    ratio = times["api.run"] / times["bare"]
    n_desc = sum(table.columns["features"])
    report(f"search: 200 images of 128x128, {n_desc} SIFT descriptors", [
        ("what", "median", "vs bare", "target"),
        ("search.index (first run)", f"{t_index:.2f} s", "", ""),
        ("search.index (nothing changed)", f"{t_reindex * 1e3:.0f} ms", "", ""),
        ("bare FLANN + ratio-test loop", f"{times['bare'] * 1e3:.0f} ms", "1.00x", ""),
        ("api.run('search.query')", f"{times['api.run'] * 1e3:.0f} ms", f"{ratio:.2f}x",
         "<= 1.10x"),
        ("naive knnMatch per image", f"{times['naive'] * 1e3:.0f} ms",
         f"{times['naive'] / times['bare']:.2f}x", "(for reference)"),
    ])
    target("api.run('search.query') vs bare", ratio, 1.10)
    assert ratio < 1.5
    assert t_reindex < t_index
