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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from threadpoolctl import ThreadpoolController

F = TypeVar("F", bound=Callable)
LIMIT: int | None = 1  # threads while heads fit; None leaves the libraries' own setting
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
