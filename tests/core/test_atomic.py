"""The one atomic writer (imgstudio.core.atomic): it writes through symlinks, refuses targets
that are not regular files, fsyncs, gives modes like open() and sweeps only its own stale
left-overs."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from imgstudio.core import atomic
from imgstudio.core.atomic import (
    STALE_AFTER_S,
    atomic_write,
    atomic_write_text,
    sweep_stale_temp_files,
)
from imgstudio.core.io import ImageIOError, load_image, save_image

posix_only = pytest.mark.skipif(os.name != "posix", reason="symlinks, FIFOs and devices")

IMAGE = np.arange(48, dtype=np.uint8).reshape(6, 8)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- symlinks and targets that are not regular files -------------------------------------------
@posix_only
def test_a_save_through_a_symlink_writes_the_real_file_and_keeps_the_link(tmp_path):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    real = real_dir / "photo.png"
    save_image(real, np.zeros_like(IMAGE))
    link = link_dir / "photo.png"
    link.symlink_to(os.path.relpath(real, link_dir))
    seen = []

    def write(tmp: Path) -> None:
        seen.append(tmp)
        save_image(real_dir / "scratch.png", IMAGE)  # any writer; this one uses save_image
        os.replace(real_dir / "scratch.png", tmp)

    atomic_write(link, write)

    assert link.is_symlink() and os.readlink(link) == os.path.relpath(real, link_dir)
    np.testing.assert_array_equal(load_image(real), IMAGE)
    assert seen[0].parent.parent == real_dir  # the temporary file sat next to the REAL target
    assert _names(real_dir) == ["photo.png"] and _names(link_dir) == ["photo.png"]


@posix_only
def test_save_image_through_a_symlink_round_trips(tmp_path):
    real = tmp_path / "a.tif"
    save_image(real, np.zeros_like(IMAGE))
    link = tmp_path / "b.tif"
    link.symlink_to(real)
    save_image(link, IMAGE)
    assert link.is_symlink()
    np.testing.assert_array_equal(load_image(real), IMAGE)
    assert _names(tmp_path) == ["a.tif", "b.tif"]


@pytest.fixture
def confined(tmp_path, monkeypatch):
    """Fail, instead of doing it, any folder creation or rename outside ``tmp_path``: a
    regression must not replace a real device node (the tests may run as root)."""
    real_mkdir, real_replace = os.mkdir, os.replace

    def inside(path) -> bool:
        return Path(os.path.abspath(path)).is_relative_to(tmp_path)

    def mkdir(path, *args, **kwargs):
        assert inside(path), f"atomic_write tried to create {path}"
        return real_mkdir(path, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):
        assert inside(dst), f"atomic_write tried to replace {dst}"
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "replace", replace)


@posix_only
@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_symlink_to_a_device_is_refused_and_the_device_untouched(tmp_path, device, confined):
    before = os.stat(device)
    link = tmp_path / "out.png"
    link.symlink_to(device)
    with pytest.raises(ImageIOError, match=rf"out\.png.*not a regular file.*{device}.*device"):
        save_image(link, IMAGE)
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert link.is_symlink() and os.readlink(link) == device
    assert _names(tmp_path) == ["out.png"]


@posix_only
@pytest.mark.parametrize("via_link", [False, True])
def test_a_fifo_is_refused_without_blocking(tmp_path, via_link):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    path = fifo
    if via_link:
        path = tmp_path / "link.png"
        path.symlink_to(fifo)
    start = time.monotonic()
    with pytest.raises(ImageIOError, match=r"not a regular file.*FIFO"):
        save_image(path, IMAGE)
    assert time.monotonic() - start < 5
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_directory_is_refused_and_kept(tmp_path):
    folder = tmp_path / "out.png"
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(ImageIOError, match=r"out\.png: not a regular file \(it is a directory"):
        save_image(folder, IMAGE)
    with pytest.raises(OSError, match="not a regular file"):
        atomic_write_text(folder, "text")
    assert _names(folder) == ["inside"]


@posix_only
def test_a_symlink_loop_is_named(tmp_path):
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    with pytest.raises(ImageIOError, match=r"a\.txt"):
        atomic_write_text(tmp_path / "a.txt", "x")


def test_a_missing_folder_is_named_not_the_temporary_file(tmp_path):
    with pytest.raises(ImageIOError, match=r"cannot write file .*nothere.*notes\.txt: No such"):
        atomic_write_text(tmp_path / "nothere" / "notes.txt", "x")


def test_a_failing_writer_leaves_the_target_and_no_temporary_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("old")

    def write(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("encoder failed")

    with pytest.raises(RuntimeError, match="encoder failed"):
        atomic_write(path, write, "file")
    assert path.read_text() == "old" and _names(tmp_path) == ["notes.txt"]


def test_the_temporary_folder_names_the_target_and_this_process(tmp_path):
    seen = []
    atomic_write(tmp_path / "x.txt", lambda tmp: (seen.append(tmp), tmp.write_text("1")) and None)
    assert seen[0].name == "x.txt"
    assert re.fullmatch(rf"\.x\.txt\.imgstudio-{os.getpid()}-[0-9a-f]{{8}}\.tmp",
                        seen[0].parent.name)


# -- durability and modes -----------------------------------------------------------------------
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_the_file_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.fspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "notes.txt"
    atomic_write_text(target, "text")
    kinds = [kind for kind, _ in events]
    assert kinds == ["fsync", "replace", "fsync"]
    assert events[0][1].endswith("/notes.txt") and events[0][1] != str(target)  # the temp
    assert events[1] == ("replace", str(target))
    assert events[2] == ("fsync", str(tmp_path))


@pytest.fixture
def umask():
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


@posix_only
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_files_get_their_mode_from_the_umask(tmp_path, umask, mask):
    umask(mask)
    atomic_write_text(tmp_path / "recipe.json", "{}")
    save_image(tmp_path / "a.png", IMAGE)
    atomic_write(tmp_path / "b.npy", lambda tmp: np.save(tmp, IMAGE), "file")
    for name in ("recipe.json", "a.png", "b.npy"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~mask, name


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o600, 0o664])
def test_a_replaced_file_keeps_its_mode(tmp_path, umask, mode):
    for name, save in (("a.png", lambda p: save_image(p, IMAGE)),
                       ("b.txt", lambda p: atomic_write_text(p, "new"))):
        path = tmp_path / name
        path.write_bytes(b"old")
        os.chmod(path, mode)
        save(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, name
        assert path.read_bytes() != b"old"


# -- sweeping left-overs ------------------------------------------------------------------------
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _age(path: Path, seconds: float) -> None:
    """Set the mtime of ``path`` (and of what is in it) ``seconds`` into the past."""
    when = time.time() - seconds
    if path.is_dir() and not path.is_symlink():
        for item in path.iterdir():
            os.utime(item, (when, when), follow_symlinks=False)
    os.utime(path, (when, when), follow_symlinks=False)


def _temp_dir(folder: Path, name: str, pid: int, rand: str = "0a1b2c3d",
              content: str | None = "x.png") -> Path:
    tmp = folder / f".{name}.imgstudio-{pid}-{rand}.tmp"
    tmp.mkdir(mode=0o700)
    if content:
        (tmp / content).write_bytes(b"partial")
    return tmp


OLD = STALE_AFTER_S + 600


def test_a_stale_temporary_folder_of_a_dead_writer_is_removed(tmp_path):
    dead = _dead_pid()
    stale = _temp_dir(tmp_path, "x.png", dead)
    empty = _temp_dir(tmp_path, "y.png", dead, content=None)  # killed before writing
    _age(stale, OLD)
    _age(empty, OLD)
    assert sorted(sweep_stale_temp_files(tmp_path)) == sorted([stale, empty])
    assert _names(tmp_path) == []


def test_a_fresh_or_live_temporary_folder_is_kept(tmp_path):
    dead = _dead_pid()
    fresh = _temp_dir(tmp_path, "fresh.png", dead)  # dead writer, but changed just now
    mine = _temp_dir(tmp_path, "mine.png", os.getpid())  # old but this live process
    _age(mine, OLD)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        other = _temp_dir(tmp_path, "other.png", sleeper.pid)  # old, another live process
        _age(other, OLD)
        busy = _temp_dir(tmp_path, "busy.png", dead)  # old folder, file in it just written
        os.utime(busy, (time.time() - OLD, time.time() - OLD))
        assert sweep_stale_temp_files(tmp_path) == []
    finally:
        sleeper.kill()
        sleeper.wait()
    assert {fresh.name, mine.name, other.name, busy.name} == set(_names(tmp_path))


@posix_only
def test_files_not_matching_the_pattern_are_never_touched(tmp_path):
    dead = _dead_pid()
    keep = {
        "photo.png": "file",
        ".photo.png.imgstudio-notapid-0a1b2c3d.tmp": "dir",
        f".photo.png.imgstudio-{dead}-XYZ.tmp": "dir",
        f"photo.png.imgstudio-{dead}-0a1b2c3d.tmp": "dir",  # not hidden
        ".cache": "dir",
        "notes.tmp": "file",
        ".part.tmp": "file",
        ".tmp-abcd1234.png": "file",
        ".photo.png.part": "file",
        ".photo.png.abc.tmp": "dir",  # random part not 8 characters
        f".a.png.imgstudio-{dead}-0a1b2c3d.tmp": "file",  # our name but a file
    }
    for name, kind in keep.items():
        if kind == "dir":
            (tmp_path / name).mkdir(mode=0o700)
            (tmp_path / name / "data").write_bytes(b"user data")
        else:
            (tmp_path / name).write_bytes(b"user data")
            os.chmod(tmp_path / name, 0o600)
    target = tmp_path / "precious"
    target.mkdir()
    (target / "x.png").write_bytes(b"keep me")
    link = tmp_path / f".l.png.imgstudio-{dead}-0a1b2c3d.tmp"
    link.symlink_to(target)  # a link with our name: not followed, not removed
    for name in [*keep, link.name]:
        _age(tmp_path / name, 10 * OLD)
    assert sweep_stale_temp_files(tmp_path) == []
    assert set(_names(tmp_path)) == {*keep, link.name, "precious"}
    assert (target / "x.png").read_bytes() == b"keep me"


def test_left_overs_of_earlier_versions_are_recognised_narrowly(tmp_path):
    project = tmp_path / ".tmp-ab_d1234.imgs"  # old save_project (mkstemp: mode 0600)
    project.write_bytes(b"PK partial zip")
    os.chmod(project, 0o600)
    shared = tmp_path / ".tmp-zzzz9999.imgs"  # same name, but mode 0644: not mkstemp's
    shared.write_bytes(b"PK")
    os.chmod(shared, 0o644)
    old_dir = tmp_path / ".target.tif.k2j4h5g6.tmp"  # old atomic_write (mkdtemp: 0700)
    old_dir.mkdir(mode=0o700)
    (old_dir / "target.tif").write_bytes(b"II*\0")
    mhd = tmp_path / ".scan.mhd.a1b2c3d4.tmp"  # with a companion file named after it
    mhd.mkdir(mode=0o700)
    (mhd / "scan.mhd").write_text("ObjectType")
    (mhd / "scan.raw").write_bytes(b"\0" * 8)
    foreign = tmp_path / ".target.tif.q1w2e3r4.tmp"  # holds a file of another name
    foreign.mkdir(mode=0o700)
    (foreign / "diary.txt").write_text("mine")
    fresh = tmp_path / ".tmp-fresh123.imgs"
    fresh.write_bytes(b"PK")
    os.chmod(fresh, 0o600)
    for path in (project, shared, old_dir, mhd, foreign):
        _age(path, OLD)
    assert sorted(sweep_stale_temp_files(tmp_path)) == sorted([project, old_dir, mhd])
    assert set(_names(tmp_path)) == {shared.name, foreign.name, fresh.name}


def test_atomic_write_sweeps_the_target_folder_once_per_process(tmp_path):
    stale = _temp_dir(tmp_path, "a.png", _dead_pid())
    _age(stale, OLD)
    save_image(tmp_path / "a.png", IMAGE)
    assert _names(tmp_path) == ["a.png"]
    later = _temp_dir(tmp_path, "b.png", _dead_pid())
    _age(later, OLD)
    save_image(tmp_path / "a.png", IMAGE)  # already swept in this process: not scanned again
    assert later.exists()
    assert str(tmp_path) in atomic._swept


@posix_only
def test_killed_saves_leave_only_temp_folders_that_the_sweep_removes_once_stale(tmp_path):
    target = tmp_path / "photo.png"
    save_image(target, IMAGE)
    before = target.read_bytes()
    # A save killed (SIGKILL) in the middle of writing, three times.
    code = ("import sys, time\n"
            "from imgstudio.core.atomic import atomic_write\n"
            "def write(tmp):\n"
            "    tmp.write_bytes(b'\\x89PNG half')\n"
            "    print('writing', flush=True)\n"
            "    time.sleep(60)\n"
            "atomic_write(sys.argv[1], write)\n")
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", code, str(target)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "writing"
        child.kill()
        child.wait(10)
        child.stdout.close()
    left = [p for p in tmp_path.iterdir() if p != target]
    assert len(left) == 3 and all(atomic._TEMP.fullmatch(p.name) for p in left)
    assert target.read_bytes() == before  # never a broken file
    assert sweep_stale_temp_files(tmp_path) == []  # too fresh to be sure: kept for now
    for p in left:
        _age(p, OLD)
    assert sorted(sweep_stale_temp_files(tmp_path)) == sorted(left)
    assert _names(tmp_path) == ["photo.png"] and target.read_bytes() == before
