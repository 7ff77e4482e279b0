"""Content-addressed file store: ``blobs/ab/<digest><ext>``, written once, shared by projects.

The digest is the same blake2b-160 of the bytes that ``FeatureCache`` keys embeddings by, so
an uploaded file's cached embedding is found again under any name.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path


def digest_bytes(data: bytes) -> str:
    """blake2b-160 hex digest of ``data`` (the ``FeatureCache`` content key of a file)."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


class BlobStore:
    """Immutable files named by their content hash.

    Example:
        >>> store = BlobStore(tmp_path)
        >>> digest = store.put(b"...", ".png")
        >>> store.path(digest, ".png").read_bytes()
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, digest: str, ext: str) -> Path:
        return self.root / digest[:2] / f"{digest}{ext}"

    def put(self, data: bytes, ext: str) -> str:
        """Store ``data`` (once) and return its digest; the write is atomic."""
        digest = digest_bytes(data)
        target = self.path(digest, ext)
        if target.is_file() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def delete(self, digest: str, ext: str) -> None:
        self.path(digest, ext).unlink(missing_ok=True)

    def pin(self, digest: str, ext: str, folder: Path) -> Path | None:
        """Hard-link the blob into ``folder``: the link keeps the file's bytes readable after
        ``delete`` (a training job reads what it started with) and is removed with ``folder``.

        Returns the link, or None where the file system refuses hard links (copy then, with
        ``copy_to``). Raises FileNotFoundError when the blob is not in the store.
        """
        target = folder / f"{digest}{ext}"
        try:
            os.link(self.path(digest, ext), target)
        except FileExistsError:  # pinned already
            pass
        except FileNotFoundError:
            raise
        except OSError as err:
            if err.errno in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
                return None
            raise
        return target

    def copy_to(self, digest: str, ext: str, folder: Path) -> Path:
        """Copy the blob into ``folder`` (where hard links are refused); FileNotFoundError when
        it is gone."""
        target = folder / f"{digest}{ext}"
        shutil.copyfile(self.path(digest, ext), target)
        return target
