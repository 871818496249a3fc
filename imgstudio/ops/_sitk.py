"""Running SimpleITK filters from operations with progress and cancellation (shared by the
binary and segmentation families). SimpleITK is imported inside the function."""

from __future__ import annotations

from typing import Any

from imgstudio.core.progress import Cancelled, Progress


def run_sitk(filt: Any, inputs: tuple, progress: Progress, message: str) -> Any:
    """Execute a SimpleITK filter object, forwarding its progress and aborting it on Cancel."""
    import SimpleITK as sitk

    done = [0.0]

    def report() -> None:
        done[0] = max(done[0], filt.GetProgress())  # nested filters may restart their count
        try:
            progress(done[0], message)
        except Cancelled:
            filt.Abort()

    filt.AddCommand(sitk.sitkProgressEvent, report)
    try:
        return filt.Execute(*inputs)
    except RuntimeError:
        progress.check()  # raises Cancelled when that is why the filter stopped
        raise
