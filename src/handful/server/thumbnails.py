"""Small JPEG previews of example images for the UI, made once and kept beside the blobs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from ..data.images import ImageDecodeError, load_image


def thumbnail(source: Path, folder: Path, digest: str, size: int) -> Path:
    """A JPEG at most ``size`` pixels on the long side (the source itself if it fails)."""
    target = folder / digest[:2] / f"{digest}-{size}.jpg"
    if target.is_file():
        return target
    try:
        img = load_image(source, draft_size=size)
    except ImageDecodeError:
        return source
    img.thumbnail((size, size), Image.BILINEAR)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    with os.fdopen(fd, "wb") as f:
        img.save(f, "JPEG", quality=85)
    os.replace(tmp, target)
    if not source.is_file():  # deleted meanwhile, maybe after its previews: leave no copy behind
        target.unlink(missing_ok=True)
    return target


def delete_thumbnails(folder: Path, digest: str) -> None:
    """Remove every preview of blob ``digest``: a deleted image leaves no copy behind."""
    for path in (folder / digest[:2]).glob(f"{digest}-*.jpg"):
        path.unlink(missing_ok=True)
