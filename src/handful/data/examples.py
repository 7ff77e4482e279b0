"""Examples: the labeled items of a data set, plus what was skipped and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

Skipped = tuple[str, str]  # (path or row, reason)


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
    ids: tuple[str, ...] = field(default=())  # display names (paths relative to source, row numbers)

    def __post_init__(self) -> None:
        if len(self.items) != len(self.labels):
            raise ValueError("items and labels must have the same length")
        if not self.ids:
            object.__setattr__(self, "ids", tuple(self.items) if self.modality == "image"
                               else tuple(f"row {i + 1}" for i in range(len(self.items))))

    def __len__(self) -> int:
        return len(self.items)

    @property
    def classes(self) -> tuple[str, ...]:
        """Sorted distinct labels."""
        return tuple(sorted(set(self.labels)))

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
        """JSON-ready summary: counts per class and the skipped list."""
        return {
            "source": self.source,
            "modality": self.modality,
            "n": len(self),
            "classes": list(self.classes),
            "counts": self.counts(),
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }
