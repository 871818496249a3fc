"""Medical image formats through SimpleITK (DICOM, NRRD, NIfTI, MetaImage), with the checks
ITK's readers skip (truncated NIfTI data, sibling files). Used by :mod:`imgstudio.core.io`."""

from __future__ import annotations

import contextlib
import math
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


class ImageIOError(OSError):
    """An image file could not be read or written (missing, corrupt, truncated, unsupported).

    The message always names the file. (Defined here, re-exported by imgstudio.core.io.)
    """


def extension(path: Path) -> str:
    """Return the lowercase extension of ``path``, treating ``.nii.gz`` as one extension."""
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return path.suffix.lower()


# SimpleITK ImageIO used for each medical format, so detection and reading agree.
_SITK_IMAGE_IO = {
    "DICOM": "GDCMImageIO",
    "NRRD": "NrrdImageIO",
    "NIfTI": "NiftiImageIO",
    "MetaImage": "MetaImageIO",
}



def check_nifti_complete(path: Path) -> None:
    """Raise ImageIOError when a NIfTI file holds fewer voxel bytes than its header announces.

    ITK's NIfTI reader silently fills missing data with zeros, so truncation is checked here.
    """
    import gzip

    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rb") as handle:
            header = handle.read(540)
            total = len(header) + sum(
                len(chunk) for chunk in iter(lambda: handle.read(1 << 20), b"")
            )
    except (OSError, EOFError) as exc:  # a cut gzip stream ends before its end-of-stream marker
        raise ImageIOError(f"cannot read image {path}: corrupt or truncated NIfTI file") from exc
    for endian in "<>":
        try:
            (header_size,) = struct.unpack_from(endian + "i", header, 0)
            if header_size == 348:  # NIfTI-1
                dims = struct.unpack_from(endian + "8h", header, 40)
                (bitpix,) = struct.unpack_from(endian + "h", header, 72)
                (vox_offset,) = struct.unpack_from(endian + "f", header, 108)
            elif header_size == 540:  # NIfTI-2
                (bitpix,) = struct.unpack_from(endian + "h", header, 14)
                dims = struct.unpack_from(endian + "8q", header, 16)
                (vox_offset,) = struct.unpack_from(endian + "q", header, 168)
            else:
                continue
        except struct.error:
            return  # too short to hold a header: SimpleITK reports it
        if not 1 <= dims[0] <= 7:
            return
        needed = int(vox_offset) + math.prod(max(n, 1) for n in dims[1 : dims[0] + 1]) * bitpix // 8
        if total < needed:
            raise ImageIOError(
                f"cannot read image {path}: truncated NIfTI file ({total} of {needed} bytes)"
            )
        return


def _is_gzip(path: Path) -> bool:
    """Whether ``path`` starts with the gzip signature."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


@contextlib.contextmanager
def _nifti_without_siblings(path: Path) -> Iterator[Path]:
    """Yield a path to read ``path`` from where no other NIfTI file shares its name.

    ITK's NIfTI library, asked for ``x.nii.gz``, reads ``x.nii`` when that file exists (and the
    other way round), so a file with such a sibling is read from a private copy.
    """
    ext = extension(path)
    stem = path.name[: -len(ext)] if ext in (".nii", ".nii.gz") else path.name
    siblings = (path.with_name(stem + other) for other in (".nii", ".nii.gz", ".hdr", ".img"))
    if not any(sibling != path and sibling.exists() for sibling in siblings):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="imgstudio-nifti-") as tmpdir:
        copy = Path(tmpdir) / path.name
        shutil.copyfile(path, copy)
        yield copy


def read_sitk(path: Path, fmt: str) -> np.ndarray:
    """Read a 2D DICOM, NRRD, NIfTI or MetaImage file with SimpleITK."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetImageIO(_SITK_IMAGE_IO[fmt])
    if fmt == "NIfTI":
        check_nifti_complete(path)
        with _nifti_without_siblings(path) as source:
            reader.SetFileName(str(source))
            itk_image = reader.Execute()
    else:
        reader.SetFileName(str(path))
        itk_image = reader.Execute()
    size = itk_image.GetSize()  # (x, y[, z...]); the array is indexed (...z, y, x[, c])
    array = sitk.GetArrayFromImage(itk_image)
    spatial = array.shape[: len(size)]
    if len(spatial) > 2:
        keep = {axis for axis, extent in enumerate(spatial) if extent != 1}
        if len(keep) > 2:
            raise ImageIOError(
                f"cannot read image {path}: only 2D images are supported; this {fmt} file holds "
                f"a volume of size {size}"
            )
        for axis in reversed(range(len(spatial))):  # a 1-pixel-high image keeps its (y, x) axes
            if len(keep) == 2:
                break
            keep.add(axis)
        drop = tuple(axis for axis in range(len(spatial)) if axis not in keep)
        array = array.squeeze(axis=drop)
    return array


def write_sitk(target: Path, image: np.ndarray) -> None:
    """Write a 2D NRRD, NIfTI or MetaImage file with SimpleITK."""
    import SimpleITK as sitk

    itk_image = sitk.GetImageFromArray(image, isVector=image.ndim == 3)
    sitk.WriteImage(itk_image, str(target), useCompression=True)
