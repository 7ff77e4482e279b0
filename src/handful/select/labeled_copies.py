"""Unlabeled inputs that are copies of a model's labeled examples: their label is known already.

``handful suggest`` listed a renamed copy of a training photo first (and a training sentence
found in a CSV of unlabeled texts): labeling it again teaches the model nothing. Images count as
copies when their bytes are the same (the embedding cache's content key, which is also the
server's blob digest), texts when they read the same, case and spacing aside (as
``data.duplicates`` groups training copies). Only files of a size some input has are read.

Example:
    >>> known = example_keys(train.items, train.labels, "image")
    >>> copies = labeled_copies(inbox_paths, "image", known)  # {index: "already labeled as ..."}
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence

from ..cache.store import content_key
from ..data.duplicates import normalized_text
from ..data.remote import is_uri


def _size(path: str) -> int | None:
    try:
        return None if is_uri(path) else os.stat(path).st_size
    except OSError:
        return None


def _key(item: str, modality: str) -> str | None:
    """Text: the text as it reads; image: the hash of its bytes (None when it cannot be read)."""
    if modality == "text":
        return normalized_text(item)
    try:
        return content_key(item, "image")
    except OSError:
        return None


def example_keys(items: Sequence[str], labels: Sequence[str], modality: str,
                 names: Sequence[str] | None = None, sizes: Collection[int] | None = None
                 ) -> dict[str, tuple[str, str]]:
    """``{content key: (label, name)}`` of labeled examples (``names`` default: the items).

    ``sizes``: for images, only files of these sizes are read (a copy has its original's size),
    so a large training folder is not hashed for a handful of inputs. The first example of a
    content wins.
    """
    names = list(items) if names is None else list(names)
    known: dict[str, tuple[str, str]] = {}
    for item, label, name in zip(items, labels, names, strict=True):
        if modality == "image" and sizes is not None and _size(item) not in sizes:
            continue
        key = _key(item, modality)
        if key is not None:
            known.setdefault(key, (str(label), str(name)))
    return known


def input_sizes(items: Sequence[str], modality: str) -> set[int] | None:
    """The file sizes of image inputs, for ``example_keys(sizes=...)``; None for texts."""
    if modality != "image":
        return None
    return {s for s in map(_size, items) if s is not None}


def labeled_copies(items: Sequence[str], modality: str, known: Mapping[str, tuple[str, str]]
                   ) -> dict[int, str]:
    """``{index: reason}`` for each of ``items`` whose content is that of a labeled example in
    ``known`` (``example_keys``): "already labeled as bees (copy of train/bees/b1.jpg)"."""
    if not known:
        return {}
    copies = {}
    for i, item in enumerate(items):
        key = _key(item, modality)
        if key is not None and key in known:
            label, name = known[key]
            copies[i] = f"already labeled as {label} (copy of {name})"
    return copies
