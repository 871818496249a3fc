"""The ``imgstudio`` command: the editor, and the operations headless.

    imgstudio [FILES...]                         open the editor
    imgstudio --screenshot OUT.png [FILES...]    open, paint once, save the window, exit
    imgstudio ops [--json|--markdown]            list operations
    imgstudio run OP_ID INPUT... -o OUTPUT [-p NAME=VALUE]... [--input NAME=PATH]... [--json]
    imgstudio batch RECIPE INPUT_DIR OUTPUT_DIR [--workers N] [--layer NAME=PATH]...
    imgstudio script RECIPE [-o SCRIPT.py]
    imgstudio models [list|path NAME|verify [NAME...]|import FILE --name NAME]

Exit status (one line on standard error, never a traceback):

    0    success
    1    ``batch``: some files failed (listed in the summary); ``models verify``: a bad file
    2    bad input: a usage error, or a ``ValueError``/``TypeError``/``KeyError``/``OSError``
         (``ImageIOError``, ``ProjectError``, ``RecipeError``, ``ModelNotFoundError``,
         ``MissingExtraError`` ...) whose message names the file or parameter
    70   internal error (``EX_SOFTWARE``): any other exception is our bug -- its traceback goes
         to a crash log (:mod:`imgstudio.core.crashlog`) and the line says where. Third-party
         exceptions (``cv2.error``, a ``MemoryError`` a size guard missed) count as ours: an op
         must turn bad parameters into a ``ValueError`` naming them.
    130  interrupted (Ctrl-C, SIGINT)
    143  terminated (SIGTERM, headless commands)

``batch`` stops at once on Ctrl-C or SIGTERM: queued files are cancelled, files in progress are
abandoned (outputs are written atomically, so none is left half-written), the summary counts
the files not processed, and no worker process outlives the command.

``run`` of a long operation (a training, a sampler, a slow filter) draws a progress bar on
standard error; the first Ctrl-C asks the operation to stop at its next progress check (a
training keeps the checkpoint of its last finished epoch and says where it is; ``-p
resume=true`` continues from it), a second abandons it at once. Both exit with 130.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

SUBCOMMANDS = ("ops", "run", "batch", "script", "models")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SOFTWARE = 70  # sysexits.h EX_SOFTWARE: an internal error (a bug), logged
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit status 2."""


class Terminated(BaseException):
    """SIGTERM during a headless command: unwinds like Ctrl-C (exit status 143)."""


BAD_INPUT: tuple[type[BaseException], ...] = (UsageError, ValueError, TypeError, KeyError,
                                              OSError)
"""What the user can fix (exit 2, one line): ``ImageIOError`` is an ``OSError``; ``ProjectError``,
``RecipeError``, ``ImageTooLargeError``, ``ModelNotFoundError`` and ``MissingExtraError`` are
``ValueError``s."""


def error_message(exc: BaseException) -> str:
    """The one-line message of a bad-input error (a ``KeyError`` without its quotes)."""
    from imgstudio.core.crashlog import describe, one_line

    text = one_line(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc))
    return text or describe(exc)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{message} (see {self.prog} --help)")


# -- imgstudio ops --------------------------------------------------------------------------------

