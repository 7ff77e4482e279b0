"""Examples: the labeled items of a data set, plus what was skipped and why."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import DataError

Skipped = tuple[str, str]  # (path or row, reason)
MODALITIES = ("image", "text")
ARTICLE = {"image": "an", "text": "a"}  # "Choose an image backbone"


def as_items(items, what: str = "items") -> list[str]:
    """``items`` (image paths or texts) as a list. A lone string is refused: iterating it would
    make one "item" per character."""
    if isinstance(items, (str, bytes)) or hasattr(items, "__fspath__"):
        shown = str(items)[:60]
        raise DataError(f"{what} must be a list of image paths or texts; got one string ('{shown}'). "
                        f"Wrap it in a list: ['{shown}'].")
    return list(items)


def as_path(source, what: str = "Data") -> Path:
    """``source`` (a str or path-like) as a Path; anything else is refused in one line."""
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(f"{what} must be a path (a str or pathlib.Path); got {type(source).__name__} "
                        f"{str(source)[:60]!r}.")
    return Path(source)


def check_modality(modality: str) -> str:
    if modality not in MODALITIES:
        raise DataError(f"Unknown modality '{modality}'. Use 'image' or 'text'.")
    return modality


def read_options(nested: bool = False, text_column: str | None = None,
                 label_column: str | None = None) -> tuple[tuple[str, str | bool], ...]:
    """The given options of ``load_examples`` that change what it reads, for ``Examples.read_with``:
    ``load_examples(source, **dict(read_with))`` reads the same examples again (defaults left out)."""
    given = {"nested": nested or None, "text_column": text_column, "label_column": label_column}
    return tuple((name, value) for name, value in given.items() if value is not None)


@dataclass(frozen=True)
class Examples:
    """Labeled items (image paths or texts) with the list of skipped inputs.

    Attributes:
        items: image file paths (``modality == "image"``) or texts (``"text"``).
        labels: one class name per item.
        modality: ``"image"`` or ``"text"``.
        skipped: ``(path, reason)`` for every input left out.
        source: where the examples came from (a folder or a file), for messages.
    """

    items: tuple[str, ...]
    labels: tuple[str, ...]
    modality: str = "image"
    skipped: tuple[Skipped, ...] = ()
    source: str = ""
    # display names: image paths, a table's "file:line" (lines from 1, as editors number them), or
    # "items[i]" for texts from a Python list (indices from 0, as Python numbers them)
    ids: tuple[str, ...] = field(default=())
    # the reading options that changed what the examples are (``read_options``), so that a later
    # command re-reading ``source`` (``suggest`` looking for copies of training examples) reads the same
    read_with: tuple[tuple[str, str | bool], ...] = ()

    def __post_init__(self) -> None:
        if len(self.items) != len(self.labels):
            raise DataError(f"Examples need one label per item; got {len(self.items)} items and "
                            f"{len(self.labels)} labels.")
        check_modality(self.modality)
        if not self.ids:
            object.__setattr__(self, "ids", tuple(self.items) if self.modality == "image"
                               else tuple(f"items[{i}]" for i in range(len(self.items))))

    def __len__(self) -> int:
        return len(self.items)

    @property
    def classes(self) -> tuple[str, ...]:
        """Sorted distinct labels."""
        return tuple(sorted(set(self.labels)))

    def check_classes(self, purpose: str, least: int = 2) -> Examples:
        """These examples, if they hold at least ``least`` classes (each with an example)."""
        if len(self.classes) < least:
            where = f" in {self.source}" if self.source else ""
            raise DataError(f"{purpose} needs at least {least} classes; the examples{where} hold "
                            f"{len(self.classes)} ({list(self.classes)}). Add examples of more classes.")
        return self

    def counts(self) -> dict[str, int]:
        """Number of examples per class, in class order."""
        counter = Counter(self.labels)
        return {c: counter[c] for c in self.classes}

    def subset(self, indices: np.ndarray | list[int]) -> Examples:
        """The examples at ``indices`` (same skipped list)."""
        idx = [int(i) for i in indices]
        return replace(
            self,
            items=tuple(self.items[i] for i in idx),
            labels=tuple(self.labels[i] for i in idx),
            ids=tuple(self.ids[i] for i in idx),
        )

    def without(self, bad: dict[int, str]) -> Examples:
        """Drop the items at the keys of ``bad`` and record them as skipped with their reason."""
        keep = [i for i in range(len(self)) if i not in bad]
        kept = self.subset(keep)
        extra = tuple((self.ids[i], reason) for i, reason in sorted(bad.items()))
        return replace(kept, skipped=self.skipped + extra)

    def summary(self) -> dict:
        """JSON-ready summary: counts per class and the skipped list; ``source_path``, the source's
        absolute path when it is a local folder or file (``source`` is as given, maybe relative to
        a working folder a later command does not share); ``read_with``, the options it was read
        with (``{"nested": true}``, ``{"text_column": "body"}``), when any was given."""
        summary = {
            "source": self.source,
            "modality": self.modality,
            "n": len(self),
            "classes": list(self.classes),
            "counts": self.counts(),
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }
        if self.source and os.path.exists(self.source):
            summary["source_path"] = os.path.abspath(self.source)
        if self.read_with:
            summary["read_with"] = dict(self.read_with)
        return summary
