"""Untrusted-upload helpers: file names, image checks, zip reading (table-driven)."""

from __future__ import annotations

import io
import zipfile

import pytest

from handful.errors import DataError
from handful.server.uploads import (
    Limits,
    check_image_bytes,
    check_image_header,
    image_extension,
    read_class_zip,
    sanitize_filename,
)
from server_utils import color_png


@pytest.mark.parametrize("raw, expected", [
    ("cat.jpg", "cat.jpg"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\dog.PNG", "dog.PNG"),
    ("we ird<>|:name?.png", "we ird____name_.png"),
    ("\x00\x1b[31m.png", "_31m.png"),
    ("...", "file"),
    ("", "file"),
    ("a" * 300 + ".jpeg", "a" * 115 + ".jpeg"),  # 120 characters at most
])
def test_sanitize_filename(raw, expected):
    assert sanitize_filename(raw) == expected


@pytest.mark.parametrize("name, ext", [("a.JPG", ".jpg"), ("b.webp", ".webp"), ("c.txt", None),
                                       ("noext", None), ("x/../y.png", ".png")])
def test_image_extension(name, ext):
    assert image_extension(name) == ext


@pytest.mark.parametrize("data, phrase", [
    (b"", "empty file"),
    (b"hello", "not an image"),
    (color_png("red", 1)[:60], "truncated image"),  # as the CLI says it (it said "cannot be decoded")
])
def test_check_image_bytes_reasons(data, phrase):
    assert phrase in check_image_bytes(data, Limits())


def test_a_file_that_is_no_image_is_not_called_maybe_too_large():
    # a 5-byte text file was "not an image, or an image too large to decode"
    assert check_image_bytes(b"hello", Limits()) == "not an image (unrecognized format)"


def test_pixel_limit_is_checked_from_the_header():
    data = color_png("red", 1, size=(50, 50))
    assert check_image_bytes(data, Limits()) is None
    assert "image too large (50x50 pixels > 2,499)" == check_image_header(data, Limits(max_image_pixels=2499))


def _zip(entries: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    buf.seek(0)
    return buf


def test_zip_labels_come_from_the_first_folder_and_root_files_are_skipped():
    entries = list(read_class_zip(_zip({"cats/a.png": b"1", "cats/sub/b.png": b"2", "dogs/c.jpg": b"3",
                                        "top.png": b"4", "dogs/notes.txt": b"5"}), Limits()))
    got = {(e.label, e.name, e.reason) for e in entries}
    assert got == {("cats", "cats/a.png", None), ("cats", "cats/sub/b.png", None),
                   ("dogs", "dogs/c.jpg", None), (None, "top.png", "not inside a class folder"),
                   ("dogs", "dogs/notes.txt", "not an image file (extension '.txt')")}



def test_a_file_beside_the_class_folders_in_an_enclosing_folder_does_not_make_it_the_class():
    # photos/README.txt beside photos/cats/ and photos/dogs/: every image was filed under 'photos'
    entries = list(read_class_zip(_zip({"photos/cats/a.png": b"1", "photos/dogs/b.png": b"2",
                                        "photos/README.txt": b"3", "__MACOSX/photos/._x": b"4"}), Limits()))
    got = {(e.label, e.name, e.reason) for e in entries}
    assert got == {("cats", "cats/a.png", None), ("dogs", "dogs/b.png", None),
                   (None, "README.txt", "not inside a class folder")}

def _zip_without_utf8_flag(entries: dict[str, bytes]) -> io.BytesIO:
    """As macOS's Archive Utility and Info-ZIP write it: UTF-8 names, the UTF-8 flag (bit 11) unset."""
    data = bytearray(_zip(entries).getvalue())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local header, central directory
        at = data.find(signature)
        while at != -1:
            flags = int.from_bytes(data[at + offset:at + offset + 2], "little") & ~0x800
            data[at + offset:at + offset + 2] = flags.to_bytes(2, "little")
            at = data.find(signature, at + 4)
    return io.BytesIO(bytes(data))


def test_zip_names_in_utf8_without_the_utf8_flag_keep_their_accents():
    # zipfile reads such names as cp437: class 'café' became 'cafÔö£®' ('blue é' -> 'blue ├⌐')
    entries = list(read_class_zip(_zip_without_utf8_flag({"café/é.png": b"1", "thé/b.png": b"2"}), Limits()))
    assert {(e.label, e.name) for e in entries} == {("café", "café/é.png"), ("thé", "thé/b.png")}


def test_zip_names_in_cp437_from_old_windows_tools_still_read_as_cp437():
    raw = _zip({"cafX/a.png": b"1"}).getvalue().replace(b"cafX", b"caf\x82")  # cp437 'é'; not UTF-8
    entries = list(read_class_zip(io.BytesIO(raw), Limits()))
    assert [e.label for e in entries] == ["café"]


def test_zip_entry_over_the_file_limit_is_skipped_not_read():
    entries = list(read_class_zip(_zip({"a/big.png": b"x" * 2000, "a/ok.png": b"y"}),
                                  Limits(max_file_bytes=1000)))
    assert [(e.name, e.data is None) for e in entries] == [("a/big.png", True), ("a/ok.png", False)]
    assert "file too large" in entries[0].reason


def test_zip_declaring_too_many_bytes_is_refused():
    with pytest.raises(DataError, match="would expand to"):
        list(read_class_zip(_zip({"a/1.png": b"x" * 5000}), Limits(max_zip_bytes=4000)))


def test_checking_uploads_on_many_threads_leaves_the_warning_filters_as_they_were():
    # catch_warnings() is not thread-safe: concurrent uploads left a filter behind for the whole
    # server process (here: "error" on DecompressionBombWarning)
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    data = color_png("red", 1, size=(8, 8))
    before = list(warnings.filters)
    with ThreadPoolExecutor(8) as pool:
        reasons = list(pool.map(lambda _: check_image_bytes(data, Limits()), range(2000)))
    assert reasons == [None] * 2000 and warnings.filters == before
