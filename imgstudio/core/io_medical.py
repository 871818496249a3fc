"""Medical image formats through SimpleITK (DICOM, NRRD, NIfTI, MetaImage), with the checks
ITK's readers skip: the size limit from the header before any pixel is read, truncated NIfTI
data, data files that are not regular files, sibling files, NIfTI content under another name.
Used by :mod:`imgstudio.core.io`."""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import re
import shutil
import stat
import struct
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from imgstudio.core.limits import ImageTooLargeError, check_pixels


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


def check_image_size(path: Path, dims: Sequence[int], *, channels: int = 1,
                     itemsize: int = 1) -> None:
    """Apply the one size guard (:func:`imgstudio.core.limits.check_pixels`) to the size a
    file's header declares, before anything is decoded; raise ImageIOError naming the file, the
    size and the limit."""
    try:
        check_pixels(*dims, what=f"cannot read image {path}", channels=max(channels, 1),
                     itemsize=max(itemsize, 1))
    except ImageTooLargeError as exc:
        raise ImageIOError(str(exc)) from None
    except ValueError as exc:  # a dimension that is zero or negative
        raise ImageIOError(f"{exc} (corrupt header)") from None


def regular_file(path: Path, what: str = "image") -> os.stat_result:
    """Return the status of ``path`` (symlinks followed) or raise ImageIOError when it is
    missing or not a regular file: a FIFO, a device or a directory would block or never end."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise ImageIOError(f"cannot read {what} {path}: no such file") from None
    except OSError as exc:
        raise ImageIOError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(status.st_mode):
        raise ImageIOError(
            f"cannot read {what} {path}: not a regular file ({_file_kind(status.st_mode)})")
    return status


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


# SimpleITK ImageIO used for each medical format, so detection and reading agree.
_SITK_IMAGE_IO = {
    "DICOM": "GDCMImageIO",
    "NRRD": "NrrdImageIO",
    "NIfTI": "NiftiImageIO",
    "MetaImage": "MetaImageIO",
}

# --- NIfTI ------------------------------------------------------------------------------------

_NIFTI_MAGICS = {344: (b"n+1\x00", b"ni1\x00"), 4: (b"n+2\x00", b"ni2\x00")}


def nifti_kind(header: bytes) -> str | None:
    """``"single"`` (.nii), ``"pair"`` (.hdr with its .img) or None from a NIfTI-1/2 header."""
    for offset, (single, pair) in _NIFTI_MAGICS.items():
        magic = header[offset:offset + 4]
        if magic == single:
            return "single"
        if magic == pair:
            return "pair"
    return None


def gzip_nifti(path: Path) -> bool:
    """Whether ``path`` is a gzip stream that holds a single-file NIfTI image."""
    try:
        with gzip.open(path, "rb") as handle:
            return nifti_kind(handle.read(352)) == "single"
    except (OSError, EOFError, ValueError, zlib.error):
        return False


def _pair_data_file(path: Path) -> Path:
    """The ``.img`` file that holds the voxels of the NIfTI header ``path``."""
    base = path.name[: -len(path.suffix)] if path.suffix else path.name
    for suffix in (".img", ".IMG", ".img.gz"):
        candidate = path.with_name(base + suffix)
        if candidate.exists():
            return candidate
    raise ImageIOError(f"cannot read image {path}: its NIfTI data file {base}.img is missing")


def check_nifti_complete(path: Path, data_path: Path | None = None) -> None:
    """Raise ImageIOError when a NIfTI file (or the ``.img`` of a pair) holds fewer voxel bytes
    than its header announces.

    ITK's NIfTI reader silently fills missing data with zeros, so truncation is checked here.
    """
    data_path = data_path or path
    try:
        with _open_maybe_gzip(path) as handle:
            header = handle.read(540)
        if _is_gzip(data_path):
            with gzip.open(data_path, "rb") as handle:
                total = sum(len(chunk) for chunk in iter(lambda: handle.read(1 << 20), b""))
        else:
            total = data_path.stat().st_size
    except (OSError, EOFError, zlib.error) as exc:  # a cut or damaged gzip stream
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
        if not 1 <= dims[0] <= 7 or not math.isfinite(vox_offset):
            return
        voxels = math.prod(max(n, 1) for n in dims[1 : dims[0] + 1])
        offset = int(vox_offset) if data_path == path else 0
        needed = offset + voxels * bitpix // 8
        if total < needed:
            raise ImageIOError(
                f"cannot read image {path}: truncated NIfTI file ({total} of {needed} bytes)"
            )
        return


def _is_gzip(path: Path) -> bool:
    """Whether ``path`` starts with the gzip signature."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _open_maybe_gzip(path: Path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.symlink(source.resolve(), target)
    except OSError:  # no symlinks here (some file systems, Windows without the privilege)
        shutil.copyfile(source, target)


