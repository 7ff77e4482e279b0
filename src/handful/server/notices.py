"""Warnings raised while the server handles one request, collected for that request's answer.

``warnings.catch_warnings()`` would swap the process-wide filters and ``showwarning`` hook under
other requests (routes run on worker threads), so a second upload at the same moment could lose
its warnings or leave the hook behind. Instead one hook is installed while any request collects,
and it hands each warning to the list of the thread that raised it; other threads' warnings go
where they went before.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()
_lock = threading.Lock()
_installed: dict = {"users": 0, "previous": None}


@contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """The texts of the warnings this thread raises inside the block, in order.

    Example:
        >>> with collected_warnings() as said:
        ...     warnings.warn("tickets.csv is not valid UTF-8")
        >>> said
        ['tickets.csv is not valid UTF-8']
    """
    said: list[str] = []
    with _lock:
        if _installed["users"] == 0:
            _installed["previous"] = warnings.showwarning
            warnings.showwarning = _show
        _installed["users"] += 1
    outer = getattr(_local, "said", None)
    _local.said = said
    try:
        yield said
    finally:
        _local.said = outer
        with _lock:
            _installed["users"] -= 1
            if _installed["users"] == 0 and warnings.showwarning is _show:
                warnings.showwarning = _installed["previous"]


def _show(message, category, filename, lineno, file=None, line=None) -> None:
    said = getattr(_local, "said", None)
    if said is not None:
        said.append(str(message))
    else:
        _installed["previous"](message, category, filename, lineno, file, line)
