"""Strict JSON text for every JSON file and line handful writes: NaN and infinities become null.

Python's ``json`` writes ``NaN`` and ``Infinity`` tokens, which are not JSON: JavaScript's
``JSON.parse``, ``jq`` and most other parsers refuse the whole file. A diverged loss or an
undefined metric is ``null`` instead.

Example:
    >>> json_text({"loss": float("nan"), "acc": np.float32(0.5)})
    '{"loss": null, "acc": 0.5}'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np


def finite(value):
    """``value`` with NaN and infinities (floats or numpy scalars, at any depth) as None, and
    numpy arrays and scalars as lists and Python numbers."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(value, indent: int | None = None, default: Callable | None = None,
              ensure_ascii: bool = True) -> str:
    """``value`` as strict JSON text (``default`` turns other objects into JSON-ready ones, as
    for ``json.dumps``; without it they raise TypeError)."""
    return json.dumps(finite(value), indent=indent, allow_nan=False, ensure_ascii=ensure_ascii,
                      default=None if default is None else lambda v: finite(default(v)))
