"""Untrusted uploads: size and pixel limits, image checks, file names, zip archives.

Nothing here writes a user-supplied name to the file system: files are stored under their
content hash, and a name only survives, sanitized, as a display label.
"""

from __future__ import annotations

import io
import re
import stat
import struct
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from PIL import Image

from ..data.images import IMAGE_EXTENSIONS, decode_failure
from ..errors import DataError

_IGNORED_PARTS = {"__MACOSX", "__pycache__", "Thumbs.db", ".DS_Store"}


@dataclass(frozen=True)
class Limits:
    """Upload limits of a server (all configurable through ``ServerSettings``)."""

    max_request_bytes: int = 1 << 30  # whole HTTP body (a zip of a data set)
    max_json_bytes: int = 16 << 20  # a JSON body (parsed whole in memory, ~25x its size)
    max_file_bytes: int = 20 << 20  # one image or table
    max_image_pixels: int = 40_000_000  # width * height, checked before decoding
    max_zip_entries: int = 50_000
    max_zip_bytes: int = 4 << 30  # total uncompressed size an archive may declare
    max_zip_ratio: float = 200.0  # compression ratio beyond which a large entry, or the archive, is a bomb
    max_text_chars: int = 20_000
    max_batch_files: int = 256  # files in one predict request


def sanitize_filename(name: str, max_len: int = 120) -> str:
    """The base name of ``name`` with only safe characters: a display label, never a path."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable())
    base = re.sub(r"[^\w.\- ()+,@]", "_", base).strip(" .")
    if len(base) > max_len:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: max_len - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else base[:max_len]
    return base or "file"


def format_size(n_bytes: float) -> str:
    """A byte count in the largest unit it fills: '20 MiB', '512 KiB', '300 bytes' (a limit under
    1 MiB read '0 MiB' when every size was shown in MiB)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.2f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{int(n_bytes)} byte{'' if n_bytes == 1 else 's'}"


def image_extension(name: str) -> str | None:
    """The lower-case image extension of ``name`` ('.jpg'), or None for other files."""
    ext = PurePosixPath(sanitize_filename(name)).suffix.lower()
    return ext if ext in IMAGE_EXTENSIONS else None


# the formats handful stores, by the name PIL gives them (an MPO is a camera's JPEG with a preview)
_FORMAT_EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "BMP": ".bmp", "GIF": ".gif",
                      "WEBP": ".webp", "TIFF": ".tif"}


