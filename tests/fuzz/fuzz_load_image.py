"""Fuzz load_image for a bounded time: ``python tests/fuzz/fuzz_load_image.py --seconds N``.

Every input is an image file derived from valid ones of every readable format (PNG 8/16-bit,
baseline and progressive JPEG, TIFF in strips, tiles, zlib, LZW and float, WebP, BMP, NRRD,
MetaImage, NIfTI plain and gzipped, DICOM): its header numbers replaced by hostile values (with
PNG checksums and gzip streams rebuilt, so the change reaches the decoder), its text header
fields rewritten (sizes, types, data files such as ``/dev/zero``), its bytes flipped, cut,
inserted, deleted and spliced, and saved under its own or another format's extension. The one
property: ``load_image`` either returns an image that follows the Image conventions (2D gray,
RGB or RGBA; uint8, uint16 or float32; writable and contiguous) — equal to the original when
the file was only cut — or raises ``ImageIOError`` naming the file in one line; it never raises
anything else, never takes more than ``--slow`` seconds, never raises the peak memory by more
than ``--growth-mib`` and never needs more than ``--memory-mib`` (an address-space limit;
``$IMGSTUDIO_MAX_PIXELS`` is set to 4 MP so that a lying header is refused, not allocated: a
bomb shows up as a memory or ``MemoryError`` finding). A native reader's crash (segfault,
abort) or hang ends the worker process; it is restarted and the input it was reading is a
finding.

With atheris installed (``pip install atheris``) the bytes are mutated coverage-guided, from
the same seeds; without it, hypothesis generates the mutations (not coverage-guided). Prints
the executions, the outcomes seen and each distinct finding; exits 1 when there was one.
"""

from __future__ import annotations