@contextlib.contextmanager
def _nifti_source(path: Path, kind: str, data_path: Path | None) -> Iterator[Path]:
    """Yield a path from which ITK reads ``path`` as the NIfTI content it holds.

    ITK's NIfTI library chooses by the name: it wants ``.nii``, ``.nii.gz`` or ``.hdr`` and,
    asked for ``x.nii.gz``, reads ``x.nii`` when that file exists (and the other way round). A
    file under another name or with such a sibling is read through links in a private folder.
    """
    wanted = ".hdr" if kind == "pair" else (".nii.gz" if _is_gzip(path) else ".nii")
    ext = extension(path)
    stem = path.name[: -len(ext)] if ext else path.name
    siblings = (path.with_name(stem + other) for other in (".nii", ".nii.gz", ".hdr", ".img"))
    clash = any(sibling not in (path, data_path) and sibling.exists() for sibling in siblings)
    if ext == wanted and not clash:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="imgstudio-nifti-") as tmpdir:
        link = Path(tmpdir) / ("image" + wanted)
        _link_or_copy(path, link)
        if data_path is not None:
            gz = data_path.name.lower().endswith(".gz")
            _link_or_copy(data_path, Path(tmpdir) / ("image.img.gz" if gz else "image.img"))
        yield link


# --- DICOM structure ------------------------------------------------------------------------------

_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
                       b"UT", b"UV"})
_VRS = _LONG_VRS | frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD",
                               b"IS", b"LO", b"LT", b"PN", b"SH", b"SL", b"SS", b"ST", b"TM",
                               b"UI", b"UL", b"US"})
_IMPLICIT_LITTLE = "1.2.840.10008.1.2"
_EXPLICIT_BIG = "1.2.840.10008.1.2.2"
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xE000, 0xE00D, 0xE0DD


class _DicomWalk:
    """Walks the data elements of a DICOM file, checking that every length fits in what is
    left of the file (GDCM allocates a value's declared length before it reads it, so a lying
    length costs gigabytes of memory that are never given back)."""

    def __init__(self, path: Path, data) -> None:
        self.path, self.data, self.end = path, data, len(data)

    def fail(self, detail: str) -> ImageIOError:
        return ImageIOError(f"cannot read image {self.path}: truncated or corrupt DICOM file "
                            f"({detail})")

    def element(self, pos: int, end: int, explicit: bool, order: str):
        """(group, element, vr, length, value position) of the element at ``pos``."""
        if pos + 8 > end:
            raise self.fail(f"element header cut at byte {pos}")
        group, element = struct.unpack_from(order + "HH", self.data, pos)
        vr = None
        if group == 0xFFFE or not explicit:
            (length,) = struct.unpack_from(order + "I", self.data, pos + 4)
            return group, element, vr, length, pos + 8
        vr = bytes(self.data[pos + 4 : pos + 6])
        if vr not in _VRS:  # GDCM would guess a length from the next bytes
            raise self.fail(f"element ({group:04X},{element:04X}) has no valid VR "
                            f"({vr!r}) at byte {pos}")
        if vr in _LONG_VRS:
            if pos + 12 > end:
                raise self.fail(f"element header cut at byte {pos}")
            (length,) = struct.unpack_from(order + "I", self.data, pos + 8)
            return group, element, vr, length, pos + 12
        (length,) = struct.unpack_from(order + "H", self.data, pos + 6)
        return group, element, vr, length, pos + 8

    def dataset(self, pos: int, end: int, explicit: bool, order: str, depth: int,
                until: int | None = None) -> int:
        """Check the elements from ``pos`` to ``end`` (or to the ``until`` delimiter)."""
        if depth > 16:
            raise self.fail("sequences nested too deep")
        while end - pos >= 8:
            group, element, vr, length, value = self.element(pos, end, explicit, order)
            if group == 0xFFFE and element == until:
                return value
            if length == _UNDEFINED:
                fragments = (group, element) == (0x7FE0, 0x0010)  # encapsulated pixel data
                pos = self.items(value, end, explicit, order, depth + 1, raw=fragments)
                continue
            if length > end - value:
                raise self.fail(f"element ({group:04X},{element:04X}) declares {length} bytes, "
                                f"{end - value} left")
            if vr == b"SQ" or (vr in (None, b"UN") and length >= 8 and struct.unpack_from(
                    order + "HH", self.data, value) == (0xFFFE, _ITEM)):
                self.items(value, value + length, explicit, order, depth + 1, bounded=True)
            pos = value + length
        if until is not None:
            raise self.fail("a sequence or item has no end")
        return pos

    def items(self, pos: int, end: int, explicit: bool, order: str, depth: int,
              raw: bool = False, bounded: bool = False) -> int:
        """Check the items of a sequence (datasets) or of encapsulated pixel data (``raw``)."""
        while end - pos >= 8:
            group, element, _, length, value = self.element(pos, end, False, order)
            if group != 0xFFFE:
                raise self.fail(f"an item was expected at byte {pos}")
            if element == _SEQUENCE_END:
                return value
            if length == _UNDEFINED and not raw:
                pos = self.dataset(value, end, explicit, order, depth + 1, until=_ITEM_END)
                continue
            if length > end - value:
                raise self.fail(f"an item declares {length} bytes, {end - value} left")
            if not raw:
                self.dataset(value, value + length, explicit, order, depth + 1)
            pos = value + length
        if not bounded:
            raise self.fail("a sequence has no end")
        return pos


