"""Read labeled texts from a CSV/TSV file (delimiter sniffed, columns guessed or named); the file's
bytes become rows in ``table_rows``."""

from __future__ import annotations

import csv
import re
import warnings
from collections import Counter
from pathlib import Path

from ..errors import DataError, DataNotFoundError
from .examples import Examples, read_options
from .table_rows import NOT_TABLES, SAVE_AS_CSV, TEXT_EXTENSIONS, is_table_path, read_text_file, table_rows

__all__ = ["LABEL_NAMES", "MAX_TEXT_CHARS", "NOT_TABLES", "SAVE_AS_CSV", "TEXT_EXTENSIONS", "TEXT_NAMES",
           "is_table_path", "read_table", "read_text_file", "warn_label_variants"]

TEXT_NAMES = ("text", "sentence", "review", "content", "body", "message", "document", "title",
              "question", "utterance", "comment", "tweet")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "intent")
MAX_TEXT_CHARS = 20_000
MIN_ROWS_TO_JUDGE_LABELS = 6  # fewer rows than this: too few to tell labels from pieces of texts


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns: a known name (text, label, ...), or a word over a
    column of numbers (``id,phrase`` over ``1,hot soup``: ids, ratings, scores)."""
    lowered = [c.strip().lower() for c in rows[0]]
    known = any(c in TEXT_NAMES or c in LABEL_NAMES or c.endswith("_label") for c in lowered)
    return known or _word_over_numbers(rows)


def _word_over_numbers(rows: list[list[str]]) -> bool:
    """A column whose rows are all numbers but whose first row is a word: the first row is a
    header, not data. Judged on rows as wide as the first (most of them, or it is not a table)."""
    first, sample = rows[0], rows[1:201]
    body = [r for r in sample if len(r) == len(first)]
    if len(first) < 2 or not body or 2 * len(body) < len(sample):
        return False
    return any(first[j].strip() and not _is_number(first[j]) and all(_is_number(r[j]) for r in body)
               for j in range(len(first)))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _warn_first_row_read_as_text(path: Path, rows: list[list[str]]) -> None:
    """Rows of one width >= 2, no column named and none of numbers: a table whose header cannot be
    told from a text. Every row is read; the warning says how to name the text column if it is one."""
    if len(rows) < 2 or len(rows[0]) < 2 or any(len(r) != len(rows[0]) for r in rows):
        return
    if any(all(_is_number(r[j]) for r in rows) for j in range(len(rows[0]))):
        return  # a number where every other row has one: the first row is data
    if not _could_name_columns(rows[0]):
        return  # 'The soup was cold, and the bread stale.': a sentence cut at its comma, not a header
    warnings.warn(f"{path}: its rows have {len(rows[0])} fields and no column is named text (or "
                  f"{', '.join(TEXT_NAMES[1:4])}, ...), so its first row {rows[0][:6]} is read as a text "
                  "like the others. If that row names the columns, pass --text-column NAME.", stacklevel=3)


def _could_name_columns(row: list[str]) -> bool:
    """Whether a row could be a header: every cell a short name (a few words, no sentence end)."""
    cells = [c.strip() for c in row]
    return all(c and len(c) <= 40 and len(c.split()) <= 4 and c[-1] not in ".!?" for c in cells)


def _pick(header: list[str], name: str | None, guesses: tuple[str, ...], what: str, path) -> int:
    lowered = [h.strip().lower() for h in header]
    if name is not None:
        if name.lower() in lowered:
            _warn_twice_named(path, header, lowered, name.lower())
            return lowered.index(name.lower())
        raise DataError(
            f"{path} has no column '{name}'; found columns {header}. "
            f"Pass --{what}-column with one of them."
        )
    for guess in guesses:
        if guess in lowered:
            _warn_twice_named(path, header, lowered, guess)
            return lowered.index(guess)
    raise DataError(
        f"{path}: cannot tell which column holds the {what}; found columns {header}. "
        f"Pass --{what}-column NAME."
    )


def _warn_twice_named(path, header: list[str], lowered: list[str], name: str) -> None:
    if lowered.count(name) > 1:
        column = header[lowered.index(name)].strip()
        warnings.warn(f"{path} has {lowered.count(name)} columns named '{column}'; the first one is "
                      "used. Rename the others to choose another.", stacklevel=4)


def read_table(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    labeled: bool = True,
    max_chars: int | None = MAX_TEXT_CHARS,
) -> Examples:
    """Read ``(text, label)`` rows from a CSV/TSV into Examples with ``modality="text"``.

    A file without a header must have two columns (text then label, or label then text when
    the first column is short and the second long); a headerless .txt that splits only into pieces
    of its sentences (more distinct "labels" than half its rows) is refused as having no labels.
    Rows with nothing in them are skipped like blank lines; empty texts are skipped and listed; texts
    longer than ``max_chars`` (20,000) characters are truncated with a warning (None: kept whole,
    for a caller that cuts and reports them itself).

    Example:
        >>> examples = read_table("reviews.csv", text_column="review", label_column="stars")
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Text table '{path}' does not exist. Give a CSV or TSV file.")
    try:
        rows, starts, delimiter = table_rows(path)
    except csv.Error as err:
        raise DataError(f"Text table '{path}' cannot be read as CSV/TSV ({err}); is it a text file? "
                        "Save it as CSV (UTF-8).") from None
    if not rows:
        raise DataError(f"Text table '{path}' is empty. Add rows of text{' and label' if labeled else ''}.")
    header = _has_header(rows) or bool(text_column or label_column)
    if len(rows) == 1 and _has_header(rows):  # before asking for columns it has no rows of
        raise _nothing_under(path, rows[0], labeled)
    if not header and not labeled:
        _warn_first_row_read_as_text(path, rows)
    if not header and not labeled and delimiter != "\t":
        rows = [[delimiter.join(row)] for row in rows]  # one text per line, commas and all
    text_idx, label_idx, body, offset = _columns(path, rows, text_column, label_column, labeled, delimiter)
    if labeled and text_idx == label_idx:
        raise DataError(f"{path}: column '{rows[0][text_idx].strip()}' cannot be both the text and the "
                        "label. Pass a different --text-column or --label-column.")
    texts, labels, skipped, ids = [], [], [], []
    n_truncated = 0
    width = len(rows[0]) if header else _common_width(rows)
    for i, row in enumerate(body):
        row_id = f"{path.name}:{starts[i + offset]}"
        if len(row) > width == 2:  # for predict as for train: the label (or id) is the other field
            row = _merge_text_fields(row, label_idx if labeled else 1 - text_idx, delimiter)
        if len(row) <= max(text_idx, label_idx if labeled else 0) or (labeled and len(row) != width):
            skipped.append((row_id, f"row has {len(row)} fields, expected {width}"))
            continue
        text = row[text_idx].strip()
        label = row[label_idx].strip() if labeled else ""
        if not text:
            skipped.append((row_id, "empty text"))
            continue
        if labeled and not label:
            skipped.append((row_id, "empty label"))
            continue
        if max_chars is not None and len(text) > max_chars:
            text, n_truncated = text[:max_chars], n_truncated + 1
        texts.append(text)
        labels.append(label)
        ids.append(row_id)
    if n_truncated:
        warnings.warn(f"{path}: {n_truncated} text{'s' if n_truncated > 1 else ''} longer than {max_chars} "
                      f"characters {'were' if n_truncated > 1 else 'was'} truncated.", stacklevel=2)
    if labeled:
        texts, labels, ids, skipped = _number_labels(path, texts, labels, ids, skipped)
        warn_label_variants(path, labels)
    if not texts and not skipped:  # a header named by --text-column, and no row under it
        raise _nothing_under(path, rows[0], labeled)
    if not texts:
        raise DataError(f"Text table '{path}' has no usable rows (all {len(skipped)} were skipped, e.g. "
                        f"{skipped[0][0]}: {skipped[0][1]}). Add rows of text{' and label' if labeled else ''}.")
    return Examples(tuple(texts), tuple(labels), "text", tuple(skipped), str(path), tuple(ids),
                    read_with=read_options(text_column=text_column, label_column=label_column))


