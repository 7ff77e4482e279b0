"""Examples from what a Python caller hands ``Classifier.fit``/``evaluate``: a folder or table
(read), Examples (as they are), or a list of image paths or texts with their labels; and the
checks on such lists.

Example:
    >>> examples_from(["hot soup", "cold soup"], ["good", "bad"], {}, None).modality
    'text'
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from ..errors import DataError
from .examples import Examples, as_items
from .images import IMAGE_EXTENSIONS
from .table import warn_label_variants


def examples_from(data, labels: Sequence[str] | None, load_kwargs: dict, modality: str | None) -> Examples:
    """``data`` as Examples: read from a folder or table (with ``load_kwargs``), as given, or built
    from a list of items and their ``labels`` (of ``modality``; guessed when None)."""
    from . import load_examples

    if callable(labels) or isinstance(labels, (str, bytes)) or not isinstance(labels, (Iterable, type(None))):
        raise DataError(f"labels must be a list of class names, one per item; got {type(labels).__name__} "
                        f"{str(labels)[:60]!r}. (A progress callback goes in as progress=...)")
    if labels is None:
        if isinstance(data, Examples):
            return plain_labels(data)
        if isinstance(data, Iterable) and not isinstance(data, (str, bytes, os.PathLike)):
            raise DataError(f"Got a list of {len(list(data))} items without labels. Pass their labels too, "
                            "e.g. fit(paths, labels), or a folder with a sub-folder per class.")
        return load_examples(data, **load_kwargs)
    if isinstance(data, (Examples, str, bytes, os.PathLike)) or load_kwargs:
        raise DataError("labels go with a list of image paths or texts; a folder, table or Examples "
                        "carries its own labels. Drop labels=, or pass a list of items.")
    items, labels = as_items(data), list(labels)
    check_item_types(items)
    odd = next((i for i, label in enumerate(labels) if not isinstance(label, str)), None)
    if odd is not None and _is_missing(labels[odd]):  # str(nan) would make a class 'nan'
        raise DataError(f"labels[{odd}] is missing ({labels[odd]!r}); every item needs a class name. Drop the "
                        "items without a label, e.g. df.dropna(subset=['label']), before fit.")
    if odd is not None:
        raise DataError(f"labels must be strings (class names); labels[{odd}] is {type(labels[odd]).__name__} "
                        f"{labels[odd]!r}, and predictions would come back as strings that never equal "
                        "it. Pass [str(label) for label in labels].")
    items, labels = [str(item) for item in items], [str(label) for label in labels]  # np.str_ -> str
    modality = modality or guess_modality(items)
    warn_label_variants("the list given", labels)
    examples = Examples(tuple(items), tuple(labels), modality, source="the list given")
    return without_empty_texts(examples) if modality == "text" else examples


def without_empty_texts(examples: Examples) -> Examples:
    """``examples`` less its empty or whitespace-only texts, listed as skipped with a warning: a
    table's empty rows are skipped the same way, and an empty text says nothing of its class."""
    empty = {i: "empty text" for i, text in enumerate(examples.items) if not text.strip()}
    if not empty:
        return examples
    first = min(empty)
    warnings.warn(f"{len(empty)} of the {len(examples)} texts given are empty or only whitespace (e.g. "
                  f"{examples.ids[first]}, labelled '{examples.labels[first]}'); they are left out and listed in "
                  "the skipped report, as a table's empty rows are.", stacklevel=5)  # fit's caller
    kept = examples.without(empty)
    check_every_class_left(kept, examples.classes)
    return kept


def plain_labels(examples: Examples) -> Examples:
    """``examples`` with str-subclass labels (``np.str_`` from an array) as plain ``str``, so that
    ``classes_`` and predictions are plain strings whatever the caller built its Examples from."""
    if not any(isinstance(label, str) and type(label) is not str for label in examples.labels):
        return examples
    return replace(examples, labels=tuple(str(label) if isinstance(label, str) else label
                                          for label in examples.labels))


def check_item_types(items: list) -> None:
    """Refuse an item that is neither a path nor a text (a PIL image, an array), before any work."""
    odd = next((i for i, item in enumerate(items) if not isinstance(item, (str, os.PathLike))), None)
    if odd is not None and _is_missing(items[odd]):  # a pandas column's empty cell, not an image
        raise DataError(f"items[{odd}] is missing ({items[odd]!r}), not an image path or a text. Drop the "
                        "empty rows first, e.g. df.dropna(subset=['text']).")
    if odd is not None:
        raise DataError(f"items[{odd}] is a {type(items[odd]).__name__}, not an image path or a text: handful "
                        "reads images from files (its cache keys them by content). Save it first, e.g. "
                        "image.save('x.png'), and pass the path.")


def _is_missing(value) -> bool:
    """None, a float NaN or pandas' NA/NaT: what an empty cell of a DataFrame column becomes."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, float) and value != value


def guess_modality(items: list[str]) -> str:
    """'image' when an item is an existing file, else 'text'; paths that all miss are an error."""
    if any(os.path.isfile(item) for item in items):
        return "image"
    if items and all(Path(item).suffix.lower() in IMAGE_EXTENSIONS for item in items):
        raise DataError(f"None of the {len(items)} items is an existing file (e.g. '{items[0]}'), so they "
                        "would be read as texts, yet they look like image paths. Check the paths (relative "
                        f"ones start at {os.getcwd()}).")
    return "text"


def warn_unusable(items: list, failures: dict[int, str], outcome: str) -> None:
    """Say which items predict could not use (their answers are blanks), as the CLI lists them."""
    if failures:
        i = min(failures)
        warnings.warn(f"{len(failures)} of {len(items)} items could not be used, so their {outcome}: e.g. "
                      f"'{str(items[i])[:80]}': {failures[i]}.", stacklevel=3)


def check_every_class_left(examples: Examples, classes_before: tuple[str, ...]) -> None:
    lost = [c for c in classes_before if c not in set(examples.labels)]
    if lost:
        first = next(((p, r) for p, r in examples.skipped if f"/{lost[0]}/" in p), examples.skipped[0]) \
            if examples.skipped else None
        example = f", e.g. {first[0]}: {first[1]}" if first else ""
        raise DataError(f"Class '{lost[0]}' in {examples.source} has no usable examples left "
                        f"({len(examples.skipped)} skipped{example}). "
                        "Add at least 1 readable example per class.")
