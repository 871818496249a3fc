"""Content-based image search: index a folder's local features, query it with an image.

The index is one ``.npz`` file (``numpy.savez``, no pickle) holding every image's descriptors
stacked in one array plus a JSON manifest (UTF-8 bytes as a uint8 array) listing, per image, its path
relative to the indexed folder, its size and modification time (for incremental re-indexing)
and the slice of the descriptor array it owns. It is written atomically (temporary file, then
``os.replace``), so a failed or cancelled run leaves the previous index intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from imgstudio.core.editor import Editor, Wizard
from imgstudio.core.progress import Progress
from imgstudio.core.spec import operation
from imgstudio.core.types import IMAGE_DTYPES, Image, Range, Table, check_image, dtype_max
from imgstudio.ops._pixels import luma, token

#: The index file that ``search.index`` writes inside the folder by default.
INDEX_NAME = ".imgstudio-index.npz"
FORMAT = "imgstudio-search-index"
VERSION = 1
#: Images are shrunk to at most this many pixels a side before features are extracted.
MAX_SIDE = 1024
#: Neighbours fetched per query descriptor from the FLANN index over all images.
KNN = 10


def _grey_u8(image: np.ndarray) -> np.ndarray:
    """Any loaded image as contiguous uint8 grey, shrunk to at most MAX_SIDE a side."""
    import cv2

    values = image.astype(np.float32)
    if values.ndim == 3:
        values = luma(values)
    if image.dtype in IMAGE_DTYPES:
        values = values * np.float32(255.0 / dtype_max(image.dtype))
    else:  # other data a file can hold (e.g. int16 CT): stretch its own range
        lo, hi = float(values.min()), float(values.max())
        values = (values - lo) * np.float32(255.0 / (hi - lo)) if hi > lo else values * 0
    grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    side = max(grey.shape[:2])
    if side > MAX_SIDE:
        scale = MAX_SIDE / side
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(grey)


def _descriptors(grey: np.ndarray, detector: str, max_features: int) -> np.ndarray:
    """(N, 128) float32 SIFT or (N, 32) uint8 ORB descriptors; N may be 0."""
    import cv2

    if detector == "sift":
        _, desc = cv2.SIFT_create(nfeatures=max_features).detectAndCompute(grey, None)
        return np.zeros((0, 128), np.float32) if desc is None else desc.astype(np.float32)
    _, desc = cv2.ORB_create(nfeatures=max_features).detectAndCompute(grey, None)
    return np.zeros((0, 32), np.uint8) if desc is None else desc.astype(np.uint8)


def _image_files(folder: Path, skip: Path) -> list[Path]:
    """Readable-looking image files under ``folder`` (recursive, hidden entries skipped)."""
    from imgstudio.core.io import SUPPORTED_READ_EXTENSIONS

    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            path = Path(root) / name
            if name.startswith(".") or path == skip:
                continue
            lower = name.lower()
            if any(lower.endswith(ext) for ext in SUPPORTED_READ_EXTENSIONS):
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def load_index(path: Path, name: str = "index") -> tuple[dict[str, Any], np.ndarray, Path]:
    """Read an index: its manifest, its descriptor array and the folder its paths are under.

    ``path`` is the index file or a folder holding the default index file. Raises
    ``ValueError`` naming ``name`` when there is no readable index there.
    """
    path = Path(path)
    file = path / INDEX_NAME if path.is_dir() else path
    if not file.is_file():
        raise ValueError(f"{name}: no search index at {file} (run search.index on the folder first)")
    try:
        with np.load(file, allow_pickle=False) as data:
            manifest = json.loads(data["manifest"].tobytes().decode("utf-8"))
            descriptors = data["descriptors"]
    except (OSError, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{name}: {file} is not a readable search index ({exc})") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise ValueError(f"{name}: {file} is not an imgstudio search index (version {VERSION})")
    root = Path(manifest["root"])
    if not root.is_absolute():
        root = Path(os.path.normpath(file.parent.absolute() / root))
    return manifest, descriptors, root


def _write_index(file: Path, manifest: dict[str, Any], descriptors: np.ndarray) -> None:
    """Write the index atomically (:func:`~imgstudio.core.atomic.atomic_write`)."""
    from imgstudio.core.atomic import atomic_write

    # Plain numeric arrays only: nothing is pickled, and readers load with allow_pickle=False.
    text = json.dumps(manifest).encode("utf-8")

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle: np.savez would append ".npz" to a name
            np.savez(handle, descriptors=descriptors, manifest=np.frombuffer(text, np.uint8))

    atomic_write(file, write, "search index")


@operation("search.index", title="Index folder for search", menu="Search")
def index(
    *,
    folder: Path,
    output: Path | None = None,
    detector: Literal["sift", "orb"] = "sift",
    max_features: Annotated[int, Range(10, 5000)] = 500,
    progress: Progress | None = None,
) -> Table:
    """Index the local features of every image in a folder for search.query.

    Every image under ``folder`` (sub-folders included, hidden ones skipped) is read, turned
    grey, shrunk to at most 1024 pixels a side, and its strongest ``max_features`` keypoints
    are described (SIFT or ORB). Re-indexing is incremental: a file whose size and
    modification time are unchanged keeps its stored descriptors, deleted files are dropped,
    new and changed files are read. Files that cannot be read are skipped and reported (and
    tried again next time). Changing ``detector`` or ``max_features`` rebuilds everything.

    Parameters
    ----------
    folder : pathlib.Path
        The folder of images to index.
    output : pathlib.Path or None
        The index file; None (automatic) = ``.imgstudio-index.npz`` inside ``folder``.
    detector : str
        ``sift`` (128-D float descriptors, most accurate) or ``orb`` (32-byte binary, faster
        and 4× smaller).
    max_features : int
        Keypoints kept per image (the strongest).

    Returns
    -------
    Table
        One row per file: ``path`` (absolute), ``features`` (descriptors stored) and
        ``status``: ``indexed`` (read now), ``unchanged`` (kept from the previous index),
        ``removed`` (gone from the folder, dropped) or ``skipped: <reason>`` (unreadable).
    """
    from imgstudio.core.io import load_image

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder does not exist or is not a folder: {folder}")
    folder = folder.resolve()
    file = Path(output) if output is not None else folder / INDEX_NAME
    if file.is_dir():
        raise ValueError(f"output must be a file path, not a folder: {file}")
    if not file.parent.is_dir():
        raise ValueError(f"output: folder {file.parent} does not exist")
    file = file.resolve()
    progress = token(progress)

    old: dict[str, tuple[int, int, np.ndarray]] = {}
    if file.is_file():
        try:
            manifest, descriptors, root = load_index(file, "output")
        except ValueError:
            manifest = None  # not ours or damaged: rebuild from scratch
        if (manifest is not None and root.resolve() == folder
                and manifest["detector"] == detector
                and manifest["max_features"] == max_features):
            for entry in manifest["files"]:
                stop = entry["start"] + entry["count"]
                old[entry["path"]] = (entry["size"], entry["mtime_ns"],
                                      descriptors[entry["start"]:stop])

    files = _image_files(folder, file)
    rows: dict[str, list] = {"path": [], "features": [], "status": []}
    entries, chunks, start = [], [], 0
    for i, path in enumerate(files):
        progress(i / max(len(files), 1), f"indexing {path.name} ({i + 1}/{len(files)})")
        rel = path.relative_to(folder).as_posix()
        stat = path.stat()
        previous = old.pop(rel, None)
        if previous is not None and previous[:2] == (stat.st_size, stat.st_mtime_ns):
            desc, status = previous[2], "unchanged"
        else:
            try:
                desc = _descriptors(_grey_u8(load_image(path)), detector, max_features)
                status = "indexed"
            except (OSError, ValueError) as exc:  # ImageIOError is an OSError
                desc, status = None, f"skipped: {exc}"
        rows["path"].append(str(path))
        rows["features"].append(0 if desc is None else len(desc))
        rows["status"].append(status)
        if desc is None:
            continue
        entries.append({"path": rel, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                        "start": start, "count": len(desc)})
        chunks.append(desc)
        start += len(desc)
    for rel in sorted(old):
        rows["path"].append(str(folder / rel))
        rows["features"].append(0)
        rows["status"].append("removed")

    progress.check()  # last chance to cancel: the old index is untouched until here
    width, dtype = (128, np.float32) if detector == "sift" else (32, np.uint8)
    stacked = np.concatenate(chunks) if chunks else np.zeros((0, width), dtype)
    root = os.path.relpath(folder, file.parent) if folder.anchor == file.anchor else str(folder)
    manifest = {"format": FORMAT, "version": VERSION, "root": Path(root).as_posix(),
                "detector": detector, "max_features": max_features, "files": entries}
    _write_index(file, manifest, stacked)
    progress(1.0, f"indexed {len(entries)} images")
    return Table(rows)


def vote(neighbours: np.ndarray, distances: np.ndarray, owner: np.ndarray, n_images: int,
         ratio: float, squared: bool, exhaustive: bool) -> np.ndarray:
    """Per-image ratio-test votes from a k-nearest-neighbour search over all images at once.

    ``neighbours``/``distances`` are (Q, K) results for Q query descriptors, nearest first;
    ``owner`` maps a database descriptor to its image. For each query descriptor and each image
    among its neighbours, the nearest descriptor of that image is a good match when it is
    closer than ``ratio`` × the second-nearest descriptor *of the same image* (Lowe's test
    applied per image, so near-duplicate images do not cancel each other's matches). When the
    image's second descriptor is not among the K neighbours, the K-th distance (a lower bound
    of it) stands in, which can only reject, never wrongly accept. Hand-written: FLANN returns
    neighbours, no library does the per-image bookkeeping.

    Returns the number of good matches per image, shape ``(n_images,)``.
    """
    q, k = neighbours.shape
    if q == 0 or k == 0:
        return np.zeros(n_images, np.int64)
    valid = (neighbours >= 0) & (neighbours < len(owner))
    ids = np.where(valid, owner[np.clip(neighbours, 0, len(owner) - 1)], -1)
    dist = np.where(valid, distances.astype(np.float64), np.inf)
    same = (ids[:, :, None] == ids[:, None, :]) & valid[:, :, None]
    before = np.tril(np.ones((k, k), bool), -1)
    first = valid & ~(same & before).any(axis=2)
    after = same & ~np.tri(k, k, 0, bool)  # same image, strictly later position
    has_next = after.any(axis=2)
    next_pos = after.argmax(axis=2)
    second = np.take_along_axis(dist, next_pos, axis=1)
    # The farthest valid neighbour bounds every descriptor that was not returned.
    bound = np.where(valid, dist, -np.inf).max(axis=1, keepdims=True)
    fallback = np.full_like(second, np.inf) if exhaustive else np.broadcast_to(bound, second.shape)
    second = np.where(has_next, second, fallback)
    limit = ratio * ratio if squared else ratio
    good = first & (dist < limit * second)
    return np.bincount(ids[good], minlength=n_images)[:n_images]


IMAGE_SEARCH_WIZARD = Wizard(
    "image_search", "Image &Search…", ops={"index": "search.index", "query": "search.query"},
    data={"index_name": INDEX_NAME}, tip="Find the source of an image in an indexed folder")


@operation("search.query", title="Find similar images", menu="Search",
           editor=Editor(wizard=IMAGE_SEARCH_WIZARD))
def query(
    image: Image,
    *,
    index: Path,
    top_k: Annotated[int, Range(1, 1000)] = 10,
    ratio: Annotated[float, Range(0.1, 1.0)] = 0.75,
    progress: Progress | None = None,
) -> Table:
    """Rank the indexed images by how many of the image's features they share (FLANN + ratio test).

    The image's descriptors (same detector and settings as the index) are searched among all
    indexed descriptors at once with FLANN (randomised k-d trees for SIFT, LSH for ORB); each
    query descriptor votes for every image whose nearest descriptor passes Lowe's ratio test
    against that image's second-nearest. Robust to crops, rotation, scale and brightness or
    colour changes; meant for finding the source of a derived image, not "similar-looking"
    scenes.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        The query image.
    index : pathlib.Path
        An index file written by search.index, or a folder indexed with the default output.
    top_k : int
        Number of results.
    ratio : float
        Lowe's ratio (lower = stricter).

    Returns
    -------
    Table
        ``path`` (absolute), ``score`` (fraction of the query's features that found a good
        match in that image, in [0, 1]) and ``matches`` (their number), best first; images
        without any good match are left out.
    """
    import cv2

    check_image(image, "image")
    progress = token(progress)
    manifest, descriptors, root = load_index(Path(index))
    progress(0.1, "describing the query")
    files = manifest["files"]
    empty = Table({"path": [], "score": [], "matches": []})
    if not files or len(descriptors) == 0:
        return empty
    detector = manifest["detector"]
    query_desc = _descriptors(_grey_u8(image), detector, int(manifest["max_features"]))
    if len(query_desc) == 0:
        raise ValueError("image has no features to search with (too small or too flat)")
    owner = np.repeat(np.arange(len(files)), [f["count"] for f in files])
    k = min(KNN, len(descriptors))
    progress.check()
    if detector == "sift":
        flann = cv2.flann.Index(descriptors, {"algorithm": 1, "trees": 4})  # k-d trees
    else:
        flann = cv2.flann.Index(descriptors, {"algorithm": 6, "table_number": 6, "key_size": 12,
                                              "multi_probe_level": 1})  # LSH
    progress(0.5, "searching")
    neighbours, distances = flann.knnSearch(query_desc, k, params={"checks": 64})
    votes = vote(neighbours, distances, owner, len(files), ratio, squared=detector == "sift",
                 exhaustive=k == len(descriptors))
    order = [i for i in np.lexsort((np.arange(len(files)), -votes)) if votes[i] > 0][:top_k]
    progress(1.0, "done")
    return Table({
        "path": [str(root / files[i]["path"]) for i in order],
        "score": [float(votes[i]) / len(query_desc) for i in order],
        "matches": [int(votes[i]) for i in order],
    })