def sniffed_extension(data: bytes) -> str | None:
    """The extension of the image format ``data`` holds ('.png'), read from its header as /predict
    reads a file whatever its name; None when it holds none that handful stores."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return _FORMAT_EXTENSIONS.get(img.format or "")
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return None


def check_image_bytes(data: bytes, limits: Limits) -> str | None:
    """Why ``data`` is not a usable image (size, pixels, format, truncation), or None."""
    if not data:
        return "empty file (0 bytes)"
    if len(data) > limits.max_file_bytes:
        return f"file too large (over the {format_size(limits.max_file_bytes)} limit)"  # read up to it
    try:  # no warnings.catch_warnings() here: it is not thread-safe, and uploads are checked on threads
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > limits.max_image_pixels:  # before decoding, whatever PIL's own limit
                return (f"image too large ({width}x{height} pixels > "
                        f"{limits.max_image_pixels:,})")
            if img.format == "JPEG":
                img.draft("RGB", (64, 64))  # full check of the stream at a fraction of the cost
            img.load()
    except Image.UnidentifiedImageError:
        return "not an image (unrecognized format)"  # as `handful train` says it
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        return decode_failure(err)  # worded as `handful train` words it
    return None


@dataclass(frozen=True)
class ZipEntry:
    """One file of an archive: its class (first folder), display name, bytes or skip reason."""

    label: str | None
    name: str
    data: bytes | None
    reason: str | None = None


def read_class_zip(file: io.IOBase, limits: Limits) -> Iterator[ZipEntry]:
    """Files of a zip of class folders (``cats/1.jpg``; one enclosing folder is allowed).

    Raises:
        DataError: the archive is not a zip, or has absolute or ``..`` paths, links,
            too many entries, or declares more bytes than allowed (a zip bomb).
    """
    n_bytes = _check_directory(file, limits)  # before zipfile builds an object per entry
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise DataError(f"The upload is not a readable zip archive ({err}). Upload a .zip of "
                        "class folders.") from err
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        _check_archive(infos, limits, n_bytes)
        paths = [_member_parts(i) for i in infos]
        strip = _common_top(paths)
        for info, parts in zip(infos, paths, strict=True):
            if any(p.startswith(".") or p in _IGNORED_PARTS for p in parts):
                continue
            yield _read_entry(archive, info, parts[strip:], limits)


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_RECORD = struct.Struct("<4s4B4HL2L5H2L")  # a central directory record, before its name
_BOMB_FLOOR = 1 << 20  # archives and entries expanding to less are never bombs


def _directory_span(file: io.IOBase) -> tuple[int, int, int, int] | None:
    """(archive bytes, declared entries, directory start, directory bytes) from the end records
    (zip64 ones too), or None when there are none (zipfile then says what is wrong)."""
    end = file.seek(0, io.SEEK_END)
    start = max(0, end - _EOCD.size - 0xFFFF)  # the record sits before a comment of <= 64 KiB
    file.seek(start)
    tail = file.read(end - start)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < _EOCD.size:
        return None
    n_entries, cd_size, record_at = *_EOCD.unpack_from(tail, pos)[4:6], start + pos
    if record_at >= _ZIP64_LOCATOR.size:
        file.seek(record_at - _ZIP64_LOCATOR.size)
        locator = file.read(_ZIP64_LOCATOR.size)
        if locator[:4] == b"PK\x06\x07":
            zip64_at = record_at - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size
            file.seek(max(0, zip64_at))
            record = file.read(_ZIP64_EOCD.size)
            if zip64_at >= 0 and len(record) == _ZIP64_EOCD.size and record[:4] == b"PK\x06\x06":
                n_entries, cd_size, record_at = *_ZIP64_EOCD.unpack(record)[7:9], zip64_at
    return end, n_entries, max(0, record_at - cd_size), min(cd_size, record_at)


def _check_directory(file: io.IOBase, limits: Limits) -> int:
    """Refuse an archive with too many entries before ``zipfile`` parses its directory (an
    object per entry: 1M entries, 6 s and 500 MB); the archive's size in bytes.

    The declared count comes from the end record; the records are then walked (46 bytes and a
    name each, nothing kept) because zipfile reads the directory by its size, whatever the count.
    """
    span = _directory_span(file)
    file.seek(0)
    if span is None:
        return 0
    n_bytes, n_declared, position, size = span
    most = limits.max_zip_entries
    n_files = n_records = 0
    file.seek(position)
    while n_files <= most and n_records <= 2 * most and size >= _RECORD.size:
        header = file.read(_RECORD.size)
        if len(header) < _RECORD.size or header[:4] != b"PK\x01\x02":
            break  # not a directory record: zipfile says what is wrong
        n_name, n_extra, n_comment = _RECORD.unpack(header)[12:15]
        n_files += not file.read(n_name).endswith(b"/")
        n_records += 1
        file.seek(n_extra + n_comment, io.SEEK_CUR)
        size -= _RECORD.size + n_name + n_extra + n_comment
    file.seek(0)
    if n_files > most or n_records > 2 * most or n_declared > 2 * most:
        raise DataError(f"The zip has more than {most:,} files (its directory lists "
                        f"{max(n_declared, n_records):,}{'+' if n_declared < n_records else ''} "
                        f"entries); at most {most:,} are accepted. Split it into several uploads.")
    return n_bytes


def _check_archive(infos: list[zipfile.ZipInfo], limits: Limits, n_bytes: int) -> None:
    if len(infos) > limits.max_zip_entries:
        raise DataError(f"The zip has {len(infos):,} files; at most {limits.max_zip_entries:,} "
                        "are accepted. Split it into several uploads.")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_zip_bytes:
        raise DataError(f"The zip would expand to {format_size(declared)}, more than the "
                        f"{format_size(limits.max_zip_bytes)} allowed; refusing it.")
    # as a whole too: many small entries of zeros each stay under the per-entry floor below
    compressed = max(1, min(sum(i.compress_size for i in infos), n_bytes or declared))
    if declared > _BOMB_FLOOR and declared / compressed > limits.max_zip_ratio:
        raise DataError(f"The zip expands {declared / compressed:.0f}-fold as a whole "
                        f"({format_size(compressed)} to {format_size(declared)}), the mark of a zip "
                        f"bomb (at most {limits.max_zip_ratio:.0f}-fold); refusing the archive.")
    for info in infos:
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise DataError(f"The zip holds a link '{sanitize_filename(info.filename)}'; links "
                            "are refused. Zip the files themselves.")
        if info.flag_bits & 0x1:
            raise DataError("The zip is encrypted; upload an unencrypted archive.")
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > _BOMB_FLOOR and ratio > limits.max_zip_ratio:
            raise DataError(f"The zip entry '{sanitize_filename(info.filename)}' expands "
                            f"{ratio:.0f}-fold, the mark of a zip bomb; refusing the archive.")


def _member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    raw = _entry_name(info).replace("\\", "/")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise DataError(f"The zip holds an absolute path '{raw[:80]}'; refusing the archive.")
    parts = tuple(p for p in raw.split("/") if p not in ("", "."))
    if ".." in parts:
        raise DataError(f"The zip holds a path with '..' ('{raw[:80]}'); refusing the archive.")
    return parts


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name. macOS's Archive Utility and Info-ZIP write UTF-8 names without the UTF-8
    flag, which zipfile then reads as cp437 ('café' -> 'cafÔö£®'): such names are read as UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:  # a true cp437 name (old Windows tools)
        return info.filename


def _common_top(paths: list[tuple[str, ...]]) -> int:
    """1 when every image sits in one enclosing folder above the class folders, else 0 (a README
    beside the class folders must not make the enclosing folder the one class)."""
    visible = [p for p in paths if not any(x.startswith(".") or x in _IGNORED_PARTS for x in p)
               and p and image_extension(p[-1]) is not None]
    if visible and all(len(p) >= 3 for p in visible) and len({p[0] for p in visible}) == 1:
        return 1
    return 0


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, parts: tuple[str, ...],
                limits: Limits) -> ZipEntry:
    name = sanitize_filename(parts[-1]) if parts else "file"
    display = "/".join(sanitize_filename(p) for p in parts)
    if len(parts) < 2:
        return ZipEntry(None, display, None, "not inside a class folder")
    label = parts[0]
    if image_extension(name) is None:
        return ZipEntry(label, display, None, f"not an image file (extension "
                                              f"'{PurePosixPath(name).suffix}')")
    if info.file_size > limits.max_file_bytes:
        return ZipEntry(label, display, None, f"file too large ({format_size(info.file_size)} > "
                                              f"{format_size(limits.max_file_bytes)})")
    try:
        with archive.open(info) as member:
            data = member.read(limits.max_file_bytes + 1)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as err:
        return ZipEntry(label, display, None, f"cannot be extracted ({err})")
    return ZipEntry(label, display, data)


def check_image_header(data: bytes, limits: Limits) -> str | None:
    """Cheap checks before decoding (size, format, pixel count): the reason, or None."""
    if not data:
        return "empty file (0 bytes)"
    if len(data) > limits.max_file_bytes:
        return f"file too large (over the {format_size(limits.max_file_bytes)} limit)"
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except (Image.UnidentifiedImageError, Image.DecompressionBombError):
        return "not an image (unrecognized format)"
    except (OSError, ValueError, SyntaxError) as err:
        return f"cannot be decoded ({err})"
    if width * height > limits.max_image_pixels:
        return f"image too large ({width}x{height} pixels > {limits.max_image_pixels:,})"
    return None