def _cmd_ops(args: argparse.Namespace) -> int:
    from imgstudio.core import registry

    specs = registry.all_specs()
    if args.markdown:
        from imgstudio.core.reference import operations_markdown

        sys.stdout.write(operations_markdown(specs.values()))
        return 0
    if args.json:
        json.dump([s.to_json() for s in specs.values()], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    width = max((len(i) for i in specs), default=10)
    for spec in specs.values():
        params = ", ".join(
            p.name if p.required else f"{p.name}={_show(p.default)}" for p in spec.params
        )
        inputs = ", ".join(i.name + ("?" if i.optional else "") for i in spec.inputs)
        print(f"{spec.id:<{width}}  {spec.summary}")
        print(f"{'':<{width}}  inputs: {inputs or '-'}  params: {params or '-'}  "
              f"-> {spec.output.result_type.__name__ if spec.output.result_type else spec.output.kind}")
    for name, error in registry.plugin_errors:
        print(f"warning: plugin {name} failed to load: {error}", file=sys.stderr)
    return 0


def _show(value: Any) -> str:
    from imgstudio.core.kinds import plain

    return str(plain(value))


# -- imgstudio run --------------------------------------------------------------------------------

def _parse_assignments(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{what} must look like NAME=VALUE; got {item!r}")
        out[name.strip()] = value
    return out


def _cmd_run(args: argparse.Namespace) -> int:
    from imgstudio.core import registry
    from imgstudio.core.invoke import Invocation, result_json, write_result_files

    try:
        spec = registry.get(args.op_id)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    params = _parse_assignments(args.param, "-p")
    named = _parse_assignments(args.input, "--input")
    unknown = set(named) - {i.name for i in spec.inputs}
    if unknown:
        raise UsageError(f"{spec.id} has no input {sorted(unknown)[0]!r}")
    files: dict[str, Any] = {}
    positional = list(args.inputs)
    for ispec in spec.inputs:
        if ispec.name in named:
            files[ispec.name] = named[ispec.name].split(",") if ispec.many else named[ispec.name]
        elif positional:
            files[ispec.name] = positional if ispec.many else positional[0]
            positional = [] if ispec.many else positional[1:]
    if positional:
        raise UsageError(f"{spec.id}: too many input files ({', '.join(positional)})")
    layer_output = spec.output.kind in ("image", "labels", "points")
    if layer_output and not args.output:
        raise UsageError(f"{spec.id} returns {spec.output.kind}: give -o OUTPUT")
    invocation = Invocation.from_files(spec, files, params)
    result = _run_with_bar(spec, invocation) if spec.long_running else invocation.run()
    written = write_result_files(spec, result, args.output)
    summary: dict[str, Any] = {"op": spec.id}
    if written:
        summary["output"] = written[0]
        if len(written) > 1:
            summary["other_outputs"] = written[1:]
    if layer_output:
        summary["shape"] = list(getattr(result, "shape", ()))
        summary["dtype"] = str(getattr(result, "dtype", ""))
    elif result is not None:
        summary["result"] = result_json(result)
    if args.json:
        json.dump(summary, sys.stdout)
        sys.stdout.write("\n")
    elif "result" in summary and "output" not in summary:
        json.dump(summary["result"], sys.stdout, indent=1)
        sys.stdout.write("\n")
    return 0


# -- recipes: imgstudio batch, imgstudio script -----------------------------------------------------

def _load_checked(path: str) -> Any:
    """The recipe at ``path``, checked as a whole (``RecipeError`` naming the step)."""
    from imgstudio.core.recipe import check, load_recipe

    if not os.path.isfile(path):
        raise UsageError(f"recipe: no such file: {path}")
    return check(load_recipe(path))


def result_target(kind: Any, dtype: Any, src: str, out_dir: str) -> str:
    """Where ``batch`` writes the result of input file ``src``: the same name in ``out_dir``,
    except that labels go to PNG, a float image to TIFF (unless the input was TIFF or NPY), a
    16-bit image of a JPEG, BMP or WebP to PNG, points to CSV, and shapes, or a recipe whose
    result is no layer, to JSON."""
    from imgstudio.core.types import LayerKind

    stem, ext = os.path.splitext(os.path.basename(src))
    low = ext.lower()
    if kind is None or kind == LayerKind.SHAPES:
        ext = ".json"
    elif kind == LayerKind.POINTS:
        ext = ".csv"
    elif kind == LayerKind.LABELS:
        ext = ".png"
    elif str(dtype) == "float32" and low not in (".tif", ".tiff", ".npy"):
        ext = ".tif"
    elif str(dtype) == "uint16" and low in (".jpg", ".jpeg", ".bmp", ".webp"):
        ext = ".png"
    return os.path.join(out_dir, stem + ext)


def _batch_one(recipe_path: str, src: str, out_dir: str, named: dict[str, str]) -> str:
    """Replay the recipe on one file; returns the output path (runs in a worker process)."""
    from imgstudio.core.recipe import check, load_recipe
    from imgstudio.core.replay import Replay

    checked = check(load_recipe(recipe_path))
    replay = Replay.from_files(checked.source_kinds, src, named)
    replay.run_recipe(checked)
    layer = replay.layer(checked.result) if checked.result is not None else None
    target = result_target(layer.kind if layer is not None else None,
                           getattr(layer.data, "dtype", None) if layer is not None else None,
                           src, out_dir)
    replay.write(checked.result, target)
    return target


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_stopping = False  # a stop signal was taken (see _first_stop_signal): ignore any other
_running: Any = None  # the Progress of the long operation ``run`` is running, if any


def _mask(block: bool) -> None:
    if hasattr(signal, "pthread_sigmask"):  # POSIX
        signal.pthread_sigmask(signal.SIG_BLOCK if block else signal.SIG_UNBLOCK, _STOP_SIGNALS)


# A batch worker process ignores SIGINT (a terminal's Ctrl-C reaches the whole process group;
# the parent decides what it means) and, on the parent's SIGTERM, abandons its file: the job
# unwinds, so the atomic writer removes its temporary files, and the process exits. Another
# SIGTERM meanwhile (one to the group, then the parent's) must not cut that unwinding short.

_worker_state = "idle"  # "job" while it processes a file, then "abandoning" on SIGTERM


class _Abandon(BaseException):
    """Raised in a batch worker by SIGTERM while it processes a file."""


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_sigterm)
    _mask(block=False)  # blocked by the parent while it started this process


def _worker_sigterm(signum: int, frame: Any) -> None:
    global _worker_state
    if _worker_state == "abandoning":
        return
    if _worker_state == "job":
        _worker_state = "abandoning"
        raise _Abandon
    os._exit(128 + signum)


def _batch_job(recipe_path: str, src: str, out_dir: str, named: dict[str, str]) -> str:
    """:func:`_batch_one` in a worker process (see :func:`_worker_init`)."""
    global _worker_state
    try:
        _worker_state = "job"
        return _batch_one(recipe_path, src, out_dir, named)
    except _Abandon:
        os._exit(128 + signal.SIGTERM)
    finally:
        if _worker_state == "job":
            _worker_state = "idle"


def _stop_pool(pool: ProcessPoolExecutor, workers: dict[Any, Any], out_dir: str,
               grace: float = 1.0) -> None:
    """Cancel the queued files and end every worker (``workers``: the pool's own table of its
    processes): SIGTERM, on which the worker abandons its file cleanly, then SIGKILL for one
    still alive after ``grace`` seconds, and the temporary files of the killed ones are
    removed from ``out_dir``. Stop signals are ignored from now on (see
    :func:`_first_stop_signal`); without that handler, one that gets in runs it again."""
    global _stopping
    _stopping = True
    while True:
        try:
            processes = list(workers.values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                proc.terminate()
            deadline = time.monotonic() + grace
            for proc in processes:
                proc.join(max(0.0, deadline - time.monotonic()))
            killed = [proc for proc in processes if proc.is_alive()]
            for proc in killed:
                proc.kill()
                proc.join(1.0)
            if killed:  # their writers are dead now, so their temporary files are stale
                from imgstudio.core.atomic import sweep_stale_temp_files

                sweep_stale_temp_files(out_dir, older_than=0.0)
            return
        except (KeyboardInterrupt, Terminated):
            continue


class _Tally:
    """What a batch has done so far: counts, failures, the crash log of its internal errors."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.failures: list[tuple[str, str]] = []
        self.crash_log: Path | None = None
        self.started = time.perf_counter()

    def finished(self, src: str, error: BaseException | None) -> None:
        name = os.path.basename(src)
        if error is None:
            self.done += 1
        else:
            message = self._describe(src, error)
            self.failures.append((name, message))
            if sys.stderr.isatty():
                sys.stderr.write("\n")
            sys.stderr.write(f"failed: {name}: {message}\n")
        _progress_bar(self.done + len(self.failures), self.total, name)

    def _describe(self, src: str, error: BaseException) -> str:
        from concurrent.futures.process import BrokenProcessPool

        from imgstudio.core.crashlog import describe, write_crash_log

        if isinstance(error, BAD_INPUT):
            return error_message(error)
        if isinstance(error, BrokenProcessPool):
            return "its worker process died (killed by the system, or crashed)"
        try:  # a bug: the traceback (a worker's included) goes to the batch's one crash log
            self.crash_log = write_crash_log(error, context=f"batch: {src}",
                                             append_to=self.crash_log)
            where = f"details in {self.crash_log}"
        except OSError as exc:
            where = f"no log: {exc}"
        return f"internal error: {describe(error)} ({where})"

    def report(self, stopped: str = "") -> int:
        """Print the summary; ``stopped`` says why the batch stopped early ("interrupted")."""
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        elapsed = time.perf_counter() - self.started
        failed = len(self.failures)
        line = f"{self.total} files in {elapsed:.1f} s: {self.done} done, {failed} failed"
        if stopped:
            line += f", {self.total - self.done - failed} not processed ({stopped})"
        print(line, flush=True)
        for name, error in self.failures:
            print(f"  {name}: {error}")
        sys.stdout.flush()
        return EXIT_FAILED if self.failures else 0


def _run_pool(args: argparse.Namespace, files: list[str], named: dict[str, str],
              tally: _Tally) -> None:
    pool = ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init)
    workers = getattr(pool, "_processes", None)  # the pool fills this table as it starts them
    pending: dict[Future, str] = {}
    try:
        # Workers start inside submit(): with the signals blocked, so that none is started
        # before it can ignore Ctrl-C (the pool's threads keep them blocked).
        _mask(block=True)
        try:
            for src in files:
                pending[pool.submit(_batch_job, args.recipe, src, args.output_dir, named)] = src
        finally:
            _mask(block=False)
        while pending:
            ready, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in ready:
                tally.finished(pending.pop(fut), fut.exception())
        pool.shutdown(wait=True)
    except BaseException:  # Ctrl-C, SIGTERM, or a bug here: no worker outlives the batch
        _stop_pool(pool, workers if workers is not None else {}, args.output_dir)
        for fut, src in pending.items():  # finished while we stopped: count what was written
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                tally.finished(src, None)
        raise


class _TerminalBar:
    """Progress of one long operation on standard error: a bar redrawn in place on a
    terminal (at most 10 times a second), else a line at most every 5 seconds."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = -1e9
        self.drawn = False
        self.lock = threading.Lock()

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        with self.lock:
            if now - self.last < (0.1 if self.tty else 5.0) and fraction < 1.0:
                return
            self.last = now
            try:
                if self.tty:
                    filled = int(30 * fraction)
                    sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} "
                                     f"{message[:60]:<60}")
                    self.drawn = True
                else:
                    sys.stderr.write(f"[{fraction:4.0%}] {message}\n")
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        with self.lock:
            if self.drawn:
                try:
                    sys.stderr.write("\n")
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
                self.drawn = False


