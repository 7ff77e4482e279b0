"""Streaming batch work over huge folders: batches in, rows written as they finish.

Everything here holds O(batch) arrays: the listing is a list of path strings, results go to
disk batch by batch (a CSV of predictions, or a ``.npy`` of embeddings plus an index), and a
re-run resumes by skipping what the output already holds.

``Results`` is the shape every producer yields, locally or from Ray: ``(indices, values,
failures)`` with ``indices`` positions in the work list, ``values`` one row per index
(embeddings or probabilities) and ``failures`` ``{position: reason}`` for unusable items.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..backbones.base import Backbone
from ..backbones.stream import iter_embeddings
from ..cache import FeatureCache
from ..data import list_images, read_table
from ..data.table import is_table_path
from ..errors import DataError

CHUNK = 512  # items per cache round trip: bounded memory for any number of files
Results = tuple[list[int], np.ndarray, dict[int, str]]


def list_inputs(modality: str, inputs: Sequence[str], text_column: str | None = None,
                reader: str = "This model classifies") -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(items, display ids, skipped) for image files/folders, or texts / a text table.

    Image files are listed without opening them (decoding reports bad files later), so
    listing 100k files costs a directory walk and a list of path strings. ``reader`` names
    what reads the inputs in an error, completed by the modality: "This model classifies"
    (``predict``), "Backbone 'minilm' embeds" (``embed``, where no model is involved).
    """
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)  # one file, folder or text
    if modality == "image":
        if inputs and all(is_table_path(x) and os.path.isfile(x) for x in inputs):
            raise DataError(f"{reader} images; '{inputs[0]}' is a table of texts. Give "
                            "image files or folders.")
        _check_text_column_applies(modality, inputs, text_column)
        items, skipped = list_images(inputs, check=False)
        return items, items, skipped
    if is_text_table(inputs):
        table = read_table(inputs[0], text_column=text_column, labeled=False)
        return list(table.items), list(table.ids), list(table.skipped)
    _check_no_table_names(inputs)
    folder = next((x for x in inputs if x.strip() and os.path.isdir(x)), None)  # ("" would be ".")
    if folder is not None:
        raise DataError(f"{reader} texts; '{folder}' is a folder. Give a CSV/TSV of texts, "
                        "or the texts themselves.")
    _check_text_column_applies(modality, inputs, text_column)
    texts = [(text, f"text {i + 1}") for i, text in enumerate(inputs)]
    return ([t for t, _ in texts if t.strip()], [i for t, i in texts if t.strip()],
            [(i, "empty text") for t, i in texts if not t.strip()])


def _check_text_column_applies(modality: str, inputs: Sequence[str], text_column: str | None) -> None:
    """--text-column picks a column of one text table: for images or typed texts it would be ignored."""
    if text_column is None:
        return
    what = ("these inputs are images" if modality == "image"
            else "the inputs here are the texts themselves, not one CSV/TSV file")
    raise DataError(f"--text-column names a column of a CSV/TSV table of texts, but {what}, so it would "
                    "be ignored. Drop --text-column.")


def _check_no_table_names(inputs: Sequence[str]) -> None:
    """Texts that name a table (a missing file, or one of several) are a mistake, not texts to classify."""
    for x in inputs:
        if is_table_path(x) and not any(c.isspace() for c in x):
            if not os.path.isfile(x):
                raise DataError(f"Text table '{x}' does not exist. Give an existing CSV/TSV file, or the texts "
                                "themselves.")
            raise DataError(f"'{x}' is one of {len(inputs)} inputs, but one CSV/TSV of texts is read at a "
                            "time. Run the command once per table, or give only texts.")