def _nothing_under(path: Path, header: list[str], labeled: bool) -> DataError:
    return DataError(f"Text table '{path}' has a header {header[:6]} and nothing under it. Add rows of "
                     f"text{' and label' if labeled else ''} below it.")


def _merge_text_fields(row: list[str], other_idx: int, delimiter: str) -> list[str]:
    """An unquoted text holding the delimiter: every field but the other one (the label) is the text."""
    if other_idx == 0:
        return [row[0], delimiter.join(row[1:])]
    return [delimiter.join(row[:-1]), row[-1]]


def _columns(path, rows, text_column, label_column, labeled, delimiter):
    """(text index, label index, data rows, line offset) for the table."""
    first = rows[0]
    if _has_header(rows) or text_column or label_column:
        _ask_for_both_columns(path, first, text_column, label_column, labeled)
        text_idx = _pick(first, text_column, TEXT_NAMES, "text", path)
        label_idx = _pick(first, label_column, LABEL_NAMES, "label", path) if labeled else -1
        return text_idx, label_idx, rows[1:], 1
    width = _common_width(rows)
    sample = [r for r in rows[:200] if len(r) == width][:50]
    mean_len = [sum(len(r[j]) for r in sample) / len(sample) for j in range(width)]
    if not labeled:
        return int(max(range(width), key=lambda j: mean_len[j])), -1, rows, 0
    splits_lines = width > 1 and delimiter != "\t" and _is_txt(path)
    if splits_lines and width > 2:  # any column could be the labels
        _refuse_split_sentences(path, [[r[j] for r in rows if len(r) == width] for j in range(width)], delimiter)
    if width == 1:
        raise DataError(f"{path} has one text per line and no labels (its first row {first[:1]} has no "
                        "delimiter); training and evaluation need a label per text. Add a label column and "
                        "a first line 'text,label' (rows like 'great soup,positive'); texts alone are for predict.")
    if width != 2:
        raise DataError(
            f"{path} has {width} columns and no 'text' or 'label' among its first row {first[:6]}; "
            "expected a header naming them or 2 columns (text, label). If that row names the columns, "
            "pass --text-column and --label-column with names from it; if it is data, add a first "
            "line naming the columns (the text's 'text', the label's 'label')."
        )
    text_idx = 0 if mean_len[0] >= mean_len[1] else 1
    if splits_lines:  # the labels as they would be read: the shorter column, the text rejoined
        _refuse_split_sentences(path, [[r[0] if text_idx else r[-1] for r in rows if len(r) >= 2]], delimiter)
    _warn_lone_first_label(path, rows, 1 - text_idx)
    return text_idx, 1 - text_idx, rows, 0


