"""Read labeled texts from a CSV/TSV file (delimiter sniffed, columns guessed or named)."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

from ..errors import DataError, DataNotFoundError
from .examples import Examples

TEXT_EXTENSIONS = frozenset({".csv", ".tsv", ".txt", ".tab"})
TEXT_NAMES = ("text", "sentence", "review", "content", "body", "message", "document", "title")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "intent")
MAX_TEXT_CHARS = 20_000


def is_table_path(path: str | Path) -> bool:
    """True for a file whose extension marks a text table."""
    return Path(path).suffix.lower() in TEXT_EXTENSIONS


def read_text_file(path: Path) -> str:
    """File contents as text: UTF-8 (BOM removed), else latin-1 with a warning."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        warnings.warn(f"{path} is not valid UTF-8; read it as latin-1.", stacklevel=3)
        return raw.decode("latin-1")


def _sniff_delimiter(sample: str, path: Path) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if sample.count("\t") > sample.count(",") else ","


def _rows(path: Path) -> list[list[str]]:
    text = read_text_file(path)
    delimiter = _sniff_delimiter(text[:20_000], path)
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]


def _has_header(first: list[str]) -> bool:
    lowered = [c.strip().lower() for c in first]
    return any(c in TEXT_NAMES or c in LABEL_NAMES for c in lowered)


def _pick(header: list[str], name: str | None, guesses: tuple[str, ...], what: str, path) -> int:
    lowered = [h.strip().lower() for h in header]
    if name is not None:
        if name.lower() in lowered:
            return lowered.index(name.lower())
        raise DataError(
            f"{path} has no column '{name}'; found columns {header}. "
            f"Pass --{what}-column with one of them."
        )
    for guess in guesses:
        if guess in lowered:
            return lowered.index(guess)
    raise DataError(
        f"{path}: cannot tell which column holds the {what}; found columns {header}. "
        f"Pass --{what}-column NAME."
    )


def read_table(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    labeled: bool = True,
) -> Examples:
    """Read ``(text, label)`` rows from a CSV/TSV into Examples with ``modality="text"``.

    A file without a header must have two columns (text then label, or label then text when
    the first column is short and the second long). Empty texts are skipped and listed; texts
    longer than 20,000 characters are truncated with a warning.

    Example:
        >>> examples = read_table("reviews.csv", text_column="review", label_column="stars")
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Text table '{path}' does not exist. Give a CSV or TSV file.")
    rows = _rows(path)
    if not rows:
        raise DataError(f"Text table '{path}' is empty. Add rows of text and label.")
    text_idx, label_idx, body, offset = _columns(path, rows, text_column, label_column, labeled)
    texts, labels, skipped, ids = [], [], [], []
    n_truncated = 0
    for i, row in enumerate(body):
        row_id = f"{path.name}:{i + 1 + offset}"
        if len(row) <= max(text_idx, label_idx if labeled else 0):
            skipped.append((row_id, f"row has {len(row)} fields, expected {len(rows[0])}"))
            continue
        text = row[text_idx].strip()
        label = row[label_idx].strip() if labeled else ""
        if not text:
            skipped.append((row_id, "empty text"))
            continue
        if labeled and not label:
            skipped.append((row_id, "empty label"))
            continue
        if len(text) > MAX_TEXT_CHARS:
            text, n_truncated = text[:MAX_TEXT_CHARS], n_truncated + 1
        texts.append(text)
        labels.append(label)
        ids.append(row_id)
    if n_truncated:
        warnings.warn(f"{path}: {n_truncated} texts longer than {MAX_TEXT_CHARS} characters "
                      "were truncated.", stacklevel=2)
    if not texts:
        raise DataError(f"Text table '{path}' has no usable rows ({len(skipped)} skipped).")
    return Examples(tuple(texts), tuple(labels), "text", tuple(skipped), str(path), tuple(ids))


def _columns(path, rows, text_column, label_column, labeled):
    """(text index, label index, data rows, line offset) for the table."""
    first = rows[0]
    if _has_header(first) or text_column or label_column:
        text_idx = _pick(first, text_column, TEXT_NAMES, "text", path)
        label_idx = _pick(first, label_column, LABEL_NAMES, "label", path) if labeled else -1
        return text_idx, label_idx, rows[1:], 1
    if not labeled:
        return 0, -1, rows, 0
    if len(first) != 2:
        raise DataError(
            f"{path} has no header and {len(first)} columns {first[:4]}; expected 2 "
            "(text, label). Add a header row with 'text' and 'label' columns."
        )
    sample = rows[: min(len(rows), 50)]
    mean_len = [sum(len(r[j]) for r in sample if len(r) > j) / len(sample) for j in (0, 1)]
    text_idx = 0 if mean_len[0] >= mean_len[1] else 1
    return text_idx, 1 - text_idx, rows, 0
