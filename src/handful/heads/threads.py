"""One BLAS/OpenMP thread while heads fit: their matrices are too small to share out.

A head fit multiplies (n, dim) embeddings by (dim, n_classes) weights, hundreds of times.
Spread over two OpenBLAS threads, each product waits on a busy-waiting partner, and when
anything else uses the CPU (a second job, the server, a browser) the wait grows: on
flowers5 (2,404 x 2,560, 5 classes) one logistic fit took 6.8-28 s with the default
threads beside one other busy process and 1.0-1.8 s with one thread. ``single_threaded``
sets every loaded BLAS and OpenMP library (torch's included) to one thread for the
duration, and back after.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

from threadpoolctl import ThreadpoolController

F = TypeVar("F", bound=Callable)
LIMIT: int | None = 1  # threads while heads fit; None leaves the libraries' own setting
MAX_WORKERS = 4  # head fits at once (each on LIMIT threads): ``map_in_threads``
_controllers: dict[int, ThreadpoolController] = {}


def _controller() -> ThreadpoolController:
    """A controller over the libraries loaded now (made again when a new one was loaded)."""
    import sys

    key = len(sys.modules)  # cheap proxy for "something new was imported"
    if key not in _controllers:
        _controllers.clear()
        _controllers[key] = ThreadpoolController()
    return _controllers[key]


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with ``LIMIT`` BLAS and OpenMP threads (nests; restores on exit)."""
    if LIMIT is None:
        yield
        return
    with _controller().limit(limits=LIMIT):
        yield


def single_threaded(func: F) -> F:
    """Decorate ``func`` to run inside ``one_thread()``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_thread():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def fits_at_once(n: int) -> Iterator[None]:
    """Run the block with at most ``n`` head fits at once (``map_in_threads``); restores on exit."""
    global MAX_WORKERS
    before, MAX_WORKERS = MAX_WORKERS, n
    try:
        yield
    finally:
        MAX_WORKERS = before


def map_in_threads(func: Callable[[Any], Any], jobs: Sequence, workers: int | None = None,
                   on_done: Callable[[Any], None] | None = None,
                   cost: Callable[[Any], float] | None = None) -> list:
    """``[func(job) for job in jobs]``, ``workers`` at a time in threads (default: the CPUs, at
    most ``MAX_WORKERS``); costliest first by ``cost`` (no straggler at the end). ``on_done(job)``
    runs after each, on this thread, and the next job starts only after it: an exception it raises
    (a cancelled job) starts nothing more, and only the jobs already running finish.

    Head fits spend their time in numpy and BLAS, which release the GIL: on 2 cores, two
    logistic fits of flowers5's size take 0.6x the time of one after the other. ``func`` must be
    thread-safe (a torch head that seeds the global generator is not).
    """
    workers = workers or min(MAX_WORKERS, os.cpu_count() or 1)
    if workers <= 1 or len(jobs) <= 1:
        out = []
        for job in jobs:
            out.append(func(job))
            if on_done:
                on_done(job)
        return out
    results: list = [None] * len(jobs)
    order = iter(sorted(range(len(jobs)), key=lambda k: -cost(jobs[k])) if cost else range(len(jobs)))
    pool = ThreadPoolExecutor(workers)
    running: dict = {}
    try:  # a job starts only once one before it is done and reported: a raise starts nothing new
        for k in itertools.islice(order, workers):
            running[pool.submit(_one_thread_each, func, jobs[k])] = k
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                k = running.pop(future)
                results[k] = future.result()
                if on_done:
                    on_done(jobs[k])
                following = next(order, None)
                if following is not None:
                    running[pool.submit(_one_thread_each, func, jobs[following])] = following
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _one_thread_each(func: Callable[[Any], Any], job: Any) -> Any:
    """``func(job)`` inside ``one_thread()`` on the worker thread: OpenMP's thread count is a
    per-thread setting, so the caller's limit does not reach a pool's threads."""
    with one_thread():
        return func(job)