def is_text_table(inputs: Sequence[str]) -> bool:
    """Whether ``inputs`` of a text model name one CSV/TSV file (else they are the texts themselves)."""
    return len(inputs) == 1 and is_table_path(inputs[0]) and os.path.isfile(inputs[0])


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on other C libraries (musl, macOS, Windows)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Give memory freed by the last batch back to the OS.

    glibc raises its mmap threshold after large frees, so the next forward pass's tensors
    (tens of MB) come from the heap, and batches of changing size leave free holes that
    are never returned: peak RSS of ``predict`` grew with the number of images (1.26x from
    2k to 20k). ``malloc_trim(0)`` after each batch costs ~15 ms and keeps it flat (1.04x).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _released(results: Iterator[Results]) -> Iterator[Results]:
    for result in results:
        release_freed_memory()
        yield result


def _offset(results: Iterator[Results], offset: int) -> Iterator[Results]:
    for indices, values, failures in results:
        yield [offset + i for i in indices], values, {offset + i: r for i, r in failures.items()}


def iter_embedding_results(backbone: Backbone, items: Sequence[str], cache: FeatureCache | None,
                           batch_size: int = 32) -> Iterator[Results]:
    """Embeddings batch by batch: through the cache in chunks, or straight from the backbone
    (``cache=None``), with decoding overlapped with the forward pass either way."""
    if cache is None or not cache.enabled:
        yield from _released(iter_embeddings(backbone, items, batch_size))
        return
    for start in range(0, len(items), CHUNK):
        embeddings, failures = cache.get_or_compute(backbone, items[start:start + CHUNK], batch_size)
        ok = [i for i in range(len(embeddings)) if i not in failures]
        release_freed_memory()
        yield from _offset(iter([(ok, embeddings[ok], failures)]), start)


def iter_predictions(predictor, items: Sequence[str], batch_size: int = 32,
                     familiarity: bool = False) -> Iterator[Results]:
    """Probabilities batch by batch for a Classifier (torch) or an OnnxClassifier. With
    ``familiarity`` (a model ``familiarity_of`` finds data in), each row ends with one more value,
    the input's familiarity, computed from the same embeddings (``split_familiarity`` parts them)."""
    if hasattr(predictor, "iter_proba"):  # OnnxClassifier
        yield from _released(predictor.iter_proba(items, batch_size))
        return
    backbone = predictor.backbone_for(predictor.modality_)
    cache = None if predictor.cache is False else predictor._feature_cache()
    n_classes = len(predictor.classes_)
    for indices, embeddings, failures in iter_embedding_results(backbone, items, cache, batch_size):
        proba = (predictor.head_.predict_proba(embeddings) if indices
                 else np.zeros((0, n_classes)))
        yield indices, with_familiarity(proba, predictor.familiarity_ if familiarity else None, embeddings), failures


def familiarity_of(predictor):
    """The ``Familiarity`` of a predictor's training examples, or None: an OnnxClassifier keeps none,
    nor does a model saved before handful kept them or trained on fewer than 20 examples."""
    return None if hasattr(predictor, "iter_proba") else getattr(predictor, "familiarity_", None)


def with_familiarity(proba: np.ndarray, familiarity, embeddings: np.ndarray) -> np.ndarray:
    """``proba`` (n, n_classes) with the familiarity of each embedding (n, dim) as one more column
    (``proba`` as it is when ``familiarity`` is None)."""
    if familiarity is None:
        return proba
    scores = familiarity.scores(embeddings) if len(embeddings) else np.zeros(0)
    return np.column_stack([proba, scores])


def split_familiarity(values: np.ndarray, familiarity: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(probabilities, familiarity scores or None) of a batch's values (``with_familiarity``)."""
    return (values[:, :-1], values[:, -1]) if familiarity else (values, None)


def top_k(proba: np.ndarray, classes, k: int) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable (class, probability) pairs of each row, best first."""
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    return [[(str(classes[j]), float(row[j])) for j in idx] for row, idx in zip(proba, order)]


def summarize_skipped(skipped: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Counts per kind of reason ("truncated image", "not an image", ...), most common first."""
    counts: dict[str, int] = {}
    for _, reason in skipped:
        kind = reason.split(" (", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
