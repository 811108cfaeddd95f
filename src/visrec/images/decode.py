"""Decode one image file (or bytes) into an RGB ``PIL.Image``, robustly.

Real catalogues hold PDFs renamed ``.jpg``, 0-byte files, truncated downloads, CMYK
JPEGs, 16-bit PNGs, transparent PNGs, palette GIFs, EXIF-rotated phone photos and the
occasional decompression bomb. :func:`load_image` turns each into either an RGB image or
a :class:`BadImageError` with a short reason; it never crashes and never allocates a
huge buffer.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import threading
import warnings
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from visrec.errors import VisrecError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "RETRY_PREFIX",
    "BadImageError",
    "is_transient",
    "load_image",
    "os_failure",
]

#: Pillow's own limit (about 89.5 megapixels): far above any product photo.
DEFAULT_MAX_PIXELS: int = int(Image.MAX_IMAGE_PIXELS or 89_478_485)


# Two Pillow warnings visrec handles itself are ignored by the command line for its run
# (images.pillow_warnings), not here at import: the filter list is the whole process's.

#: the file each thread is decoding (see image_being_read)
_reading = threading.local()


def image_being_read() -> str | None:
    """The file this thread is decoding in :func:`load_image` (None outside it). Pillow
    warns about a damaged file without naming it ("Tag data larger than file. Skipping
    tag 270"); the command line adds this name to the warning's line."""
    return getattr(_reading, "label", None)


_MAGIC = (
    (b"%PDF", "PDF document"),
    (b"<!DOCTYPE html", "HTML page"),
    (b"<html", "HTML page"),
    (b"<?xml", "XML/SVG document"),
    (b"<svg", "SVG document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"{", "JSON/text"),
)


#: Start of the reason of a failure that may pass (a read error of the system, memory
#: running out): the reason is stored with the vectors, so the mark travels with it and
#: the next ``embed`` run tries such an image again instead of reusing the failure.
RETRY_PREFIX = "read error, retried next run: "

# errors of the file itself, not of the moment: no use trying again
_PERMANENT_ERRNOS = frozenset({errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG})


def is_transient(reason: str | None) -> bool:
    """Whether a failure reason (``BadImageError.reason``) may pass on another try."""
    return reason is not None and reason.startswith(RETRY_PREFIX)


class BadImageError(VisrecError):
    """An image that cannot be used; ``reason`` is a short phrase for summaries.

    ``transient`` failures (permission denied, too many open files, an I/O error, out of
    memory) may pass: their ``reason`` starts with ``RETRY_PREFIX``. The others (not an
    image, empty, truncated, decompression bomb) stay failed until the file changes.
    """

    def __init__(self, reason: str, source: str = "", *, transient: bool = False) -> None:
        self.transient = transient
        self.reason = RETRY_PREFIX + reason if transient else reason
        self.source = source
        super().__init__(f"{source}: {self.reason}" if source else self.reason)


def os_failure(exc: OSError, source: str = "") -> BadImageError:
    """The failure for an ``OSError`` of the system while reading an image: transient
    unless it is about the path itself (missing, a folder). Pillow's own errors about a
    malformed file carry no ``errno`` and are not read errors."""
    if exc.errno == errno.ENOENT:
        return BadImageError("file not found", source)
    if exc.errno == errno.EISDIR:
        return BadImageError("a folder, not a file", source)
    what = exc.strerror or str(exc) or type(exc).__name__
    return BadImageError(what, source, transient=exc.errno not in _PERMANENT_ERRNOS)


# ISO base media file brands of HEIC/HEIF pictures (an iPhone's photos): Pillow reads
# none of them, and a phone's photo copied as "IMG_0001.jpg" is no "not an image"
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
HEIF_KIND = "a HEIC/HEIF photo, which visrec cannot decode: convert it to JPEG"


def sniffed_kind(head: bytes) -> str | None:
    """What a body that is no image holds, from its first bytes (``"HTML page"``,
    ``"PDF document"``), or None when they say nothing."""
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        size = int.from_bytes(head[:4], "big")
        if b"avif" not in head[16 : max(16, size)]:  # 'mif1' is AVIF's too: said by its brands
            return HEIF_KIND
    stripped = head.lstrip().lower()
    for magic, what in _MAGIC:
        if stripped.startswith(magic.lower()):
            return what
    return None


def _sniff(head: bytes) -> str:
    what = sniffed_kind(head)
    if what == HEIF_KIND:  # a picture all the same, of a format Pillow lacks
        return what
    return f"not an image ({what})" if what else "not an image"


def _bomb_reason(exc: Exception) -> str:
    m = re.search(r"\((\d+) pixels\)", str(exc))
    return f"decompression bomb ({m.group(1)} pixels)" if m else "decompression bomb"


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency is composited on white."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _wide_gray_to_l(img).convert("RGB")
    if mode == "P":
        mode = "RGBA" if "transparency" in img.info else "RGB"
        img = img.convert(mode)
        if mode == "RGB":
            return img
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


#: pixels a block of :func:`_wide_gray_to_l` converts at a time
_GRAY_BLOCK = 2**22


def _wide_gray_to_l(img: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit integer or float grey image as 8-bit ``L``, rescaled from its
    range: Pillow's own conversion clips at 255. 16-bit data is divided by 257; 32-bit
    integers are taken as they are up to 255, divided by 257 up to 65535 (16-bit data
    held in 32 bits), else scaled so that the largest is 255; floats of 0..1 are
    multiplied by 255, of 0..255 taken as they are, and larger ones scaled so that the
    largest is 255 (negative values become 0). Converted a block of rows at a time: as
    one float64 array a 9400 x 9400 16-bit PNG of 200 KB took 2.4 GB.

    Raises
    ------
    BadImageError
        A float image holding NaN or infinite pixels (no range to scale from: such a
        picture came out near black, and was embedded as if it were right).
    """
    arr = np.asarray(img)
    if not arr.size:
        return Image.new("L", img.size)
    lo, top = arr.min(), arr.max()  # NaN spreads to both
    if not (np.isfinite(lo) and np.isfinite(top)):
        raise BadImageError("a float image holding NaN or infinite pixels")
    top = float(top)
    if img.mode.startswith("I;16"):
        scale = 1 / 257
    elif img.mode == "I":
        scale = 1.0 if top <= 255 else 1 / 257 if top <= 65535 else 255 / top
    else:  # F: 4000 as white clipped 94% of a picture
        scale = 255.0 if top <= 1.0 else 1.0 if top <= 255 else 255 / top
    out = np.empty(arr.shape, dtype=np.uint8)
    step = max(1, _GRAY_BLOCK // max(1, arr.shape[1]))
    for s in range(0, arr.shape[0], step):
        block = arr[s : s + step].astype(np.float64) * scale
        np.rint(block, out=block)
        out[s : s + step] = np.clip(block, 0, 255, out=block)
    return Image.fromarray(out, mode="L")


def load_image(
    src: str | os.PathLike[str] | bytes,
    *,
    draft_size: tuple[int, int] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode ``src`` into an RGB image with EXIF orientation applied.

    Parameters
    ----------
    src : path or bytes
        An image file, or its raw bytes.
    draft_size : (width, height), optional
        Smallest size the caller needs. JPEGs are then decoded at a reduced DCT scale
        (``Image.draft``) that still covers this size in both dimensions: much faster
        for large photos that will be downscaled anyway.
    max_pixels : int, default about 89.5 M (Pillow's limit)
        Images declaring more pixels than this in their header are rejected before
        decoding (decompression bomb protection).

    Returns
    -------
    PIL.Image.Image
        Mode ``"RGB"``, fully decoded and detached from the file.

    Raises
    ------
    BadImageError
        With ``reason`` one of ``"empty file"``, ``"file not found"``,
        ``"not an image"`` / ``"not an image (PDF document)"``, :data:`HEIF_KIND`
        (a phone's HEIC photo), ``"truncated"``,
        ``"decompression bomb (W x H)"``, ``"unreadable: ..."``; a read error of the
        system (``transient``) starts with ``RETRY_PREFIX``.
    """
    label = "<bytes>" if isinstance(src, bytes | bytearray) else os.fspath(src)
    fh: IO[bytes]
    if isinstance(src, bytes | bytearray):
        if len(src) == 0:
            raise BadImageError("empty file", label)
        fh = io.BytesIO(src)
    else:
        path = Path(src)
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
                # a pipe or device: opening a FIFO would wait for a writer
                raise BadImageError("not a regular file (a pipe or device)", label)
            if st.st_size == 0:
                raise BadImageError("empty file", label)
            fh = open(path, "rb")  # noqa: SIM115 -- closed in the finally below
        except OSError as exc:
            raise os_failure(exc, label) from None
    before = getattr(_reading, "label", None)
    _reading.label = label
    try:
        return _decode(fh, draft_size, max_pixels, label)
    except MemoryError:  # memory taken by others may be free on the next run
        raise BadImageError("out of memory while decoding", label, transient=True) from None
    except OSError as exc:  # a read error of the system that Pillow let through
        if exc.errno is None:
            raise BadImageError(f"unreadable: {type(exc).__name__}: {exc}", label) from None
        raise os_failure(exc, label) from None
    finally:
        _reading.label = before
        fh.close()


def _decode(
    fh: IO[bytes], draft_size: tuple[int, int] | None, max_pixels: int, label: str
) -> Image.Image:
    head = fh.read(64)
    fh.seek(0)
    try:
        img = Image.open(fh)
    except UnidentifiedImageError:
        raise BadImageError(_sniff(head), label) from None
    except Image.DecompressionBombError as exc:
        raise BadImageError(_bomb_reason(exc), label) from None
    except OSError as exc:
        if exc.errno is not None:  # the system's read error, not a malformed header
            raise os_failure(exc, label) from None
        if says_truncated(str(exc)):  # "Truncated File Read": cut off in its header
            raise BadImageError("truncated", label) from None
        raise BadImageError(f"unreadable: {type(exc).__name__}: {exc}", label) from None
    except MemoryError:  # not the file's fault: load_image marks it transient
        raise
    except Exception as exc:  # Pillow raises many types on malformed headers
        raise BadImageError(f"unreadable: {type(exc).__name__}: {exc}", label) from None
    with img:
        w, h = img.size
        if w <= 0 or h <= 0:
            raise BadImageError(f"invalid size ({w} x {h})", label)
        if w * h > max_pixels:
            raise BadImageError(f"decompression bomb ({w} x {h})", label)
        if draft_size is not None and img.format == "JPEG":
            # Only JPEG supports reduced-scale decoding; draft keeps both sides >= size
            # (EXIF rotation later swaps sides, so require the larger side on both).
            side = max(draft_size)
            with contextlib.suppress(OSError, ValueError):
                img.draft("RGB", (side, side))
        try:
            img.load()
        except Image.DecompressionBombError as exc:
            raise BadImageError(_bomb_reason(exc), label) from None
        except OSError as exc:
            if exc.errno is not None:  # the system's read error, not a damaged file
                raise os_failure(exc, label) from None
            msg = str(exc)
            if says_truncated(msg):
                raise BadImageError("truncated", label) from None
            raise BadImageError(f"unreadable: {msg}", label) from None
        except MemoryError:  # memory taken by others may be free on the next run
            raise BadImageError(
                f"out of memory while decoding ({w} x {h})", label, transient=True
            ) from None
        except Exception as exc:
            raise BadImageError(f"unreadable: {type(exc).__name__}: {exc}", label) from None
        try:
            oriented = ImageOps.exif_transpose(img)
        except MemoryError:  # transient (load_image): not an unrotated image
            raise
        except Exception:
            # A corrupt EXIF block should not cost us an otherwise good image.
            oriented = img
        try:
            out = _to_rgb(oriented)
        except BadImageError as exc:  # the file's name goes with it
            raise BadImageError(exc.reason, label) from None
        except MemoryError:  # transient (load_image), not "unreadable: MemoryError"
            raise
        except Exception as exc:
            raise BadImageError(f"unreadable: {type(exc).__name__}: {exc}", label) from None
        if out is img:
            out = img.copy()  # detach from the file handle we are about to close
        return out


def says_truncated(message: str) -> bool:
    """Whether Pillow's error text says the file ends early (its words vary by format
    and stage: "image file is truncated", "Truncated File Read", "broken data stream")."""
    text = message.lower()
    return any(w in text for w in ("truncated", "broken data stream", "premature end"))


# Truncated files must raise, not be half-decoded silently (Pillow's default, restated
# because some libraries flip this global on import).
if ImageFile.LOAD_TRUNCATED_IMAGES:  # pragma: no cover
    warnings.warn(
        "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True (set by another library): truncated "
        "images may decode partially instead of being reported",
        RuntimeWarning,
        stacklevel=1,
    )