def _run_with_bar(spec: Any, invocation: Any) -> Any:
    """Run a long operation with a progress bar; the first Ctrl-C cancels it cooperatively (a
    training keeps the checkpoint of its last finished epoch), exit status 130."""
    global _running
    from imgstudio.core.progress import Cancelled, Progress

    bar = _TerminalBar()
    progress = Progress(bar)
    _running = progress
    try:
        return invocation.run(progress)
    except Cancelled as exc:
        bar.close()
        _say(f"imgstudio: interrupted: {spec.id} {exc}")
        raise _Interrupted from None
    finally:
        _running = None
        bar.close()


class _Interrupted(Exception):
    """A long operation stopped by Ctrl-C (already reported): exit status 130."""


def _progress_bar(done: int, total: int, name: str) -> None:
    if sys.stderr.isatty():
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:<40}")
        sys.stderr.flush()
    else:
        sys.stderr.write(f"[{done}/{total}] {name}\n")


def _cmd_batch(args: argparse.Namespace) -> int:
    from imgstudio.core.io import SUPPORTED_READ_EXTENSIONS
    from imgstudio.core.replay import check_named_sources

    checked = _load_checked(args.recipe)  # the whole recipe, before any file
    if not checked.source_kinds:
        raise UsageError("the recipe reads no source layer, so there is nothing to bind "
                         "the input files to")
    named = _parse_assignments(args.layer, "--layer")
    check_named_sources(checked.source_kinds, named)
    for name, path in named.items():
        if not os.path.isfile(path):
            raise UsageError(f"--layer {name}: no such file: {path}")
    if not os.path.isdir(args.input_dir):
        raise UsageError(f"input_dir: no such folder: {args.input_dir}")
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1; got {args.workers}")
    files = sorted(
        str(p) for p in Path(args.input_dir).iterdir()
        if p.is_file() and "".join(p.suffixes[-2:]).lower().endswith(
            tuple(SUPPORTED_READ_EXTENSIONS))
    )
    if not files:
        raise UsageError(f"input_dir: no image files in {args.input_dir}")
    os.makedirs(args.output_dir, exist_ok=True)
    tally = _Tally(len(files))
    try:
        if args.workers == 1:  # in this process: Ctrl-C unwinds the file in progress
            for src in files:
                try:
                    _batch_one(args.recipe, src, args.output_dir, named)
                except Exception as exc:
                    tally.finished(src, exc)
                else:
                    tally.finished(src, None)
        else:
            _run_pool(args, files, named, tally)
    except (KeyboardInterrupt, Terminated) as exc:
        tally.report("terminated" if isinstance(exc, Terminated) else "interrupted")
        raise
    return tally.report()


