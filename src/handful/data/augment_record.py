"""Which images of a ``handful augment`` output are copies of one original, from its augment.json.

An augmented copy is not byte-identical to its original, so the copy check by content misses it;
yet a copy in a validation fold and its original in the training folds flatter every
cross-validated score (nearest neighbours give the label away). ``handful augment`` records the
source of each copy in ``augment.json`` at the root of its output; this module reads that record
so that ``duplicate_groups`` keeps each original with its copies.

A record the user edited degrades gracefully: files it names that are gone, renamed or moved are
simply not matched (each such image is a group of its own, as without a record), and a record
that cannot be read is ignored.

Example:
    >>> families = augment_families(scan_folder("photos-aug"))
    >>> families.ids      # (n,) one id per original and its copies; -1: not in the record
    >>> families.n_copies # augmented copies found beside their original (or each other)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .examples import Examples

RECORD_FILE = "augment.json"  # augment.offline.MANIFEST_FILE (augment imports data, not the reverse)


@dataclass(frozen=True)
class AugmentFamilies:
    """The families of an augmented data set: ``ids`` (n,) one per original (its copies share it),
    -1 for an example the record does not name; ``is_copy`` (n,) True for augmented copies."""

    ids: np.ndarray
    is_copy: np.ndarray
    record: str  # the augment.json read

    @property
    def n_copies(self) -> int:
        """Augmented copies that share a family with another example (a lone copy changes nothing)."""
        ids = self.ids[self.is_copy]
        sizes = np.bincount(self.ids[self.ids >= 0])
        return int(np.sum(sizes[ids] > 1)) if len(ids) else 0


def augment_families(examples: Examples) -> AugmentFamilies | None:
    """The families recorded in the augment.json of ``examples.source`` (or of its parent, when it
    is a split such as ``train/``); None for texts, without a readable record, or when the record
    names none of the examples."""
    if examples.modality != "image" or not examples.source:
        return None
    found = _read_record(Path(examples.source))
    if found is None:
        return None
    root, entries = found
    family: dict[str, tuple[int, bool]] = {}
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        copies = entry.get("augmented") if isinstance(entry.get("augmented"), list) else []
        names = [(entry.get("source"), False)] + [(name, True) for name in copies]
        for name, is_copy in names:
            if isinstance(name, str) and name:
                family[_real(root / name)] = (k, is_copy)
    matched = [family.get(_real(item), (-1, False)) for item in examples.items]
    ids = np.array([k for k, _ in matched], dtype=np.int64)
    if not (ids >= 0).any():
        return None
    return AugmentFamilies(ids, np.array([c for _, c in matched], dtype=bool), str(root / RECORD_FILE))


def _read_record(source: Path) -> tuple[Path, list] | None:
    """``(root, files)`` of the first readable augment.json in ``source`` or its parent."""
    for root in (source, source.parent):
        path = root / RECORD_FILE
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent, unreadable or not JSON: no record
            continue
        if isinstance(doc, dict) and isinstance(doc.get("files"), list):
            return root, doc["files"]
    return None


def _real(path: str | Path) -> str:
    """One spelling per file: the record's root-relative names and the scanned paths meet here."""
    return os.path.realpath(path)


def merge_families(groups: np.ndarray, families: AugmentFamilies) -> np.ndarray:
    """``groups`` (n,) with the groups of each family's examples joined into one, renumbered by
    first occurrence (a family and a byte-identical copy of one of its images: one group)."""
    parent = list(range(int(groups.max()) + 1))

    def find(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    first: dict[int, int] = {}
    for group, fam in zip(groups.tolist(), families.ids.tolist()):
        if fam < 0:
            continue
        if fam in first:
            parent[find(group)] = find(first[fam])
        else:
            first[fam] = group
    index: dict[int, int] = {}
    return np.array([index.setdefault(find(g), len(index)) for g in groups.tolist()], dtype=np.int64)
