"""What ``Classifier`` makes of its parameters at fit time (its ``__init__`` only stores them, as
scikit-learn's rule asks): the feature cache that follows ``cache=``, and the labels of a list
given to ``fit``, where an empty one is skipped as a table's empty label is.

Example:
    >>> cache = CacheSetting()
    >>> cache.resolve(False) is cache.resolve(False)   # made once per setting
    True
"""

from __future__ import annotations

import os

from .cache import FeatureCache
from .data import Examples
from .data.items import check_every_class_left
from .errors import warn_caller
from .inputs import feature_cache_from


class CacheSetting:
    """The FeatureCache for the current ``cache=`` value, made again when the value changes
    (``set_params(cache=...)``), so that one made on first use never outlives its setting."""

    def __init__(self) -> None:
        self._made: tuple[object, FeatureCache] | None = None  # (setting, cache made from it)

    def resolve(self, setting: FeatureCache | str | os.PathLike | bool | None) -> FeatureCache:
        """The cache ``setting`` names (``inputs.feature_cache_from``), the same one while it holds."""
        if self._made is None or not _same(self._made[0], setting):
            self._made = (setting, feature_cache_from(setting))
        return self._made[1]


def _same(old: object, new: object) -> bool:
    """The same setting: the same object, or an equal path or flag (``type`` too: 1 is not True)."""
    return old is new or (type(old) is type(new) and not isinstance(new, FeatureCache) and old == new)


def without_empty_labels(examples: Examples) -> Examples:
    """``examples`` less the items whose label is empty or only whitespace, listed as skipped
    ("empty label") with a warning, as ``data.table`` skips a row with an empty label: a blank
    label names no class, and a class named '' would show as a blank in every output."""
    empty = {i: "empty label" for i, label in enumerate(examples.labels) if not str(label).strip()}
    if not empty:
        return examples
    first = min(empty)
    warn_caller(f"{len(empty)} of the {len(examples)} labels given are empty or only whitespace (e.g. "
                  f"labels[{first}] = {examples.labels[first]!r}, for {examples.ids[first]}); those items are "
                  "left out and listed in the skipped report, as a table's rows with an empty label are. "
                  "Give every item a class name.")
    kept = examples.without(empty)
    check_every_class_left(kept, tuple(c for c in examples.classes if str(c).strip()))
    return kept
