"""Copies among examples: byte-identical images, and texts repeated (case and spacing aside).

A copy in a training fold and its twin in the validation fold flatter every cross-validated
score, so each split that scores on training examples keeps a group of copies on one side.
An example without a copy is a group of its own.

Example:
    >>> groups = duplicate_groups(examples)          # (n,) group index per example
    >>> members = group_members(groups)              # indices of each group's examples
    >>> y_groups = labels[representatives(members)]  # split these, then expand with members_of
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .augment_record import AugmentFamilies, augment_families, merge_families
from .examples import Examples
from .remote import is_uri


def normalized_text(text: str) -> str:
    """The text with case and runs of whitespace aside: two texts that read the same."""
    return " ".join(str(text).split()).lower()


def duplicate_groups(examples: Examples) -> np.ndarray:
    """Group index (n,) of each example, numbered by first occurrence: images by a hash of
    their bytes (the embedding cache's content key), texts by ``normalized_text``. In the output
    of ``handful augment``, each original and its augmented copies (named in its augment.json)
    are one group too: a copy is not byte-identical, yet it gives its original's label away."""
    groups = _content_groups(examples)
    families = augment_families(examples)
    return groups if families is None else merge_families(groups, families)


def _content_groups(examples: Examples) -> np.ndarray:
    """Group index (n,) by content alone (``duplicate_groups`` without the augment record)."""
    if examples.modality == "text":
        keys: list = [normalized_text(t) for t in examples.items]
    else:
        keys = _image_keys(examples.items)
    index: dict = {}
    return np.array([index.setdefault(key, len(index)) for key in keys], dtype=np.int64)


def _image_keys(paths: Sequence[str]) -> list:
    """The content key of each file that shares its size with another file; files of a size
    of their own (most of them), bucket objects and unreadable files are keyed by position."""
    from ..cache.store import content_key  # cache imports data: import on use

    sizes: list[int | None] = []
    for path in paths:
        try:
            sizes.append(None if is_uri(path) else os.stat(path).st_size)
        except OSError:
            sizes.append(None)
    shared = Counter(s for s in sizes if s is not None)
    keys: list = []
    for i, (path, size) in enumerate(zip(paths, sizes)):
        try:
            keys.append(content_key(path, "image") if size is not None and shared[size] > 1 else i)
        except OSError:
            keys.append(i)
    return keys


def has_copies(groups: np.ndarray | None) -> bool:
    """True when some group holds more than one example."""
    return groups is not None and len(np.unique(groups)) < len(groups)


def group_members(groups: np.ndarray) -> list[np.ndarray]:
    """The example indices of each group (ascending), groups in order of first occurrence."""
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    ordered = rank[inverse.ravel()]
    by_group = np.argsort(ordered, kind="stable")
    return np.split(by_group, np.cumsum(np.bincount(ordered))[:-1])


def representatives(members: list[np.ndarray]) -> np.ndarray:
    """The first example of each group (n_groups,): split these, then expand with members_of."""
    return np.array([m[0] for m in members], dtype=np.int64)


def members_of(group_indices: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """The sorted example indices of the groups at ``group_indices``."""
    chosen = [members[g] for g in np.asarray(group_indices, dtype=np.int64)]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)


def copies_summary(examples: Examples, groups: np.ndarray) -> dict | None:
    """``{"n_copies", "n_groups", "n_conflicting"}`` for the train report; None without copies.

    ``n_copies``: examples that repeat an earlier one; ``n_groups``: groups of 2+ examples;
    ``n_conflicting``: those filed under more than one label.
    """
    if not has_copies(groups):
        return None
    families = augment_families(examples)
    content = groups if families is None else _content_groups(examples)
    members = [m for m in group_members(content) if len(m) > 1]
    summary = {"n_copies": int(len(content) - len(np.unique(content))), "n_groups": len(members),
               "n_conflicting": len(_conflicts(examples, members))}
    if families is not None:  # kept with their originals (augment.json), not byte-identical
        summary["n_augmented_copies"] = families.n_copies
    return summary


def copies_warning(examples: Examples, groups: np.ndarray) -> str | None:
    """One message on the copies (None without copies): how many, an example, and one
    filed under two labels if any; and how many augmented copies are kept with their originals."""
    if not has_copies(groups):
        return None
    families = augment_families(examples)
    if families is None:
        return _content_copies_warning(examples, groups)
    content = _content_groups(examples)
    messages = [_content_copies_warning(examples, content) if has_copies(content) else None,
                _augmented_copies_note(examples, families)]
    return " ".join(m for m in messages if m) or None


def _augmented_copies_note(examples: Examples, families: AugmentFamilies) -> str | None:
    """"24 augmented copies in DIR are kept with their originals in cross-validation (...)"."""
    n = families.n_copies
    if not n:
        return None
    with_original = set(families.ids[~families.is_copy & (families.ids >= 0)].tolist())
    lone = set(families.ids[families.is_copy].tolist()) - with_original  # --no-originals
    kept = ("with their originals" if not lone else "with their originals (or, where the original "
            "is not in the data, with the other copies of it)")
    return (f"{n} augmented cop{'y' if n == 1 else 'ies'} in {examples.source or 'the data'} "
            f"{'is' if n == 1 else 'are'} kept {kept} in cross-validation (augment.json names the "
            "original of each).")


def _content_copies_warning(examples: Examples, groups: np.ndarray) -> str:
    members = [m for m in group_members(groups) if len(m) > 1]
    conflicts = _conflicts(examples, members)
    n_copies, source = len(groups) - len(np.unique(groups)), examples.source or "the data"
    if examples.modality == "text":
        shown = _short(normalized_text(examples.items[members[0][0]]))
        copies = (f"{n_copies} text(s) in {source} repeat another (case and spacing aside, e.g. "
                  f"'{shown}'); they are kept together in cross-validation.")
        if not conflicts:
            return copies
        text = _short(normalized_text(examples.items[conflicts[0][0]]))
        return (f"{len(conflicts)} text(s) in {source} appear under more than one label (e.g. "
                f"'{text}': {', '.join(_labels(examples, conflicts[0]))}). Keep one label per text "
                f"or remove the copies. {copies}")
    conflicting = {int(m[0]) for m in conflicts}
    first = next((m for m in members if int(m[0]) not in conflicting), members[0])
    message = (f"{n_copies} image(s) in {source} are byte-identical copies of another (e.g. "
               f"{_name(examples, first[0])} = {_name(examples, first[1])}); they are kept "
               "together in cross-validation.")
    if conflicts:
        names = sorted(_name(examples, i) for i in conflicts[0])
        message += (f" {len(conflicts)} group(s) of copies are filed under more than one label "
                    f"(e.g. {' = '.join(names)}: {', '.join(_labels(examples, conflicts[0]))}). "
                    "Keep one label per image or remove the copies.")
    return message


def _conflicts(examples: Examples, members: list[np.ndarray]) -> list[np.ndarray]:
    return [m for m in members if len(_labels(examples, m)) > 1]


def _labels(examples: Examples, indices: np.ndarray) -> list[str]:
    return sorted({str(examples.labels[i]) for i in indices})


def _name(examples: Examples, i: int) -> str:
    """An image's path relative to the data folder (its full path when outside it)."""
    try:
        return Path(examples.items[i]).relative_to(examples.source).as_posix()
    except ValueError:
        return examples.ids[i]


def _short(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:57]}..."