def _cmd_script(args: argparse.Namespace) -> int:
    from imgstudio.core.io import atomic_write_text
    from imgstudio.core.replay import to_script

    text = to_script(_load_checked(args.recipe).recipe)
    if args.output:
        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


# -- the editor -----------------------------------------------------------------------------------

def _cmd_editor(argv: list[str]) -> int:
    parser = _Parser(prog="imgstudio", description="Open the imgstudio editor.",
                     epilog="Subcommands: imgstudio {ops,run,batch,script} --help")
    parser.add_argument("files", nargs="*", help="images or .imgs projects to open")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="open, wait for the first complete paint, save the window, exit")
    args = parser.parse_args(argv)
    # a missing or bad file does not stop the editor: it starts and shows the message
    opening = None
    if args.files:  # decode the first file on another core while Qt starts
        from concurrent.futures import ThreadPoolExecutor

        from imgstudio.core.workspace import Workspace

        loader = ThreadPoolExecutor(1, thread_name_prefix="imgstudio-open")
        opening = loader.submit(Workspace.open, args.files[0])
        loader.shutdown(wait=False)
    try:
        # Imported by name so that the headless entry point never imports Qt by itself.
        app = importlib.import_module("imgstudio.gui.app")
    except ModuleNotFoundError as exc:
        if exc.name != "imgstudio.gui.app":
            raise
        print("imgstudio: the editor window is not built yet; the headless commands work: "
              "imgstudio ops, imgstudio run, imgstudio batch (see --help)")
        return 0
    return app.main(args.files, screenshot=args.screenshot, opening=opening)


