"""Content hashes of files, remembered for the process: an unchanged file is read once.

One ``train --backbone auto`` looks each file up in the embedding cache once per backbone,
the copy check (``duplicate_groups``) hashes files again, and ``predict --transductive --out``
names its batch before embedding it. Each of these asks ``FileHashes.digest``, which reads a
file only when its ``os.stat`` differs from the last time it was read.

The memo is keyed by what the kernel changes on every write: device, inode, size, mtime and
ctime in ns (``os.utime`` can set mtime back, never ctime). Timestamps tick coarsely (a jiffy
on Linux, 1 s on HFS+/ext3, 2 s on FAT), so a file rewritten with the same size within one
tick keeps its stat; as git does with "racily clean" entries, a file whose ctime (or mtime)
lies within ``racy_ns`` of the read is hashed but not remembered, and is read again next time.
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
import time
from collections import OrderedDict
from typing import BinaryIO

DIGEST_SIZE = 20  # bytes of blake2b: the embedding cache's keys on disk depend on it
RACY_NS = 2_000_000_000  # FAT's 2 s mtime step, the coarsest in common use


def _read_digest(f: BinaryIO) -> bytes:
    """blake2b (``DIGEST_SIZE`` bytes) of an open file's bytes, read in 1 MiB chunks."""
    digest = hashlib.blake2b(digest_size=DIGEST_SIZE)
    while chunk := f.read(1 << 20):
        digest.update(chunk)
    return digest.digest()


def _stat_key(path: str | os.PathLike, st: os.stat_result) -> bytes | tuple:
    """What changes when a file's bytes do, packed (half the memory of a tuple of ints); the
    path stands in where the file system gives no inode number."""
    if st.st_ino:
        return struct.pack("<QQQqq", st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FileHashes:
    """The content hash of each file (blake2b of its bytes), remembered while the file's stat
    stays the same, for up to ``max_entries`` files (least recently used dropped first; about
    200 bytes each). Safe to share between threads.

    Example:
        >>> hashes = FileHashes()
        >>> hashes.digest("cat.jpg") == hashes.digest("cat.jpg")  # read once
        True
    """

    def __init__(self, max_entries: int = 100_000, racy_ns: int = RACY_NS):
        self.max_entries = max_entries
        self.racy_ns = racy_ns
        self.n_reads = 0  # files read and hashed (not answered from the memo)
        self._memo: OrderedDict[bytes | tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def digest(self, path: str | os.PathLike) -> str:
        """The file's content hash; ``OSError`` when it cannot be read."""
        st = os.stat(path)
        key = _stat_key(path, st)
        with self._lock:
            known = self._memo.get(key)
            if known is not None:
                self._memo.move_to_end(key)
                return known.hex()
        started = time.time_ns()
        with open(path, "rb") as f:
            value = _read_digest(f)
            after = _stat_key(path, os.fstat(f.fileno()))
        changed = max(st.st_ctime_ns, st.st_mtime_ns)  # mtime too: Windows' ctime is the creation
        with self._lock:
            self.n_reads += 1
            # not kept: changed while read (or replaced since the stat), or too recent to trust
            if after == key and changed < started - self.racy_ns:
                self._memo[key] = value
                if len(self._memo) > self.max_entries:
                    self._memo.popitem(last=False)
        return value.hex()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a thread of the parent may have held it at the fork

    def clear(self) -> None:
        """Forget every file (the next ``digest`` of each reads it again)."""
        with self._lock:
            self._memo.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._memo)


file_hashes = FileHashes()  # the process's memo: every content_key of a local file goes through it
if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=file_hashes._after_fork)
