"""``Catalog.blob_lock`` is exclusive across processes on one home folder, not only threads."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from handful.server import Catalog
from handful.server.locks import HomeLock

ROUNDS = 4


def hold_blob_lock(home: str, journal: str, name: str, barrier) -> None:
    """In a child process: enter and leave the catalog's blob lock ``ROUNDS`` times, writing each
    entry and exit to ``journal``; a second process entering meanwhile shows up as interleaving."""
    catalog = Catalog(home)
    barrier.wait(30)  # both processes contend from the same moment
    for _ in range(ROUNDS):
        with catalog.blob_lock:
            with open(journal, "a") as f:
                f.write(f"{name} in\n")
            time.sleep(0.05)  # long enough for the other process to try to enter
            with open(journal, "a") as f:
                f.write(f"{name} out\n")
        time.sleep(0.01)


def test_two_processes_never_hold_the_blob_lock_at_once(tmp_path):
    home, journal = tmp_path / "home", tmp_path / "journal.txt"
    Catalog(home)  # created (and migrated) once, before the two processes open it
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=hold_blob_lock, args=(str(home), str(journal), name, barrier))
             for name in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    lines = journal.read_text().split("\n")[:-1]
    assert len(lines) == 2 * 2 * ROUNDS
    pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]
    # each entry is followed by the same process's exit: nobody else got in between
    assert all(enter.split()[0] == leave.split()[0] and enter.endswith("in") and leave.endswith("out")
               for enter, leave in pairs), lines


def test_the_blob_lock_is_reentrant_for_its_thread_and_excludes_other_threads(tmp_path):
    lock = Catalog(tmp_path / "home").blob_lock
    entered = threading.Event()

    def other() -> None:
        with lock:
            entered.set()

    with lock, lock:  # nested: a delete that calls a helper taking the lock again must not hang
        thread = threading.Thread(target=other, daemon=True)
        thread.start()
        assert not entered.wait(0.2), "another thread entered while this one held the lock"
    assert entered.wait(10), "the lock should be free once the outer block is left"
    thread.join(10)


def test_two_handles_on_one_lock_file_exclude_each_other(tmp_path):
    first, second = HomeLock(tmp_path / "x.lock"), HomeLock(tmp_path / "x.lock")
    with first:
        # a second handle (another Catalog on the home folder) in another thread must wait
        got = threading.Event()
        thread = threading.Thread(target=lambda: (second.acquire(), got.set(), second.release()),
                                  daemon=True)
        thread.start()
        assert not got.wait(0.2), "two handles on one lock file held it at once"
    assert got.wait(10)
    thread.join(10)
    assert Path(tmp_path / "x.lock").exists()