def check_dicom_structure(path: Path) -> None:
    """Raise ImageIOError when an element of a DICOM file declares more bytes than the file
    holds (checked before GDCM, which would allocate them)."""
    import mmap

    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        walk = _DicomWalk(path, data)
        pos = 132 if data[128:132] == b"DICM" else 0
        syntax = _IMPLICIT_LITTLE
        while len(data) - pos >= 8 and struct.unpack_from("<H", data, pos)[0] == 0x0002:
            group, element, _, length, value = walk.element(pos, len(data), True, "<")
            if length == _UNDEFINED or length > len(data) - value:
                raise walk.fail(f"meta element (0002,{element:04X}) declares {length} bytes")
            if element == 0x0010:
                syntax = bytes(data[value : value + length]).rstrip(b"\x00 ").decode("ascii",
                                                                                    "replace")
            pos = value + length
        if syntax in _DEFLATED:
            return  # a zlib stream: GDCM inflates it; nothing to check here
        walk.dataset(pos, len(data), syntax != _IMPLICIT_LITTLE,
                     ">" if syntax == _EXPLICIT_BIG else "<", depth=0)


# --- detached data files (MetaImage .mhd, NRRD .nhdr) ------------------------------------------

_MHA_DATA = re.compile(rb"^\s*ElementDataFile\s*=\s*(.*?)\s*$", re.MULTILINE)
_NRRD_DATA = re.compile(rb"^data ?file:\s*(.*?)\s*$", re.MULTILINE)


_META_FIELD = re.compile(rb"^\s*(\w+)\s*=[ \t]*(.*?)\s*$", re.MULTILINE)


def _check_meta_header(path: Path, head: bytes) -> None:
    """Refuse a MetaImage header whose dimensions MetaIO would misread (``NDims = -1`` crashes
    it), and apply the size limit to ``DimSize`` before ITK parses anything."""
    fields: dict[str, bytes] = {}
    for match in _META_FIELD.finditer(head):
        fields.setdefault(match.group(1).decode("ascii", "replace").lower(), match.group(2))
        if match.group(1).lower() == b"elementdatafile":
            break

    def numbers(key: str) -> list[int]:
        try:
            return [int(word) for word in fields.get(key, b"").split()]
        except ValueError:
            raise ImageIOError(f"cannot read image {path}: corrupt MetaImage header "
                               f"({key} = {fields[key][:40].decode('ascii', 'replace')})") from None

    ndims, sizes = numbers("ndims"), numbers("dimsize")
    if len(ndims) != 1 or not 1 <= ndims[0] <= 8 or len(sizes) != ndims[0]:
        raise ImageIOError(f"cannot read image {path}: corrupt MetaImage header (NDims "
                           f"{ndims or 'missing'}, DimSize {sizes or 'missing'})")
    channels = numbers("elementnumberofchannels") or [1]
    if len(channels) != 1 or not 1 <= channels[0] <= 64:
        raise ImageIOError(f"cannot read image {path}: corrupt MetaImage header "
                           f"(ElementNumberOfChannels {channels})")
    check_image_size(path, tuple(reversed(sizes)), channels=channels[0])


