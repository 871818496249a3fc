"""Before `make run` opens the editor: is there a display, and does Qt have the system
libraries its platform plugin loads? Says exactly what is missing and what installs it.

Standard library only (it runs before anything else is imported). Exit 0: go ahead; 1: not.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

# Qt 6's xcb platform plugin loads these (library name for find_library -> Debian package).
X11 = {
    "xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0", "xcb-render-util": "libxcb-render-util0",
    "xcb-randr": "libxcb-randr0", "xcb-shape": "libxcb-shape0", "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
}
WAYLAND = {"wayland-cursor": "libwayland-cursor0", "wayland-egl": "libwayland-egl1"}


def missing(libs: dict[str, str]) -> list[str]:
    return [package for name, package in libs.items() if ctypes.util.find_library(name) is None]


def main() -> int:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal", "vnc"):
        return 0  # the user asked for a platform without a screen
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("imgstudio: there is no display (DISPLAY and WAYLAND_DISPLAY are unset), so the "
              "editor window cannot open. Run `make run` on a desktop; headless, use `make test`, "
              "`.venv/bin/imgstudio --screenshot out.png IMAGE` or `.venv/bin/imgstudio run ...`.",
              file=sys.stderr)
        return 1
    wayland = bool(os.environ.get("WAYLAND_DISPLAY")) and (
        platform.startswith("wayland") or not os.environ.get("DISPLAY"))
    lacking = missing(WAYLAND if wayland else X11)
    if lacking:
        kind = "Wayland" if wayland else "X11 (xcb)"
        print(f"imgstudio: Qt's {kind} platform needs system libraries that are not installed: "
              f"{' '.join(lacking)}. On Debian/Ubuntu: sudo apt-get install {' '.join(lacking)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
