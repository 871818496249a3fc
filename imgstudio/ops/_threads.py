"""Cancelling a blocking library call: run it in a helper thread and poll the progress token."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from imgstudio.core.progress import Progress

T = TypeVar("T")


def interruptible(func: Callable[[], T], progress: Progress, poll: float = 0.05,
                  name: str = "imgstudio-call") -> T:
    """Run the blocking ``func`` in a helper thread and poll ``progress.check()`` meanwhile.

    Libraries that release the GIL (OpenCV, dlib's HOG detector) are cancelled within
    ``poll`` seconds: the abandoned call finishes in the background (holding whatever lock it
    took) and its result is dropped. A call that keeps the GIL is cancelled when it returns.
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name=name, daemon=True).start()
    while not done.wait(poll):
        progress.check()
    if "error" in box:
        raise box["error"]
    return box["value"]
