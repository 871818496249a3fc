"""Fuzz the project reader for a bounded time: ``python tests/fuzz/fuzz_project.py --seconds N``.

Every input is a ``.imgs`` file derived from valid projects (all layer kinds, a recipe, a view):
its manifest's fields replaced by hostile values, its ``.npy`` headers rewritten (any shape and
dtype), its zip entries given other compression methods, flags and declared sizes, its members
duplicated or dropped, or its bytes flipped, cut and spliced. The one property: ``load_project``
either returns a project — which saves and loads again to the same layers — or raises
``ProjectError`` naming the file; it never raises anything else, never takes more than
``--slow`` seconds, and never needs more memory than ``--memory-mib`` (an address-space limit:
a bomb shows up as a ``MemoryError`` finding).

With atheris installed (``pip install atheris``) the bytes are mutated coverage-guided, from
the same seeds; without it, hypothesis generates the mutations (not coverage-guided). Prints
the executions, the outcomes seen and each distinct finding; exits 1 when there was one.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import resource
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from imgstudio.core.document import (  # noqa: E402
    Document,
    ImageLayer,
    LabelsLayer,
    PointsLayer,
    Shape,
    ShapesLayer,
)
from imgstudio.core.project import ProjectError, load_project, save_project  # noqa: E402
from imgstudio.core.recipe import Recipe, RecipeStep  # noqa: E402
from tests.core.hostile_projects import Member, npy_header, zip_bytes  # noqa: E402

HOSTILE = [None, True, False, 0, -1, 1, 2**31, 10**30, 1e308, float("nan"), "", "x", "false",
           "image", "layers/0000.npy", [], [1], [[0, 0]], {}, {"a": 1}, [[[[]]]]]
DESCRS = ["|u1", "<u2", ">u2", "<f4", ">f4", "<f8", "<i4", "<i8", "|b1", "|O", "<c8", "<U3",
          "V8", "<M8[s]", "|i1"]
METHODS = [0, 8, 8, 8, 12, 14, 93, 99, 1, 9]


def seeds(tmp: Path) -> list[bytes]:
    """Valid projects: every layer kind and dtype the editor writes."""
    rng = np.random.default_rng(0)
    docs = [
        Document([ImageLayer(rng.integers(0, 256, (6, 7, 3), dtype=np.uint8), "rgb"),
                  LabelsLayer(rng.integers(0, 5, (6, 7)).astype(np.int32), "seeds"),
                  PointsLayer([[1.0, 2.0], [3.5, 4.0]], "pts"),
                  ShapesLayer([Shape("box", np.array([[0, 0], [3, 4.0]]), "a", 0.5)], "boxes")]),
        Document([ImageLayer(rng.random((5, 4), dtype=np.float32), "float", opacity=0.5,
                             blend_mode="screen"),
                  ImageLayer(rng.integers(0, 65535, (5, 4, 4), dtype=np.uint16), "rgba16",
                             visible=False)]),
        Document([]),
    ]
    recipe = Recipe(("rgb",), (RecipeStep("basic.invert", {}, {"image": "rgb"}, "rgb"),),
                    layer_ids={"rgb": docs[0][0].id})
    out = []
    for n, doc in enumerate(docs):
        path = tmp / f"seed{n}.imgs"
        save_project(path, doc, recipe if n == 0 else None, {"zoom": 2.0})
        out.append(path.read_bytes())
    return out


# -- structural mutations (hypothesis, and the atheris seeds' neighbours) ----------------------
def _members(data: bytes) -> list[tuple[str, bytes]]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _nodes(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nodes(v, (*path, i))


def _set(root, path, value):
    if not path:
        return value
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return root


def mutate(seed: bytes, rnd: random.Random) -> bytes:
    """One to four random structural or byte mutations of a valid project."""
    members = _members(seed)
    manifest = json.loads(dict(members)["manifest.json"])
    # raw (uncompressed) bodies; compressed at the end as their method says
    entries = [Member(name, body, 8) for name, body in members]
    raw_bytes = False
    deep = 0
    for _ in range(rnd.randint(1, 4)):
        op = rnd.choice(["field", "field", "field", "npy", "npy", "method", "flags", "size",
                         "dup", "drop", "deep", "bytes"])
        layer_files = [m for m in entries if m.name != "manifest.json"]
        if op == "field":
            path = rnd.choice(list(_nodes(manifest)))
            manifest = _set(manifest, path, copy.deepcopy(rnd.choice(HOSTILE)))
        elif op == "deep":
            path = rnd.choice(list(_nodes(manifest)))
            deep = rnd.choice([62, 63, 64, 500, 5000])  # written as text below
            manifest = _set(manifest, path, "__DEEP__")
        elif op == "npy" and layer_files:
            m = rnd.choice(layer_files)
            shape = tuple(rnd.choice([0, 1, 2, 3, 4, 7, 60000, 2**31, 2**40])
                          for _ in range(rnd.choice([0, 1, 2, 2, 3, 3, 4])))
            header = npy_header(shape, rnd.choice(DESCRS), rnd.random() < 0.2,
                                rnd.choice([(1, 0), (1, 0), (2, 0), (3, 0)]))
            m.data = header + m.data[128:][: rnd.choice([0, 8, 64, 4096, 10**6])]
        elif op == "method" and entries:
            rnd.choice(entries).method = rnd.choice(METHODS)
        elif op == "flags" and entries:
            rnd.choice(entries).flags = rnd.choice([1, 8, 32, 64, 0x800])
        elif op == "size" and entries:
            rnd.choice(entries).file_size = rnd.choice([0, 1, 2**31, 3_600_000_000, 2**32 - 1])
        elif op == "dup" and entries:
            m = rnd.choice(entries)
            entries.append(Member(m.name, m.data, m.method, m.file_size, m.crc, m.flags))
        elif op == "drop" and entries:
            entries.remove(rnd.choice(entries))
        elif op == "bytes":
            raw_bytes = True
    text = json.dumps(manifest).replace('"__DEEP__"', "[" * deep + "]" * deep).encode()
    for m in entries:
        if m.name == "manifest.json":
            m.data = text
        raw = m.data
        m.crc = zlib.crc32(raw) if m.crc is None else m.crc
        m.file_size = len(raw) if m.file_size is None else m.file_size
        if m.method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            m.data = c.compress(raw) + c.flush()
    data = zip_bytes(entries)
    if raw_bytes:
        data = bytearray(data)
        for _ in range(rnd.randint(1, 8)):
            kind = rnd.random()
            pos = rnd.randrange(len(data)) if data else 0
            if kind < 0.5 and data:
                data[pos] = rnd.randrange(256)
            elif kind < 0.7:
                data = data[:pos]
            elif kind < 0.85:
                data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
            else:
                del data[pos:pos + rnd.randint(1, 64)]
        data = bytes(data)
    return data


# -- the property -----------------------------------------------------------------------------
class Campaign:
    def __init__(self, workdir: Path, slow_s: float) -> None:
        self.path = workdir / "input.imgs"
        self.again = workdir / "again.imgs"
        self.slow_s = slow_s
        self.executions = 0
        self.outcomes: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.findings: dict[str, tuple[str, bytes]] = {}

    def run(self, data: bytes) -> None:
        self.executions += 1
        self.path.write_bytes(data)
        start = time.monotonic()
        try:
            project = load_project(self.path)
        except ProjectError as exc:
            message = str(exc)
            if not message.startswith(f"cannot open project {self.path}: ") or "\n" in message:
                self._finding(f"ProjectError not naming the file in one line: {message[:200]}",
                              data)
            reason = message.split(": ", 1)[1]
            category = "ProjectError: " + _category(reason)
            self.outcomes[category] += 1
            self.examples.setdefault(category, reason[:150])
        except BaseException as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
            if isinstance(exc, KeyboardInterrupt):
                raise
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self._finding(f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}:"
                          f" {str(exc)[:160]}", data, traceback.format_exc())
        else:
            self.outcomes["loaded"] += 1
            self._round_trip(project, data)
        elapsed = time.monotonic() - start
        if elapsed > self.slow_s:
            self._finding(f"slow: {elapsed:.1f} s", data)

    def _round_trip(self, project, data: bytes) -> None:
        try:
            save_project(self.again, project.document, project.recipe, project.view)
            again = load_project(self.again).document
        except BaseException as exc:  # noqa: BLE001
            self._finding(f"a loaded project does not save and load again: "
                          f"{type(exc).__name__}: {str(exc)[:160]}", data, traceback.format_exc())
            return
        for a, b in zip(project.document, again, strict=True):
            same = (type(a) is type(b) and a.id == b.id and a.properties() == b.properties())
            if isinstance(a, ShapesLayer):
                same = same and json.dumps([s.to_json() for s in a.data]) == json.dumps(
                    [s.to_json() for s in b.data])
            else:
                same = same and a.data.dtype == b.data.dtype and np.array_equal(
                    a.data, b.data, equal_nan=a.data.dtype.kind == "f")
            if not same:
                self._finding(f"layer {a.id} changed on save and reload", data)
                return

    def _finding(self, key: str, data: bytes, detail: str = "") -> None:
        if key not in self.findings:
            self.findings[key] = (detail, data)
            print(f"FINDING: {key}", flush=True)


def _category(reason: str) -> str:
    """A short class of a refusal (names and numbers blanked), to show which checks the
    inputs reached."""
    reason = re.sub(r"^layer \d+( \('[^']*'\))?: ", "layer: ", reason)
    reason = re.sub(r"'[^']*'", "'…'", reason)
    reason = re.sub(r"\d+(\.\d+)?(e[+-]?\d+)?", "N", reason)
    return re.split(r"; | \(|, but", reason)[0][:70]


# -- drivers ----------------------------------------------------------------------------------
def run_hypothesis(campaign: Campaign, corpus: list[bytes], seconds: float) -> None:
    from hypothesis import HealthCheck, Verbosity, given, settings
    from hypothesis import strategies as st

    deadline = time.monotonic() + seconds

    @settings(max_examples=100, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(st.integers(0, len(corpus) - 1), st.randoms(use_true_random=False))
    def one(index: int, rnd: random.Random) -> None:
        campaign.run(mutate(corpus[index], rnd))

    from hypothesis.errors import HypothesisException

    while time.monotonic() < deadline:
        try:
            one()  # findings are recorded, not raised, so hypothesis never stops early
        except HypothesisException:  # e.g. the time check made a run draw less: go on
            pass


def run_atheris(campaign: Campaign, corpus: list[bytes], seconds: float, workdir: Path) -> None:
    import atheris

    seed_dir = workdir / "corpus"
    seed_dir.mkdir()
    rnd = random.Random(0)
    for n, seed in enumerate(corpus):
        (seed_dir / f"seed{n}").write_bytes(seed)
        for k in range(20):
            (seed_dir / f"mut{n}-{k}").write_bytes(mutate(seed, rnd))
    atheris.instrument_func(load_project)
    atheris.Setup([sys.argv[0], f"-max_total_time={int(seconds)}", "-rss_limit_mb=0",
                   str(seed_dir)], campaign.run)
    try:
        atheris.Fuzz()
    except SystemExit:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--slow", type=float, default=5.0,
                        help="an input taking longer than this many seconds is a finding")
    parser.add_argument("--memory-mib", type=int, default=2048,
                        help="address-space limit of this process (0: none)")
    parser.add_argument("--engine", choices=("auto", "hypothesis", "atheris"), default="auto")
    parser.add_argument("--save", type=Path, help="write each finding's input into this folder")
    args = parser.parse_args(argv)
    if args.memory_mib:
        limit = args.memory_mib * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    with tempfile.TemporaryDirectory(prefix="fuzz-project-") as tmp:
        workdir = Path(tmp)
        corpus = seeds(workdir)
        campaign = Campaign(workdir, args.slow)
        start = time.monotonic()
        if engine == "atheris":
            run_atheris(campaign, corpus, args.seconds, workdir)
        else:
            run_hypothesis(campaign, corpus, args.seconds)
        elapsed = time.monotonic() - start
    print(f"fuzz_project ({engine}): {campaign.executions} executions in {elapsed:.0f} s, "
          f"{len(campaign.findings)} findings")
    print(f"  {len(campaign.outcomes)} distinct outcomes; the most frequent:")
    for outcome, count in campaign.outcomes.most_common(40):
        example = campaign.examples.get(outcome)
        print(f"  {count:7d}  {outcome}" + (f"   e.g. {example}" if example else ""))
    for n, (key, (detail, data)) in enumerate(campaign.findings.items()):
        print(f"FINDING {n}: {key}")
        if detail:
            print("    " + detail.strip().replace("\n", "\n    "))
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"finding-{n}.imgs").write_bytes(data)
    return 1 if campaign.findings else 0


if __name__ == "__main__":
    sys.exit(main())