def _data_file(path: Path, fmt: str) -> Path | None:
    """The detached data file named in a MetaImage or NRRD header, checked; None if attached.

    ITK opens whatever the header names, so it must be a regular file too (a header pointing at
    ``/dev/zero`` or a FIFO would read for ever or block).
    """
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if fmt == "MetaImage":
        _check_meta_header(path, head)
        match = _MHA_DATA.search(head)
        attached = (b"LOCAL",)
    else:
        match = _NRRD_DATA.search(head.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n"))
        attached = ()
    if match is None or match.group(1) in attached:
        return None
    name = match.group(1).decode("utf-8", "replace")
    if name.startswith("LIST") or "%" in name:
        raise ImageIOError(f"cannot read image {path}: {fmt} data split over several files "
                           f"({name!r}) is not supported")
    data = Path(name) if Path(name).is_absolute() else path.parent / name
    try:
        regular_file(data, "image data file")
    except ImageIOError as exc:
        raise ImageIOError(f"cannot read image {path}: {exc}") from None
    return data


# --- reading and writing ------------------------------------------------------------------------


def read_sitk(path: Path, fmt: str) -> np.ndarray:
    """Read a 2D DICOM, NRRD, NIfTI or MetaImage file with SimpleITK.

    The header is read first (``ReadImageInformation``): the size limit and the 2D rule are
    checked before any voxel is read.
    """
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetImageIO(_SITK_IMAGE_IO[fmt])
    with contextlib.ExitStack() as stack:
        if fmt == "NIfTI":
            with _open_maybe_gzip(path) as handle:
                header = handle.read(352)
            kind = nifti_kind(header) or "single"
            data_path = _pair_data_file(path) if kind == "pair" else None
            if data_path is not None:
                regular_file(data_path, "image data file")
            source = stack.enter_context(_nifti_source(path, kind, data_path))
        else:
            if fmt in ("MetaImage", "NRRD"):
                _data_file(path, fmt)
            elif fmt == "DICOM":
                check_dicom_structure(path)
            source = path
        reader.SetFileName(str(source))
        reader.ReadImageInformation()
        size = reader.GetSize()  # (x, y[, z...]); the array is indexed (...z, y, x[, c])
        bits = re.search(r"(\d+)-bit", sitk.GetPixelIDValueAsString(reader.GetPixelID()))
        itemsize = int(bits.group(1)) // 8 if bits else 1
        check_image_size(path, tuple(reversed(size)), channels=reader.GetNumberOfComponents(),
                         itemsize=itemsize)
        if sum(1 for extent in size if extent != 1) > 2:
            raise ImageIOError(
                f"cannot read image {path}: only 2D images are supported; this {fmt} file holds "
                f"a volume of size {size}"
            )
        if fmt == "NIfTI":
            check_nifti_complete(path, data_path)
        itk_image = reader.Execute()
    array = sitk.GetArrayFromImage(itk_image)
    spatial = array.shape[: len(size)]
    if len(spatial) > 2:
        keep = {axis for axis, extent in enumerate(spatial) if extent != 1}
        for axis in reversed(range(len(spatial))):  # a 1-pixel-high image keeps its (y, x) axes
            if len(keep) == 2:
                break
            keep.add(axis)
        drop = tuple(axis for axis in range(len(spatial)) if axis not in keep)
        array = array.squeeze(axis=drop)
    return array


def write_sitk(target: Path, image: np.ndarray) -> None:
    """Write a 2D NRRD, NIfTI, MetaImage or DICOM file with SimpleITK."""
    import SimpleITK as sitk

    itk_image = sitk.GetImageFromArray(image, isVector=image.ndim == 3)
    sitk.WriteImage(itk_image, str(target), useCompression=target.suffix.lower() != ".dcm")