import argparse
import faulthandler
import gzip
import json
import os
import random
import re
import resource
import struct
import subprocess
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
os.environ.setdefault("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "1")
os.environ["IMGSTUDIO_MAX_PIXELS"] = os.environ.get("FUZZ_MAX_PIXELS", "4000000")

import numpy as np  # noqa: E402

from imgstudio.core import io as image_io  # noqa: E402
from imgstudio.core import io_medical  # noqa: E402
from imgstudio.core.io import ImageIOError, load_image  # noqa: E402
from tests.core.test_io_corpus import _write_formats  # noqa: E402

INTERESTING = [0, 1, 2, 7, 8, 16, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
               65535 * 2, 50_356_261, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
TEXT_VALUES = [b"0", b"-1", b"1", b"3", b"100000 100000", b"1 1 1 1", b"48 32 5", b"2147483647",
               b"nan", b"", b"uchar", b"double", b"MET_DOUBLE", b"MET_UCHAR", b"gzip", b"raw",
               b"bzip2", b"/dev/zero", b"LIST", b"x%03d.raw 1 9 1", b"../../../etc/passwd",
               b"True", b"False", b"9" * 40]
TEXT_FIELD = re.compile(rb"^([A-Za-z][A-Za-z ]*?)\s*(=|:)\s*(.*)$", re.MULTILINE)


def seeds(folder: Path) -> list[tuple[str, bytes, bool]]:
    """(extension, bytes, lossless) of one valid file per format the corpus test writes."""
    out = []
    for path, _, kind in _write_formats(folder).values():
        out.append(("".join(path.suffixes[-2:]) if path.name.endswith(".nii.gz")
                    else path.suffix, path.read_bytes(), kind != "lossy"))
    return out


# -- mutations --------------------------------------------------------------------------------


def _fix_png(data: bytes) -> bytes:
    """Recompute every PNG chunk checksum, so a mutated header reaches the decoder."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, pos = bytearray(data[:8]), 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        body = data[pos + 4 : pos + 8 + length]
        if pos + 12 + length > len(data):
            out += data[pos:]
            break
        out += data[pos : pos + 8 + length] + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        pos += 12 + length
    return bytes(out)


def _bytes_mutation(data: bytearray, rnd: random.Random, others: list[bytes]) -> bytearray:
    kind = rnd.random()
    pos = rnd.randrange(len(data)) if data else 0
    header = rnd.randrange(min(len(data), 600)) if data else 0
    if kind < 0.25 and data:
        data[pos] ^= 1 << rnd.randrange(8)
    elif kind < 0.45 and len(data) > 4:  # a hostile number where headers are
        value = rnd.choice(INTERESTING)
        fmt = rnd.choice(["<H", ">H", "<I", ">I"])
        packed = struct.pack(fmt, value & (0xFFFF if "H" in fmt else 0xFFFFFFFF))
        data[header : header + len(packed)] = packed
    elif kind < 0.6:
        del data[pos:]
    elif kind < 0.7:
        data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 32)))
    elif kind < 0.8:
        del data[pos : pos + rnd.randint(1, 256)]
    elif kind < 0.9 and data:
        start = rnd.randrange(len(data))
        data[pos:pos] = data[start : start + rnd.randint(1, 512)]
    else:
        other = rnd.choice(others)
        data = data[:pos] + other[rnd.randrange(len(other)) :]
    return data


def _text_header_mutation(data: bytes, rnd: random.Random) -> bytes:
    """Rewrite one ``key = value`` / ``key: value`` line of a NRRD or MetaImage header."""
    head, sep, rest = data.partition(b"\n\n") if data.startswith(b"NRRD") else (data, b"", b"")
    fields = list(TEXT_FIELD.finditer(head[:4096]))
    if not fields:
        return data
    field = rnd.choice(fields)
    value = rnd.choice(TEXT_VALUES)
    head = head[: field.start(3)] + value + head[field.end(3) :]
    return head + sep + rest


def mutate(seed: tuple[str, bytes, bool], rnd: random.Random,
           others: list[bytes]) -> tuple[str, bytes, bool]:
    """One to four mutations of a valid file; returns (extension, bytes, only-cut)."""
    ext, data, _ = seed
    gzipped = data.startswith(b"\x1f\x8b")
    body = bytearray(gzip.decompress(data) if gzipped else data)
    only_cut = True
    for _ in range(rnd.randint(1, 4)):
        choice = rnd.random()
        if choice < 0.15:
            body = bytearray(_text_header_mutation(bytes(body), rnd))
            only_cut = False
        elif choice < 0.3:
            del body[rnd.randrange(len(body)) if body else 0 :]
        else:
            body = _bytes_mutation(body, rnd, others)
            only_cut = False
    out = _fix_png(bytes(body)) if rnd.random() < 0.7 else bytes(body)
    if gzipped and rnd.random() < 0.8:
        out = gzip.compress(out, mtime=0)
    elif gzipped:
        only_cut = False
    if rnd.random() < 0.1:
        ext = rnd.choice(image_io.SUPPORTED_READ_EXTENSIONS + (".bin", ""))
        only_cut = False
    return ext, out, only_cut


# -- the property -----------------------------------------------------------------------------


class Campaign:
    def __init__(self, workdir: Path, slow_s: float, growth_mib: float) -> None:
        self.workdir = workdir
        self.slow_s = slow_s
        self.growth_mib = growth_mib
        self.executions = 0
        self.outcomes: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.findings: dict[str, tuple[str, bytes, str]] = {}
        self.after = lambda force=False: None  # the worker's progress report

    def run(self, ext: str, data: bytes, original: np.ndarray | None = None) -> None:
        self.executions += 1
        path = self.workdir / f"input{ext}"
        for old in self.workdir.glob("input*"):
            old.unlink()
        path.write_bytes(data)
        start = time.monotonic()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        faulthandler.dump_traceback_later(max(4 * self.slow_s, 30), exit=True)
        try:
            image = load_image(path)
        except ImageIOError as exc:
            message = str(exc)
            if path.name not in message or "\n" in message:
                self._finding(f"ImageIOError not naming the file in one line: {message[:200]}",
                              ext, data)
            reason = message.split(f"{path}: ", 1)[-1]
            category = "ImageIOError: " + _category(reason)
            self.outcomes[category] += 1
            self.examples.setdefault(category, reason[:150])
        except BaseException as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
            if isinstance(exc, KeyboardInterrupt):
                raise
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self._finding(f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}:"
                          f" {str(exc)[:160]}", ext, data, traceback.format_exc())
        else:
            self._check(image, original, ext, data)
        finally:
            faulthandler.cancel_dump_traceback_later()
        elapsed = time.monotonic() - start
        if elapsed > self.slow_s:
            self._finding(f"slow: {elapsed:.1f} s for a {ext} file", ext, data)
        growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
        if growth > self.growth_mib:  # under a 4 MP limit no file needs that much
            self._finding(f"memory: the peak grew by {growth:.0f} MiB for a {ext} file",
                          ext, data)
        self.after()

    def _check(self, image, original, ext: str, data: bytes) -> None:
        valid = (isinstance(image, np.ndarray) and image.size > 0
                 and image.dtype in (np.uint8, np.uint16, np.float32)
                 and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4)))
                 and image.flags.writeable and image.flags.c_contiguous)
        if not valid:
            self._finding(f"image outside the conventions: {getattr(image, 'shape', '?')} "
                          f"{getattr(image, 'dtype', type(image).__name__)}", ext, data)
        elif original is not None and not (image.dtype == original.dtype
                                           and image.shape == original.shape
                                           and np.array_equal(image, original, equal_nan=True)):
            self._finding(f"a cut {ext} file loaded as a different image "
                          f"{image.shape} {image.dtype}", ext, data)
        else:
            self.outcomes["loaded"] += 1

    def _finding(self, key: str, ext: str, data: bytes, detail: str = "") -> None:
        if key not in self.findings:
            self.findings[key] = (detail, data, ext)
            print(f"FINDING: {key}", flush=True)
            self.after(force=True)


def _category(reason: str) -> str:
    """A short class of a refusal, to show which checks the inputs reached."""
    for marker in ("exceeds the limit", "corrupt or truncated", "truncated", "not a regular file", "no such file",
                   "only 2D", "does not fit in 16 bits", "unsupported pixel type",
                   "unsupported image shape", "unrecognised file format", "not a valid",
                   "not enough memory", "the file is empty", "no pixels", "corrupt header",
                   "split over several files", "corrupt"):
        if marker in reason:
            return marker
    return reason[:60]


# -- drivers ----------------------------------------------------------------------------------


def run_hypothesis(campaign: Campaign, corpus, seconds: float, originals) -> None:
    from hypothesis import HealthCheck, Verbosity, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException

    deadline = time.monotonic() + seconds
    others = [data for _, data, _ in corpus]

    @settings(max_examples=200, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(st.integers(0, len(corpus) - 1), st.randoms(use_true_random=False))
    def one(index: int, rnd: random.Random) -> None:
        if time.monotonic() > deadline:
            return
        ext, data, only_cut = mutate(corpus[index], rnd, others)
        lossless = corpus[index][2]
        campaign.run(ext, data, originals[index] if only_cut and lossless else None)

    while time.monotonic() < deadline:
        try:
            one()  # findings are recorded, not raised, so hypothesis never stops early
        except HypothesisException:
            pass


def run_atheris(campaign: Campaign, corpus, seconds: float, workdir: Path) -> None:
    import atheris

    exts = sorted({ext for ext, _, _ in corpus} | set(image_io.SUPPORTED_READ_EXTENSIONS))
    seed_dir = workdir / "corpus"
    seed_dir.mkdir()
    rnd = random.Random(0)
    others = [data for _, data, _ in corpus]
    for n, seed in enumerate(corpus):
        (seed_dir / f"seed{n}").write_bytes(bytes([exts.index(seed[0])]) + seed[1])
        for k in range(20):
            ext, data, _ = mutate(seed, rnd, others)
            (seed_dir / f"mut{n}-{k}").write_bytes(bytes([exts.index(ext) if ext in exts
                                                          else 0]) + data)
    for module in (image_io, io_medical):
        for value in vars(module).values():
            if callable(value) and getattr(value, "__module__", None) == module.__name__ \
                    and hasattr(value, "__code__"):
                atheris.instrument_func(value)

    def one(data: bytes) -> None:
        if data:
            campaign.run(exts[data[0] % len(exts)], data[1:])

    atheris.Setup([sys.argv[0], f"-max_total_time={int(seconds)}", "-rss_limit_mb=0",
                   str(seed_dir)], one)
    try:
        atheris.Fuzz()
    except SystemExit:
        pass


def worker(args) -> int:
    """Run the campaign in this process (started by :func:`main`); report to ``--workdir``."""
    if args.memory_mib:
        limit = args.memory_mib * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    workdir = args.workdir
    (workdir / "seeds").mkdir()
    corpus = seeds(workdir / "seeds")
    originals = []
    for n, (ext, data, _) in enumerate(corpus):
        path = workdir / "seeds" / f"again{n}{ext}"
        path.write_bytes(data)
        originals.append(load_image(path))
    campaign = Campaign(workdir, args.slow, args.growth_mib)
    report = workdir / "report.json"
    last = [0.0]

    def progress(done: bool = False, force: bool = False) -> None:
        if done or force or time.monotonic() - last[0] > 1:
            last[0] = time.monotonic()
            findings = []
            for n, (key, (detail, data, ext)) in enumerate(campaign.findings.items()):
                (workdir / f"finding-{n}{ext}").write_bytes(data)
                findings.append({"key": key, "detail": detail, "file": f"finding-{n}{ext}"})
            tmp = report.with_suffix(".tmp")
            tmp.write_text(json.dumps({"executions": campaign.executions, "done": done,
                                       "outcomes": dict(campaign.outcomes),
                                       "examples": campaign.examples, "findings": findings}))
            os.replace(tmp, report)

    campaign.after = progress
    if args.engine == "atheris":
        run_atheris(campaign, corpus, args.seconds, workdir)
    else:
        run_hypothesis(campaign, corpus, args.seconds, originals)
    progress(done=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--slow", type=float, default=5.0,
                        help="an input taking longer than this many seconds is a finding")
    parser.add_argument("--memory-mib", type=int, default=2048,
                        help="address-space limit of the fuzzing process (0: none)")
    parser.add_argument("--growth-mib", type=float, default=200.0,
                        help="an input that raises the peak memory by more is a finding")
    parser.add_argument("--engine", choices=("auto", "hypothesis", "atheris"), default="auto")
    parser.add_argument("--save", type=Path, help="write each finding's input into this folder")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine == "auto":
        try:
            import atheris  # noqa: F401
            args.engine = "atheris"
        except ImportError:
            args.engine = "hypothesis"
    if args.worker:
        return worker(args)
    # The campaign runs in a child process, restarted after a crash (a native reader's
    # segfault or abort) or a hang (the watchdog ends it): the input it was reading is a finding.
    executions, outcomes, examples = 0, Counter(), {}
    findings: dict[str, tuple[str, bytes, str]] = {}
    start = time.monotonic()
    deadline = start + args.seconds
    with tempfile.TemporaryDirectory(prefix="fuzz-load-image-") as tmp:
        run = 0
        while deadline - time.monotonic() > 2:
            workdir = Path(tmp) / f"run{run}"
            workdir.mkdir()
            run += 1
            left = deadline - time.monotonic()
            command = [sys.executable, __file__, "--worker", "--workdir", str(workdir),
                       "--seconds", f"{left:.1f}", "--slow", str(args.slow),
                       "--memory-mib", str(args.memory_mib), "--growth-mib",
                       str(args.growth_mib), "--engine", args.engine]
            with open(workdir / "stderr.txt", "wb") as errors:
                try:  # the native readers print to both streams: keep the errors for a crash
                    code = subprocess.run(command, timeout=left + max(4 * args.slow, 30) + 60,
                                          stdout=subprocess.DEVNULL, stderr=errors).returncode
                except subprocess.TimeoutExpired:
                    code = "timeout"
            report = workdir / "report.json"
            data = json.loads(report.read_text()) if report.exists() else {}
            executions += data.get("executions", 0)
            outcomes.update(data.get("outcomes", {}))
            for key, value in data.get("examples", {}).items():
                examples.setdefault(key, value)
            for finding in data.get("findings", []):
                path = workdir / finding["file"]
                findings.setdefault(finding["key"], (finding["detail"], path.read_bytes(),
                                                     "".join(path.suffixes[-2:])))
            if not data.get("done"):
                current = sorted(workdir.glob("input*"))
                ext = "".join(current[0].suffixes[-2:]) if current else ""
                what = (f"killed by signal {-code}" if isinstance(code, int) and code < 0
                        else f"exit status {code} (a hang stopped by the watchdog?)")
                key = f"crash: {what} while reading a {ext or '?'} file"
                if current and key not in findings:
                    print(f"FINDING: {key}", flush=True)
                    stderr = (workdir / "stderr.txt").read_text(errors="replace").splitlines()
                    where = [line for line in stderr if line.strip().startswith("File ")]
                    findings[key] = ("\n".join(where[:12]), current[0].read_bytes(), ext)
                executions += 1
    elapsed = time.monotonic() - start
    print(f"fuzz_load_image ({args.engine}): {executions} executions in {elapsed:.0f} s "
          f"({run} worker runs), {len(findings)} findings")
    for outcome, count in outcomes.most_common():
        example = examples.get(outcome)
        print(f"  {count:7d}  {outcome}" + (f"   e.g. {example}" if example else ""))
    for n, (key, (detail, data, ext)) in enumerate(findings.items()):
        print(f"FINDING {n}: {key}")
        if detail:
            print("    " + detail.strip().replace("\n", "\n    "))
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"finding-{n}{ext}").write_bytes(data)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