# -- imgstudio models -----------------------------------------------------------------------------

def _cmd_models(args: argparse.Namespace) -> int:
    from imgstudio.models import store

    action = args.action or "list"
    if action == "list":
        rows = store.verify()
        known = store.known()
        if args.json:
            json.dump([{**known[n].to_json(), "status": st, "detail": d} for n, st, d in rows],
                      sys.stdout, indent=1)
            sys.stdout.write("\n")
            return 0
        width = max((len(n) for n, _, _ in rows), default=10)
        for name, status, detail in rows:
            info = known[name]
            where = detail if status == "ok" else f"install: {info.command}"
            print(f"{name:<{width}}  {status:<7}  {info.format:<16}  {info.licence.split(' (')[0]:<14}  {where}")
        print(f"user folder: {store.user_folders()[0]}")
        return 0
    if action == "path":
        if len(args.names) != 1:
            raise UsageError("models path takes one model name")
        print(store.path(args.names[0]))
        return 0
    if action == "verify":
        bad = 0
        for name, status, detail in store.verify(args.names or None):
            print(f"{name}: {status}" + (f" ({detail})" if status != "ok" else f" {detail}"))
            bad += status == "corrupt" or (bool(args.names) and status != "ok")
        return 1 if bad else 0
    if action == "import":
        if len(args.names) != 1 or not args.name:
            raise UsageError("models import takes one FILE and --name NAME")
        located = store.import_file(args.names[0], args.name, format=args.format,
                                    architecture=args.architecture, licence=args.licence,
                                    companions=args.companion)
        print(f"imported {located.info.name} ({located.info.format}, sha256 "
              f"{located.info.sha256[:12]}…) to {located.path}")
        return 0
    raise UsageError(f"models: unknown action {action!r} (list, path, verify, import)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="imgstudio", description="imgstudio operations, headless.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p_ops = sub.add_parser("ops", help="list operations", description="List every operation.")
    p_ops.add_argument("--json", action="store_true", help="machine-readable specs")
    p_ops.add_argument("--markdown", action="store_true",
                       help="the operations reference (docs/operations.md)")
    p_ops.set_defaults(func=_cmd_ops)

    p_run = sub.add_parser("run", help="run one operation",
                           description="Run one operation on image files.")
    p_run.add_argument("op_id", help="operation id, e.g. basic.invert (see imgstudio ops)")
    p_run.add_argument("inputs", nargs="*", metavar="INPUT",
                       help="input files, filling the op's layer inputs in order")
    p_run.add_argument("-o", "--output", help="output file (image, labels, CSV or JSON)")
    p_run.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter; repeat for more")
    p_run.add_argument("--input", action="append", default=[], metavar="NAME=PATH",
                       help="a named layer input (reference=ref.png, mask=mask.png)")
    p_run.add_argument("--json", action="store_true", help="print the result as JSON")
    p_run.set_defaults(func=_cmd_run)

    p_batch = sub.add_parser("batch", help="replay a recipe on a folder",
                             description="Replay a saved recipe on every image of a folder.")
    p_batch.add_argument("recipe", help="a recipe saved from the History panel (.json)")
    p_batch.add_argument("input_dir")
    p_batch.add_argument("output_dir")
    p_batch.add_argument("--workers", type=int, default=1, help="processes to use (default 1)")
    p_batch.add_argument("--layer", action="append", default=[], metavar="NAME=PATH",
                         help="a file for another source layer of the recipe (one file for "
                              "every input); repeat for more")
    p_batch.set_defaults(func=_cmd_batch)

    p_script = sub.add_parser(
        "script", help="export a recipe as a Python script",
        description="Write a recipe as a runnable Python script over imgstudio.api: "
                    "python SCRIPT.py INPUT OUTPUT [NAME=PATH ...].")
    p_script.add_argument("recipe", help="a recipe saved from the History panel (.json)")
    p_script.add_argument("-o", "--output", metavar="SCRIPT.py",
                          help="where to write the script (default: standard output)")
    p_script.set_defaults(func=_cmd_script)

    p_models = sub.add_parser(
        "models", help="list, check and import model weights",
        description="The model store: list (installed or missing, licence), path NAME, "
                    "verify [NAME...] (checksums; exit 1 when a file is corrupt), "
                    "import FILE --name NAME (copy weights into your model folder).")
    p_models.add_argument("action", nargs="?", choices=("list", "path", "verify", "import"))
    p_models.add_argument("names", nargs="*", metavar="NAME|FILE")
    p_models.add_argument("--name", help="import: the model's store name")
    p_models.add_argument("--format", help="import: file format (default: from the name or "
                                           "the extension)")
    p_models.add_argument("--architecture", help="import: architecture (default: the manifest's)")
    p_models.add_argument("--licence", help="import: the weights' licence")
    p_models.add_argument("--companion", action="append", default=[], metavar="FILE",
                          help="import: a file that goes with the model (an ncnn .param)")
    p_models.add_argument("--json", action="store_true", help="list: machine-readable")
    p_models.set_defaults(func=_cmd_models)
    return parser


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        args = build_parser().parse_args(argv)
        return args.func(args)
    if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
        build_parser().print_help()
        print("\nWithout a subcommand, imgstudio [FILES...] opens the editor "
              "(--screenshot OUT.png to save the window and exit).")
        return 0
    return _cmd_editor(argv)


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # no standard error left to tell
        pass


def _first_stop_signal(signum: int, frame: Any) -> None:
    """SIGINT or SIGTERM during a headless command: the first raises ``KeyboardInterrupt`` or
    ``Terminated``; later ones are ignored, so that a second Ctrl-C cannot break the clean-up of
    the first (a lock half released, a temporary file left, a worker left running)."""
    global _stopping
    if _stopping:
        return
    if signum == signal.SIGINT and _running is not None and not _running.cancelled:
        _running.cancel()  # the operation stops at its next progress check
        _say("imgstudio: stopping (Ctrl-C again to abandon at once)")
        return
    _stopping = True
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _stdout_closed() -> bool:
    """Whether standard output is a closed pipe (``imgstudio ops | head``); if so, point it at
    /dev/null so that the interpreter's last flush does not complain."""
    try:
        sys.stdout.flush()
        return False
    except BrokenPipeError:
        pass
    except (OSError, ValueError):
        return False
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return True


def _internal_error(exc: Exception, argv: list[str]) -> int:
    """A bug: the traceback to a crash log, one line naming it, exit status 70."""
    import traceback

    from imgstudio.core.crashlog import describe, write_crash_log

    try:
        where = f"details in {write_crash_log(exc, argv=['imgstudio', *argv])}"
    except OSError as log_error:  # nothing lost: the traceback goes to standard error instead
        traceback.print_exception(exc)
        where = f"{log_error}; traceback above"
    _say(f"imgstudio: internal error: {describe(exc)} ({where})")
    return EXIT_SOFTWARE


def main(argv: list[str] | None = None) -> int:
    """Run the command; the one error boundary of the command line (see the module's exit
    statuses): every failure ends here as one line on standard error."""
    program = argv is None  # the process's own command line: it exits when this returns
    argv = list(sys.argv[1:] if argv is None else argv)
    global _stopping
    restore: dict[int, Any] = {}
    if argv and argv[0] in SUBCOMMANDS and threading.current_thread() is threading.main_thread():
        _stopping = False
        for s in _STOP_SIGNALS:
            restore[s] = signal.signal(s, _first_stop_signal)
    try:
        return _dispatch(argv)
    except _Interrupted:
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _say("imgstudio: interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        _say("imgstudio: terminated")
        return EXIT_TERMINATED
    except BrokenPipeError as exc:
        if _stdout_closed():
            return EXIT_FAILED
        _say(f"imgstudio: error: {error_message(exc)}")
        return EXIT_USAGE
    except BAD_INPUT as exc:
        _say(f"imgstudio: error: {error_message(exc)}")
        return EXIT_USAGE
    except Exception as exc:
        return _internal_error(exc, argv)
    finally:
        # Stopped by a signal, the program ignores any other until it has exited: a second
        # Ctrl-C must not turn its exit status 130 into a death by signal.
        if not (program and _stopping):
            for s, handler in restore.items():
                signal.signal(s, handler if handler is not None else signal.SIG_DFL)
            _stopping = False


if __name__ == "__main__":
    sys.exit(main())
