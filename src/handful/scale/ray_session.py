"""One command's Ray: started (or joined) before the work, and after it, a local instance that
handful started is shut down and its session folder removed.

Ray keeps every local session's folder (``/tmp/ray/session_<date>_<pid>``: logs, sockets, ~200 KB)
after it shuts down, so each ``--ray`` run left one behind (217 had piled up here). Only the
session this process started is removed: its name ends with this process's id, and Ray names a
session after the process that starts its head node. A cluster joined through ``--address`` (or
one already running here) is never touched, nor is a Ray this process had initialized before.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import ray_data


@contextmanager
def ray_session(address: str | None = None, quiet: bool = False) -> Iterator[None]:
    """``init_ray(address, quiet)`` for the body; then, if this call started a local Ray, shut it
    down (also when the start-up itself was interrupted) and remove its session folder.

    Example:
        >>> with ray_session(None, quiet=True):
        ...     results = list(iter_ray_results(items, "embed", backbone="test_tiny_image"))
    """
    ray = ray_data._ray()
    if ray.is_initialized():  # a Ray this process already runs (a test's, a notebook's): its owner stops it
        ray_data.init_ray(address, quiet)
        yield
        return
    before = set(own_sessions())
    try:
        ray_data.init_ray(address, quiet)
        yield
    finally:
        _shutdown(ray)  # a joined cluster: only disconnects
        new = [s for s in own_sessions() if s not in before]
        if new:  # a local head node this process started (a cluster joined has another's name)
            end_session_processes(new)
            for session in new:
                remove_session(session)


def ray_temp_dir() -> Path:
    """Where Ray keeps its sessions on this machine: ``$RAY_TMPDIR/ray`` (default ``/tmp/ray``)."""
    return Path(os.environ.get("RAY_TMPDIR") or "/tmp") / "ray"


def own_sessions() -> list[Path]:
    """The session folders named after this process (``session_<date>_<pid>``)."""
    root = ray_temp_dir()
    try:
        return sorted(root.glob(f"session_*_{os.getpid()}"))
    except OSError:
        return []


def _shutdown(ray) -> None:
    """``ray.shutdown`` that waits for the processes it stops (their logs go into the folder
    removed next); a start-up cut short can leave Ray half set up, which it may refuse."""
    try:
        ray.shutdown(wait_for_processes=True)
    except Exception:  # noqa: BLE001 (the processes are ended by their session below)
        pass


def _children() -> list[tuple[int, str]]:
    """(pid, command line) of this process's child processes (Linux's /proc; none elsewhere)."""
    me, found = str(os.getpid()), []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            if ppid == me:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace")))
        except (OSError, IndexError, ValueError):
            continue
    return found


def end_session_processes(sessions: list[Path], timeout_s: float = 5.0) -> None:
    """End this process's children that serve ``sessions`` (GCS, raylet, agents): those a start-up
    cut short by Ctrl-C or SIGTERM left running, as ``ray.shutdown`` knows none of them then."""
    names = [s.name for s in sessions]
    pids = [pid for pid, cmdline in _children() if any(name in cmdline for name in names)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + timeout_s
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if _alive(pid)]
            time.sleep(0.05)
        if not pids:
            return


def _alive(pid: int) -> bool:
    """Whether child ``pid`` still runs (reaped here once it has exited)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def remove_session(session: Path) -> None:
    """Remove one session folder, and Ray's ``session_latest`` link when it points to it."""
    shutil.rmtree(session, ignore_errors=True)
    latest = session.parent / "session_latest"
    try:
        if latest.is_symlink() and Path(os.readlink(latest)).name == session.name:
            latest.unlink()
    except OSError:
        pass


def ray_results(items: list[str], task: str, address: str | None, quiet: bool, **kwargs) -> Iterator:
    """``iter_ray_results(items, task, **kwargs)`` inside a ``ray_session``: Ray starts at the first
    batch asked for, and is shut down when the results are exhausted or closed. No items: no Ray
    is started (a resumed output with every row done has nothing to send it)."""
    if not items:
        return
    with ray_session(address, quiet):
        yield from ray_data.iter_ray_results(items, task, **kwargs)
