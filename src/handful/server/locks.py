"""A lock shared by the threads of a process and by every process on one home folder.

Storing or deleting a blob and the example rows that reference it is one critical section
(``Catalog.blob_lock``). A thread lock alone covers one server; two ``handful serve`` on one
home folder (or a tool beside a server) would race: one deletes a file the other's new row
just started to reference. ``HomeLock`` adds ``fcntl.flock`` on a lock file in the home folder.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock then covers the threads of one process only
    fcntl = None


class HomeLock:
    """Re-entrant for the thread that holds it, exclusive across threads and processes.

    The thread lock is taken first, so within a process only one thread ever waits on the file
    lock; the file is opened at the outermost acquire and closed at the matching release, so a
    process started (or forked) while the lock is held never inherits it.

    Example:
        >>> lock = HomeLock(home / "blobs.lock")
        >>> with lock:
        ...     ...  # store a blob and insert its row, with no other process deleting it meanwhile
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._thread_lock = threading.RLock()
        self._depth = 0  # how many times the holding thread acquired it
        self._fd: int | None = None

    def acquire(self) -> None:
        self._thread_lock.acquire()
        if self._depth == 0 and fcntl is not None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except BaseException:
                self._thread_lock.release()
                raise
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # blocks while another process holds it
            except BaseException:
                os.close(fd)
                self._thread_lock.release()
                raise
            self._fd = fd
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)  # closing releases the flock too, should the unlock have failed
        self._thread_lock.release()

    def __enter__(self) -> HomeLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
