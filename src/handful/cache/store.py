"""FeatureCache: embeddings on disk, keyed by (backbone fingerprint, content hash).

Each entry is one small ``.npy`` file written to a temp name and renamed into place, so
concurrent runs never see a half-written entry and an interrupted run leaves only complete
ones. A renamed file is still a hit (the key is its content); a changed file or a changed
backbone (weights, preprocessing, precision) is a miss.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from ..backbones.base import Backbone
from ..backbones.stream import embed_items
from ..data.examples import as_items
from ..data.remote import is_uri, object_version
from .hashes import DIGEST_SIZE, file_hashes


def default_cache_dir() -> Path:
    """``$HANDFUL_CACHE`` (a leading ``~`` is the home folder, as a shell would read it: a
    Dockerfile ENV or a .env file does not expand it) or ``~/.cache/handful``."""
    env = os.environ.get("HANDFUL_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "handful"


def content_key(item: str, modality: str) -> str:
    """Hash of a file's bytes (images; a bucket object's URI, size and mtime) or of the
    whitespace-normalized text. A file's hash is remembered while its stat is unchanged
    (``FileHashes``), so the many look-ups of one run read each file once."""
    if modality == "image" and not is_uri(item):  # read once per process while unchanged
        return file_hashes.digest(item)
    digest = hashlib.blake2b(digest_size=DIGEST_SIZE)
    if modality == "image":  # a bucket object: keyed by its version, read once (to decode)
        digest.update(object_version(item).encode("utf-8"))
    else:
        digest.update(" ".join(str(item).split()).encode("utf-8"))
    return digest.hexdigest()


def _read_vector(f: BinaryIO, dim: int) -> np.ndarray | None:
    """A float32 ``(dim,)`` vector from an open ``.npy`` entry, or None. The header is checked
    before any data is read: a damaged one may claim any shape, and an object dtype (a pickle)
    is never loaded."""
    version = npy_format.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        return None
    read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
    shape, _, dtype = read_header(f)
    if shape != (dim,) or dtype != np.float32:
        return None
    vector = np.fromfile(f, dtype=np.float32, count=dim)
    return vector if vector.shape == (dim,) else None  # (dim,) float32


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class FeatureCache:
    """Embeddings on disk. ``enabled=False`` computes everything and stores nothing.

    Example:
        >>> cache = FeatureCache()
        >>> embeddings, failures = cache.get_or_compute(backbone, paths)
    """

    def __init__(self, root: str | Path | None = None, enabled: bool = True):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.enabled = enabled
        self.stats = CacheStats()
        self._unwritable = False  # set by the first failed write: reads go on, writes stop
        self._last_keys: dict[str, str] = {}  # item -> content key, of the last get_or_compute

    def _path(self, fingerprint: str, key: str) -> Path:
        return self.root / "embeddings" / fingerprint / key[:2] / f"{key}.npy"

    def _read(self, path: Path, dim: int) -> np.ndarray | None:
        """The entry at ``path``, or None for a miss: absent, or unusable (empty, truncated or
        garbage after a power loss or a disk error), so it is computed and written again."""
        try:
            with open(path, "rb") as f:
                return _read_vector(f, dim)
        # numpy's header parser raises EOFError, ValueError, SyntaxError or tokenize.TokenError on
        # garbage: none may escape (click read an EOFError as Ctrl-D: "aborted", every command)
        except Exception:  # noqa: BLE001
            return None

    def _write(self, path: Path, vector: np.ndarray) -> None:
        """Store one entry atomically; a cache that cannot be written (read-only, full, not a
        folder) is said once and then only read: it saves time, it must not stop the work."""
        if self._unwritable:
            return
        try:
            self._write_entry(path, vector)
        except OSError as err:
            self._unwritable = True
            warnings.warn(f"Cannot write the embedding cache in '{self.root}' ({err.strerror or err}); "
                          "going on without storing embeddings (they are computed again next time). "
                          "Set HANDFUL_CACHE to a writable folder, or pass --no-cache (in Python, "
                          "Classifier(cache=False) or cache='a writable folder').", stacklevel=3)

    def _write_entry(self, path: Path, vector: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, np.ascontiguousarray(vector, dtype=np.float32), allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def lookup(self, backbone: Backbone, key: str) -> np.ndarray | None:
        """The vector cached under a derived ``key`` (e.g. an augmented view), or None."""
        if not self.enabled:
            return None
        return self._read(self._path(backbone.fingerprint, key), backbone.dim)

    def store(self, backbone: Backbone, key: str, vector: np.ndarray) -> None:
        """Cache ``vector`` under a derived ``key`` (no-op when the cache is disabled)."""
        if self.enabled:
            self._write(self._path(backbone.fingerprint, key), vector)

    def last_content_keys(self) -> dict[str, str]:
        """``{item: content_key(item, modality)}`` for the items the last ``get_or_compute`` call
        hashed (all it could read; none when disabled), so a caller that also needs the keys, such
        as ``predict --support --out`` naming its support set, does not read every file again.
        The keys are of the files as they were then: use them right after that call."""
        return dict(self._last_keys)

    def get_or_compute(
        self, backbone: Backbone, items: Sequence[str], batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Embeddings (n, dim) for ``items`` and ``{index: reason}`` for unusable ones.

        Rows of unusable items are NaN. Only missing entries go through the backbone. Texts past
        a text backbone's window are counted on every call (``TokenWindow``), hits or not.
        """
        items = as_items(items)
        if hasattr(backbone, "warn_long_texts"):  # counted from the texts: a cache hit says it too
            backbone.warn_long_texts(items, stacklevel=3)
        n = len(items)
        out = np.full((n, backbone.dim), np.nan, dtype=np.float32)
        failures: dict[int, str] = {}
        keys: list[str | None] = [None] * n
        missing: list[int] = []
        self._last_keys = {}
        enabled = self.enabled and getattr(backbone, "cache_embeddings", True)  # word2vec: no
        for i, item in enumerate(items):
            if enabled:
                try:
                    keys[i] = content_key(item, backbone.modality)
                except OSError as err:
                    failures[i] = f"cannot be read ({err.strerror})"
                    continue
                self._last_keys[item] = keys[i]
                cached = self._read(self._path(backbone.fingerprint, keys[i]), backbone.dim)
                if cached is not None:
                    out[i] = cached
                    continue
            missing.append(i)
        self.stats.hits += n - len(missing) - len(failures)
        self.stats.misses += len(missing)
        if progress and n - len(missing):
            progress(n - len(missing))
        if missing:
            if backbone.modality == "text":  # similar lengths per batch: less padding, ~2x faster
                missing.sort(key=lambda i: len(items[i]))
            computed, bad = embed_items(backbone, [items[i] for i in missing], batch_size, progress)
            for j, i in enumerate(missing):
                if j in bad:
                    failures[i] = bad[j]
                    continue
                out[i] = computed[j]
                if enabled:
                    self._write(self._path(backbone.fingerprint, keys[i]), computed[j])
        return out, failures
