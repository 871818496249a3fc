"""Raster image formats (PNG, JPEG, TIFF, BMP, WebP) through OpenCV, Pillow and tifffile, with
the checks those libraries skip: the size limit from the header before decoding, and data that
stops before the header says (which they fill with grey or zeros). Used by
:mod:`imgstudio.core.io`; the libraries are imported inside the functions."""

from __future__ import annotations

import math
import re
import struct
from io import BytesIO
from pathlib import Path

import numpy as np

from imgstudio.core.io_medical import ImageIOError, check_image_size

RASTER_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WebP")


def read_raster(path: Path, fmt: str, header: bytes) -> np.ndarray:
    """Decode a PNG, JPEG, TIFF, BMP or WebP file (``header``: its first bytes) after checking
    the size its header declares against the pixel limit."""
    if fmt == "PNG":
        return _read_png(path)
    if fmt == "TIFF":
        return _read_tiff(path)
    if fmt == "JPEG":
        return _read_jpeg(path)
    if fmt == "WebP":  # libwebp allocates the canvas as it opens the file: check first
        width, height = _webp_size(header, path)
        check_image_size(path, (height, width), channels=4)
    return _read_pillow(path, fmt, str(path))


def _webp_size(header: bytes, path: Path) -> tuple[int, int]:
    """The canvas size (width, height) in a WebP file's first chunk header."""
    chunk = header[12:16]
    if chunk == b"VP8X" and len(header) >= 30:
        return (int.from_bytes(header[24:27], "little") + 1,
                int.from_bytes(header[27:30], "little") + 1)
    if chunk == b"VP8L" and len(header) >= 25 and header[20] == 0x2F:
        bits = int.from_bytes(header[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(header) >= 30 and header[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", header, 26)
        return width & 0x3FFF, height & 0x3FFF
    raise ImageIOError(f"cannot read image {path}: corrupt or truncated WebP file "
                       "(no image header)")


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _truncated(path: Path, fmt: str, detail: str = "") -> ImageIOError:
    return ImageIOError(f"cannot read image {path}: truncated {fmt} file"
                        + (f" ({detail})" if detail else ""))


# --- PNG --------------------------------------------------------------------------------------

_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 4, 6: 4}  # by colour type (palette and gray+alpha: RGBA)


def _read_png(path: Path) -> np.ndarray:
    """Read a PNG with OpenCV, which (unlike Pillow) keeps 16-bit colour channels."""
    import cv2

    data = _read_bytes(path)
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise _truncated(path, "PNG", "no image header") if len(data) < 33 else ImageIOError(
            f"cannot read image {path}: corrupt PNG file (no image header)")
    width, height, depth, colour = struct.unpack_from(">IIBB", data, 16)
    check_image_size(path, (height, width), channels=_PNG_CHANNELS.get(colour, 4),
                     itemsize=2 if depth == 16 else 1)
    _check_png_chunks(data, path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageIOError(f"cannot read image {path}: corrupt or truncated PNG file")
    return bgr_to_rgb(image)


def _check_png_chunks(data: bytes, path: Path) -> None:
    """Raise ImageIOError when a chunk declares more bytes than the file holds: OpenCV
    allocates a chunk's declared length before reading it (a 68-byte file asked for 0.5 GB)."""
    pos = 8
    while len(data) - pos >= 12:
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        if length > len(data) - pos - 12:
            raise _truncated(path, "PNG", f"chunk {kind.decode('latin-1')!r} declares {length} "
                             f"bytes, {len(data) - pos - 12} left")
        if kind == b"IEND":
            return
        pos += 12 + length


# --- JPEG -------------------------------------------------------------------------------------

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_HUFFMAN = frozenset({0xC0, 0xC1, 0xC2})  # the codings whose every block takes >= 1 bit
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # a marker: not stuffing, RSTn or fill
# Appended after the last scan: 8 stuffed 0xFF bytes cover libjpeg's 57-bit look-ahead and are
# not a valid Huffman code, so a scan that is not complete runs out of data (see _read_jpeg).
_LOOKAHEAD_PAD = b"\xff\x00" * 8
_PROBE_PADS = (b"\x55" * 16 + b"\xff\xd9", b"\xaa" * 16 + b"\xff\xd9")


class _JpegLayout:
    """What the markers of a JPEG say: frame size and components, its scans, and where the
    data of the last scan ends."""

    def __init__(self) -> None:
        self.sof = 0
        self.height = self.width = 0
        self.components: list[tuple[int, int, int]] = []  # (id, h, v sampling)
        self.scans: list[tuple[tuple[int, ...], int, int, int]] = []  # (ids, Ss, Se, Al)
        self.scan_bytes = 0
        self.end = 0

    def blocks(self) -> int:
        """Number of 8×8 blocks of all components (without MCU padding)."""
        hmax = max(h for _, h, _ in self.components)
        vmax = max(v for _, _, v in self.components)
        return sum(math.ceil(math.ceil(self.width * h / hmax) / 8)
                   * math.ceil(math.ceil(self.height * v / vmax) / 8)
                   for _, h, v in self.components)

    def complete(self) -> bool:
        """Whether the scans code every coefficient of every component to its last bit."""
        ids = [cid for cid, _, _ in self.components]
        if self.sof not in _PROGRESSIVE:
            return {cid for scan in self.scans for cid in scan[0]} >= set(ids)
        low_bit = {cid: [None] * 64 for cid in ids}  # lowest bit coded so far per coefficient
        for scan_ids, ss, se, al in self.scans:
            for cid in scan_ids:
                for k in range(ss, min(se, 63) + 1):
                    low_bit[cid][k] = al
        return all(bit == 0 for cid in ids for bit in low_bit[cid])


def _jpeg_layout(data: bytes, path: Path) -> _JpegLayout:
    """Walk the markers of a JPEG (segment lengths, scan data skipped) without decoding."""
    layout, pos, n = _JpegLayout(), 2, len(data)
    while True:
        pos = data.find(b"\xff", pos)
        while 0 <= pos < n and data[pos] == 0xFF:
            pos += 1
        if pos < 0 or pos >= n:
            break  # no end-of-image marker: what the scans hold decides
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            break
        if 0xD0 <= marker <= 0xD7 or marker in (0x00, 0x01, 0xD8):
            continue
        if pos + 2 > n:
            raise _truncated(path, "JPEG")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            raise ImageIOError(f"cannot read image {path}: corrupt JPEG file (bad segment)")
        if pos + length > n:
            raise _truncated(path, "JPEG")
        segment = data[pos + 2 : pos + length]
        pos += length
        if marker in _SOF_MARKERS and not layout.sof:
            if len(segment) < 6 or len(segment) < 6 + 3 * segment[5]:
                raise ImageIOError(f"cannot read image {path}: corrupt JPEG file (bad frame)")
            layout.sof = marker
            layout.height, layout.width = struct.unpack_from(">HH", segment, 1)
            layout.components = [
                (segment[6 + 3 * i], max(segment[7 + 3 * i] >> 4, 1),
                 max(segment[7 + 3 * i] & 15, 1))
                for i in range(segment[5])
            ]
        elif marker == 0xDA:
            count = segment[0] if segment else 0
            if not layout.sof or len(segment) < 4 + 2 * count:
                raise ImageIOError(f"cannot read image {path}: corrupt JPEG file (bad scan)")
            ids = tuple(segment[1 + 2 * i] for i in range(count))
            if not set(ids) <= {cid for cid, _, _ in layout.components}:
                raise ImageIOError(f"cannot read image {path}: corrupt JPEG file (a scan of "
                                   "components the frame does not have)")
            ss, se, approx = segment[1 + 2 * count : 4 + 2 * count]
            layout.scans.append((ids, ss, se, approx & 15))
            match = _SCAN_END.search(data, pos)
            end = match.start() if match else n
            while end > pos and data[end - 1] == 0xFF:
                end -= 1
            layout.scan_bytes += end - pos
            layout.end = pos = end
    if not layout.sof or not layout.components:
        raise _truncated(path, "JPEG", "no frame header")
    if not layout.scans:
        raise _truncated(path, "JPEG", "no image data")
    return layout


def _read_jpeg(path: Path) -> np.ndarray:
    """Read a JPEG, refusing truncated files that libjpeg would fill with grey.

    libjpeg only warns (OpenCV prints it, Pillow ignores it) when the data of a scan stops at a
    marker, typically the ``FF D9`` of a cut file, and fills the rest with grey. So: the size in
    the header must fit the pixel limit and the data present (a Huffman-coded block takes at
    least one bit); the scans must cover every coefficient; and a single-scan file is decoded
    without its end marker, followed by padding that covers libjpeg's look-ahead, so that a scan
    missing data runs out of input, which both OpenCV and Pillow report as an error. A
    progressive (multi-scan) file needs its end marker to be decoded: Pillow decodes it twice,
    with different padding before the marker, and the two must come out the same, which they do
    only when no padding was needed. Either way a cut inside the data of the last one or two
    8×8 blocks can go unnoticed (those blocks then differ).

    Grey and YCbCr/RGB single-scan files, nearly all photos, are decoded by OpenCV, which
    releases the GIL (the editor opens a large photo while it builds its window) and applies the
    EXIF orientation like Pillow; Pillow takes the others (CMYK, progressive) and explains the
    files OpenCV rejects.
    """
    import cv2

    data = _read_bytes(path)
    layout = _jpeg_layout(data, path)
    check_image_size(path, (layout.height, layout.width), channels=len(layout.components))
    if layout.sof in _HUFFMAN and layout.scan_bytes * 8 < layout.blocks():
        raise _truncated(path, "JPEG", f"the header declares {layout.width} × {layout.height} "
                         f"pixels but the file holds {layout.scan_bytes} bytes of image data")
    if not layout.complete():
        raise _truncated(path, "JPEG", "the scans stop before every coefficient is coded")
    body = data[: layout.end]
    if len(layout.scans) == 1:
        padded = body + _LOOKAHEAD_PAD
        if len(layout.components) in (1, 3):
            gray = len(layout.components) == 1
            image = cv2.imdecode(np.frombuffer(padded, np.uint8),
                                 cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
            if image is not None:
                return image if gray else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return _read_pillow(path, "JPEG", BytesIO(padded))  # the same check; its own message
    from PIL import ImageChops

    with _pillow_load(path, "JPEG", BytesIO(body + _PROBE_PADS[0])) as first:
        with _pillow_load(path, "JPEG", BytesIO(body + _PROBE_PADS[1])) as second:
            same = ImageChops.difference(first, second).getbbox() is None
        if not same:
            raise _truncated(path, "JPEG", "the last scan stops early")
        return _pillow_to_array(first)


# --- Pillow (JPEG, BMP, WebP, TIFF codecs tifffile lacks) -------------------------------------


def _pillow_class(fmt: str):
    """The Pillow plugin class for ``fmt``: built directly, it reads only the header, and the
    size limit is ours (checked before decoding) rather than Pillow's."""
    from PIL import BmpImagePlugin, JpegImagePlugin, TiffImagePlugin, WebPImagePlugin

    return {"JPEG": JpegImagePlugin.JpegImageFile, "BMP": BmpImagePlugin.BmpImageFile,
            "WebP": WebPImagePlugin.WebPImageFile, "TIFF": TiffImagePlugin.TiffImageFile}[fmt]


def _read_pillow(path: Path, fmt: str, source) -> np.ndarray:
    """Decode ``source`` (a file name or a byte stream) with Pillow, see :func:`_pillow_load`."""
    with _pillow_load(path, fmt, source) as image:
        return _pillow_to_array(image)


def _pillow_load(path: Path, fmt: str, source):
    """The loaded Pillow image of ``source``, the EXIF orientation of JPEG and WebP files
    applied; a decoder that runs out of data is a truncated file. The caller closes it."""
    from PIL import Image, ImageOps

    try:
        image = _pillow_class(fmt)(source)
    except Image.DecompressionBombError as exc:
        raise ImageIOError(f"cannot read image {path}: {exc}") from None
    try:
        check_image_size(path, (image.height, image.width), channels=len(image.getbands()))
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise ImageIOError(f"cannot read image {path}: {exc}") from None
        except OSError as exc:
            if "truncated" in str(exc):
                raise _truncated(path, fmt) from None
            raise
        if fmt in ("JPEG", "WebP"):
            ImageOps.exif_transpose(image, in_place=True)
    except BaseException:
        image.close()
        raise
    return image


def _pillow_to_array(image) -> np.ndarray:
    """Convert a loaded Pillow image to an array following the Image conventions."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA", "F", "I") or mode.startswith("I;16"):
        return np.array(image)
    if mode == "1":
        return np.array(image.convert("L"))
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        return np.array(image.convert("RGBA" if has_alpha else "RGB"))
    if mode == "LA":
        return np.array(image.convert("RGBA"))
    return np.array(image.convert("RGBA" if "A" in mode else "RGB"))  # CMYK, YCbCr, LAB...


# --- TIFF -------------------------------------------------------------------------------------


def _read_tiff(path: Path) -> np.ndarray:
    """Read the first page of a TIFF with tifffile, falling back to Pillow for codecs it lacks.

    The size is checked from the page's tags, and every strip or tile the image needs must be
    listed, non-empty, inside the file and (uncompressed) long enough: tifffile fills missing
    data with zeros.
    """
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        depth = (page.imagedepth,) if page.imagedepth > 1 else ()
        check_image_size(path, (page.imagelength, page.imagewidth) + depth,
                         channels=page.samplesperpixel,
                         itemsize=page.dtype.itemsize if page.dtype is not None else 1)
        _check_tiff_complete(page, path)
        try:
            image = page.asarray()
        except ValueError as exc:
            if "imagecodecs" not in str(exc):  # LZW, JPEG...: Pillow's libtiff has them
                raise
            image = None
        axes, photometric, colormap = page.axes, page.photometric, page.colormap
    if image is None:
        return _read_pillow(path, "TIFF", str(path))
    if "S" in axes and axes.index("S") < axes.index("Y"):  # planar configuration "separate"
        image = np.moveaxis(image, axes.index("S"), -1)
    if photometric == tifffile.PHOTOMETRIC.PALETTE and colormap is not None:
        lut = colormap.T  # (entries, 3), TIFF stores 16-bit colour values
        lut = (lut // 257).astype(np.uint8) if lut.max() > 255 else lut.astype(np.uint8)
        image = lut[image]
    elif photometric == tifffile.PHOTOMETRIC.MINISWHITE and image.dtype.kind in "ub":
        image = ~image if image.dtype == np.bool_ else np.iinfo(image.dtype).max - image
    return image


def _check_tiff_complete(page, path: Path) -> None:
    """Raise ImageIOError when the page's strips or tiles do not hold the whole image."""
    file_size = path.stat().st_size
    expected = math.prod(page.chunked)
    offsets, counts = page.dataoffsets, page.databytecounts
    kind = "tiles" if page.is_tiled else "strips"
    if min(len(offsets), len(counts)) < expected:
        raise _truncated(path, "TIFF", f"{expected} {kind} needed, {len(offsets)} listed")
    needed = _tiff_segment_bytes(page) if page.compression == 1 else None
    for index, (offset, count) in enumerate(zip(offsets[:expected], counts[:expected], strict=True)):
        if count == 0 or offset == 0:
            raise _truncated(path, "TIFF", f"{kind[:-1]} {index} has no data")
        if offset + count > file_size:
            raise _truncated(path, "TIFF")
        if needed is not None and count < needed(index):
            raise _truncated(path, "TIFF", f"{kind[:-1]} {index} holds {count} of "
                             f"{needed(index)} bytes")


def _tiff_segment_bytes(page):
    """For an uncompressed page: the bytes segment ``index`` must hold."""
    samples = page.samplesperpixel if page.planarconfig == 1 else 1
    if page.is_tiled:
        tile = (page.tiledepth * page.tilelength
                * math.ceil(page.tilewidth * samples * page.bitspersample / 8))
        return lambda index: tile
    row = math.ceil(page.imagewidth * samples * page.bitspersample / 8)
    per_strip = max(min(page.rowsperstrip, page.imagelength), 1)
    strips = math.ceil(page.imagelength / per_strip)

    def needed(index: int) -> int:
        first_row = (index % strips) * per_strip
        return min(per_strip, page.imagelength - first_row) * row

    return needed


def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Swap OpenCV's BGR(A) channel order to RGB(A); gray passes through."""
    if image.ndim == 3 and image.shape[2] == 3:
        return image[:, :, ::-1]
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, [2, 1, 0, 3]]
    return image
