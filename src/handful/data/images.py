"""Safe image decoding: EXIF orientation, any mode to RGB, draft-mode JPEG, size limits."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DataError
from .remote import is_uri, read_uri

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
)
MAX_FILE_BYTES = 100 * 1024 * 1024  # larger files are refused as "absurdly large"
MAX_PIXELS = 100_000_000  # decompression-bomb limit (width * height)


class ImageDecodeError(DataError):
    """An image that cannot be used: ``str(err)`` names the file, the reason and the fix; ``reason``
    alone (e.g. "empty file (0 bytes)") is what skip lists show beside the path."""

    def __init__(self, reason: str, path: str | Path | None = None):
        super().__init__(reason, path)
        self.reason, self.path = reason, None if path is None else str(path)

    def __str__(self) -> str:
        if self.path is None:
            return self.reason
        return (f"Image '{self.path}' {self.reason}; expected a readable image file "
                f"({', '.join(sorted(IMAGE_EXTENSIONS))}). Check the path, or leave the file out.")


def is_image_path(path: Path) -> bool:
    """True for a visible file with an image extension."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def check_image_file(path: Path | io.BytesIO) -> str | None:
    """Cheap header check. Returns the reason the file is unusable, or None when it looks fine."""
    try:
        size = path.getbuffer().nbytes if isinstance(path, io.BytesIO) else path.stat().st_size
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    if size == 0:
        return "empty file (0 bytes)"
    if size > MAX_FILE_BYTES:
        return f"file too large ({size / 2**20:.0f} MiB > {MAX_FILE_BYTES // 2**20} MiB)"
    try:
        with Image.open(path) as img:
            width, height = img.size
    except UnidentifiedImageError:
        return "not an image (unrecognized format)"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        return decode_failure(err)
    if width * height > MAX_PIXELS:
        return f"image too large ({width}x{height} pixels > {MAX_PIXELS:,})"
    return None


def load_image(path: str | Path, draft_size: int | None = None) -> Image.Image:
    """Decode ``path`` into an RGB image with EXIF orientation applied.

    Args:
        path: image file.
        draft_size: when set, JPEGs are decoded at the smallest DCT scale that still gives
            at least this many pixels on the short side (much faster for big photos).

    Raises:
        ImageDecodeError: with the reason, for unreadable, truncated or non-image files.
    """
    given = path
    path = _fetch(path) if is_uri(path) else Path(path)
    reason = check_image_file(path)
    if reason:
        raise ImageDecodeError(reason, given)
    try:  # PIL's warnings are not silenced here: catch_warnings() is not thread-safe (cli/main.py)
        with Image.open(path) as img:
            if draft_size and img.format == "JPEG":
                img.draft("RGB", _draft_request(img.size, draft_size))
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ImageDecodeError(decode_failure(err), given) from err


def _fetch(uri: str) -> io.BytesIO:
    """A bucket object's bytes, for decoding (see ``handful.data.remote``)."""
    try:
        return io.BytesIO(read_uri(uri))
    except OSError as err:
        raise ImageDecodeError(f"cannot be read ({err})", uri) from err


def decode_failure(err: Exception) -> str:
    """The reason to report for a decoding exception."""
    msg = str(err)
    if "truncated" in msg.lower() or "broken data stream" in msg:
        return f"truncated image ({msg})"
    return f"cannot be decoded ({msg})"


def _draft_request(size: tuple[int, int], short_side: int) -> tuple[int, int]:
    """The (w, h) request for ``Image.draft`` that keeps the short side >= ``short_side``."""
    width, height = size
    scale = short_side / max(1, min(width, height))
    return (max(1, int(width * scale) + 1), max(1, int(height * scale) + 1))


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode (P, LA, RGBA, CMYK, I;16, 1, L) to RGB; transparency over white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        background.alpha_composite(img.convert("RGBA"))
        return background.convert("RGB")
    return img.convert("RGB")
