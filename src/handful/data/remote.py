"""Images behind URIs (``s3://bucket/prefix``, ``gs://…``, ``hdfs://…``, ``file:///…``).

A folder argument may be a bucket prefix: it is listed with ``pyarrow.fs`` (installed with the
``ray`` extra; S3/GCS credentials come from the usual environment), and each image is read as
bytes when it is decoded, so Ray workers fetch their own share straight from the bucket.
"""

from __future__ import annotations

import re

from ..errors import BackboneUnavailableError, DataNotFoundError

_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_uri(item: object) -> bool:
    """True for ``scheme://…`` strings (a bucket object or prefix), False for local paths."""
    return isinstance(item, str) and bool(_URI.match(item))


def _filesystem(uri: str):
    try:
        from pyarrow import fs
    except ImportError as err:
        raise BackboneUnavailableError(f"Reading '{uri}' needs pyarrow. Run `pip install "
                                       "'handful[ray]'`, or copy the images to a local folder.") from err
    try:
        return fs, *fs.FileSystem.from_uri(uri)
    except (OSError, ValueError) as err:
        raise DataNotFoundError(f"Cannot open '{uri}' ({err}). Check the URI and the credentials "
                                "in the environment.") from err


def list_uri_files(uri: str) -> list[str]:
    """Every file under the prefix ``uri`` (or ``uri`` itself when it is one object), as URIs."""
    fs, filesystem, root = _filesystem(uri)
    scheme = uri.split("://", 1)[0]
    info = filesystem.get_file_info(root)
    if info.type == fs.FileType.File:
        return [uri]
    if info.type != fs.FileType.Directory:
        raise DataNotFoundError(f"Input '{uri}' does not exist. Give an image object or a prefix.")
    found = filesystem.get_file_info(fs.FileSelector(root, recursive=True))
    return sorted(f"{scheme}://{f.path}" for f in found if f.type == fs.FileType.File)


def object_version(uri: str) -> str:
    """``uri`` with its size and modification time: a cache key that costs one metadata call
    instead of downloading the object a second time. Raises OSError when it cannot be read."""
    fs, filesystem, path = _filesystem(uri)
    info = filesystem.get_file_info(path)
    if info.type != fs.FileType.File:
        raise FileNotFoundError(f"no object at {uri}")
    return f"{uri}|{info.size}|{info.mtime_ns}"


def read_uri(uri: str) -> bytes:
    """The bytes of one object. Raises OSError when it cannot be read."""
    _, filesystem, path = _filesystem(uri)
    with filesystem.open_input_file(path) as f:
        return f.read()
