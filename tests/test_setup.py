"""The set-up checks `make run` does before opening the window (scripts/check_display.py)."""

from __future__ import annotations

import ctypes.util
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_display.py"


@pytest.fixture
def check():
    spec = importlib.util.spec_from_file_location("check_display", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_display_refuses_to_open_an_invisible_editor():
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    assert "there is no display" in proc.stderr and "--screenshot" in proc.stderr


def test_an_explicit_offscreen_platform_is_allowed():
    proc = subprocess.run([sys.executable, str(SCRIPT)],
                          env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(("env", "absent", "package"), [
    ({"DISPLAY": ":0"}, "xcb-cursor", "libxcb-cursor0"),
    ({"DISPLAY": ":0"}, "xkbcommon-x11", "libxkbcommon-x11-0"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "wayland-egl", "libwayland-egl1"),
])
def test_missing_qt_platform_libraries_are_named_with_their_package(
        check, monkeypatch, capsys, env, absent, package):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(ctypes.util, "find_library",
                        lambda name: None if name == absent else f"lib{name}.so")
    assert check.main() == 1
    err = capsys.readouterr().err
    assert f"sudo apt-get install {package}" in err
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: f"lib{name}.so")
    assert check.main() == 0