def _is_txt(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    return bool(suffixes) and (suffixes[-1] == ".txt" or suffixes == [".txt", ".gz"])


def _refuse_split_sentences(path: Path, candidates: list[list[str]], delimiter: str) -> None:
    """A headerless .txt split at its commas (or ';', '|') where each column that could hold the
    labels has more distinct values than half its rows: sentences cut at their punctuation, not
    texts with labels (labels repeat: ``great soup,positive`` has a few classes). A .txt is one
    text per line to predict and embed, so it is taken for that here, rather than trained on as
    hundreds of one-example classes."""
    columns = [Counter(value.strip() for value in column) for column in candidates]
    labels = min(columns, key=len)  # the column most like labels: the fewest distinct values
    n_rows = sum(labels.values())
    if n_rows < MIN_ROWS_TO_JUDGE_LABELS or 2 * len(labels) <= n_rows:
        return
    shown = [x if len(x) <= 40 else x[:37] + "..." for x, n in labels.items() if n == 1][:2]
    raise DataError(f"{path} looks like one text per line with no labels: split at each '{delimiter}', its "
                    f"{n_rows} rows would give {len(labels)} different labels (e.g. {shown}), pieces of the "
                    "texts; training and evaluation need a label per text. Give a CSV with a first line "
                    "'text,label' and a label after each text (rows like 'great soup,positive'); a .txt of "
                    "texts alone is for predict and embed.")


def _warn_lone_first_label(path, rows: list[list[str]], label_idx: int) -> None:
    """A headerless 2-column table whose first row's label is a label nowhere else, while every
    other label repeats: most likely a header of unknown names (``phrase,verdict``), read as an
    example of a class of its own."""
    labels = Counter(r[label_idx].strip() for r in rows if len(r) == 2)
    first = rows[0][label_idx].strip()
    others = [n for label, n in labels.items() if label != first]
    if labels[first] == 1 and len(others) >= 2 and min(others) >= 2:
        warnings.warn(f"{path}: its first row {rows[0]} may name the columns: '{first}' is a label of no "
                      f"other row. It is read as an example of class '{first}'; if it is a header, pass "
                      f"--text-column {rows[0][1 - label_idx].strip()} --label-column {first}.", stacklevel=4)


def _ask_for_both_columns(path, header: list[str], text_column, label_column, labeled: bool) -> None:
    """A header naming neither the text nor the label (and neither given): ask for both at once."""
    lowered = {h.strip().lower() for h in header}
    if labeled and not (text_column or label_column) and not lowered & {*TEXT_NAMES, *LABEL_NAMES}:
        raise DataError(f"{path}: its first row {header[:6]} names no text or label column; expected "
                        "'text' and 'label' (or sentence, class, ...). Pass --text-column and "
                        "--label-column with names from that row.")


def _common_width(rows: list[list[str]]) -> int:
    """The most common number of fields per row."""
    return Counter(len(r) for r in rows).most_common(1)[0][0]


MISSING = frozenset({"nan", "na", "n/a", "null", "none", "<na>"})  # how exports write an empty number


def _number_labels(path, texts: list[str], labels: list[str], ids: list[str], skipped: list):
    """A label column of numbers, as pandas and R write it: 'nan' (or NA, null) is a missing label,
    skipped, not a class; '1' and '1.0' are one class '1' (a float column beside an int one)."""
    if not labels or not all(_is_number(x) or x.lower() in MISSING for x in labels):
        return texts, labels, ids, skipped
    keep = [i for i, x in enumerate(labels) if x.lower() not in MISSING and float(x) == float(x)]
    if not keep:
        return texts, labels, ids, skipped  # no number at all: 'None', 'NA' are the classes
    kept = set(keep)
    skipped = skipped + [(ids[i], f"missing label ('{labels[i]}')") for i in range(len(labels)) if i not in kept]
    texts, labels, ids = ([seq[i] for i in keep] for seq in (texts, labels, ids))
    whole = {x: re.fullmatch(r"([+-]?\d+)\.0*", x) for x in set(labels)}
    merged = {x: m.group(1) for x, m in whole.items() if m and m.group(1) in whole}
    if merged:
        shown = ", ".join(f"'{x}' as '{y}'" for x, y in sorted(merged.items())[:4])
        warnings.warn(f"{path}: its labels spell the same number two ways; read {shown} (one class each). "
                      "Write every label the same way to silence this.", stacklevel=3)
        labels = [merged.get(x, x) for x in labels]
    return texts, labels, ids, skipped


def warn_label_variants(source: str | Path, labels: list[str]) -> None:
    """Labels that differ only in case or spacing ('Pos' and 'pos') stay two classes, as written:
    the warning names them, since most often it is a typo splitting one class."""
    spellings: dict[str, Counter] = {}
    for label in labels:
        spellings.setdefault(" ".join(label.split()).casefold(), Counter())[label] += 1
    clashes = [c for c in spellings.values() if len(c) > 1]
    if clashes:
        shown = " and ".join(f"'{x}' ({n})" for x, n in clashes[0].most_common())
        warnings.warn(f"{source}: labels {shown} differ only in case or spacing and are read as "
                      f"{len(clashes[0])} classes{f' ({len(clashes)} such groups)' if len(clashes) > 1 else ''}. "
                      "If they are one class, spell them the same.", stacklevel=3)
