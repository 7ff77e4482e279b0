"""Add uploaded examples to a project: images, zips of class folders, texts, text tables.

Each bad input is skipped and listed with its reason; the rest go in. A file already in the
project (same bytes, any name) is reported as a duplicate, not stored twice.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..cache.store import content_key
from ..data import Examples, is_table_path, read_table
from ..data.table import MAX_TEXT_CHARS
from ..errors import DataError
from .catalog import Catalog, clean_name
from .notices import collected_warnings
from .uploads import (
    Limits,
    check_image_bytes,
    format_size,
    image_extension,
    read_class_zip,
    sanitize_filename,
    sniffed_extension,
)


@dataclass
class IngestReport:
    """What an upload added, what it already had, and what it skipped (with reasons)."""

    added: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    truncated: list[dict] = field(default_factory=list)  # texts cut to the length limit (kept, shorter)
    warnings: list[str] = field(default_factory=list)  # as `handful train` warns, naming the upload
    relabels_dropped: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (kept, asked): names

    def record(self, example: dict, created: bool, name: str, label: str) -> None:
        """An added example, or a duplicate named by the class it is in (not the one asked,
        ``label``): ``example`` is the stored row, as ``Catalog.add_example_row`` returned it."""
        entry = {"id": example["id"], "name": name, "label": example["label"]}
        (self.added if created else self.duplicates).append(entry)
        if not created and example["label"] != label:
            self.relabels_dropped.setdefault((example["label"], label), []).append(name)

    def to_json(self) -> dict:
        return {"added": self.added, "duplicates": self.duplicates, "skipped": self.skipped,
                "truncated": self.truncated, "n_added": len(self.added),
                "n_duplicates": len(self.duplicates), "n_skipped": len(self.skipped),
                "n_truncated": len(self.truncated),
                "warnings": self.warnings + [_dropped_label(kept, asked, names) for (kept, asked), names
                                             in self.relabels_dropped.items()]}


def _dropped_label(kept: str, asked: str, names: list[str]) -> str:
    """The warning for uploads the project already had under another class: the first class stays."""
    if len(names) == 1:
        return (f"'{names[0]}' is already an example of class '{kept}' and stays there; its label "
                f"'{asked}' in this upload was dropped. Move it to '{asked}' if that is right.")
    return (f"{len(names)} uploads are already examples of class '{kept}' (e.g. '{names[0]}') and stay "
            f"there; their label '{asked}' in this upload was dropped. Move them to '{asked}' if that "
            "is right.")


def _check_modality(project: dict, modality: str) -> None:
    if project["modality"] != modality:
        raise DataError(f"Project '{project['name']}' holds {project['modality']}s; this upload "
                        f"holds {modality}s. Create a project of {modality}s for them.")


def add_image(catalog: Catalog, project: dict, name: str, data: bytes, label: str,
              limits: Limits, report: IngestReport) -> None:
    """Validate one image and store it (content-addressed) as an example of ``label``."""
    name = sanitize_filename(name)
    # a file named without an image extension ('photo') is stored by what it holds, as /predict takes it
    ext = image_extension(name) or sniffed_extension(data)
    suffix = Path(name).suffix
    if ext is not None:
        reason = check_image_bytes(data, limits)
    elif suffix:
        reason = f"not an image file (extension '{suffix}')"
    else:  # why its content is not one: empty, unreadable, or a format handful does not store
        reason = check_image_bytes(data, limits) or "not an image in a format handful stores (JPEG, PNG, ...)"
    if reason:
        report.skipped.append({"name": name, "reason": reason})
        return
    with catalog.blob_lock:
        digest = catalog.blobs.put(data, ext)
        try:
            example, created = catalog.add_example_row(project["id"], label, digest, name, ext=ext)
        except BaseException:  # the project deleted mid-upload, say: no row will reference it
            catalog.remove_blob_if_unused(digest, ext)
            raise
    report.record(example, created, name, label)


def add_images(catalog: Catalog, project: dict, files: list[tuple[str, bytes]], label: str,
               limits: Limits) -> IngestReport:
    """Add uploaded image files, all labeled ``label``."""
    _check_modality(project, "image")
    label = clean_name(label, "Class name")
    report = IngestReport()
    for name, data in files:
        add_image(catalog, project, name, data, label, limits, report)
    return report


def add_zip(catalog: Catalog, project: dict, file: io.IOBase, limits: Limits) -> IngestReport:
    """Add the images of a zip of class folders (class = first folder inside)."""
    _check_modality(project, "image")
    report = IngestReport()
    for entry in read_class_zip(file, limits):
        if entry.data is None:
            report.skipped.append({"name": entry.name, "reason": entry.reason})
            continue
        try:
            label = clean_name(entry.label, "Class name")
        except DataError as err:
            report.skipped.append({"name": entry.name, "reason": str(err)})
            continue
        add_image(catalog, project, entry.name, entry.data, label, limits, report)
    if not (report.added or report.duplicates):
        raise DataError(f"The zip has no usable images in class folders ({len(report.skipped)} "
                        "files skipped). Zip one folder per class, e.g. cats/1.jpg, dogs/2.jpg.")
    return report


def add_texts(catalog: Catalog, project: dict, pairs: list[tuple[str, str]],
              limits: Limits, names: list[str] | None = None) -> IngestReport:
    """Add ``(text, label)`` pairs to a text project; a text over the limit is cut to it and listed
    in the report's ``truncated``. ``names`` say where each pair came from (default "text N")."""
    _check_modality(project, "text")
    report = IngestReport()
    for i, (text, label) in enumerate(pairs):
        where = names[i] if names else f"text {i + 1}"
        text = str(text).strip()
        if len(text) > limits.max_text_chars:
            report.truncated.append({"name": where, "chars": len(text), "kept": limits.max_text_chars})
            text = text[: limits.max_text_chars]
        if not text:
            report.skipped.append({"name": where, "reason": "empty text"})
            continue
        try:
            label = clean_name(label, "Class name")
        except DataError as err:
            report.skipped.append({"name": where, "reason": str(err)})
            continue
        name = " ".join(text.split())[:80]
        example, created = catalog.add_example_row(project["id"], label, content_key(text, "text"),
                                                   name, text=text)
        report.record(example, created, name, label)
    return report


def add_table(catalog: Catalog, project: dict, name: str, data: bytes, limits: Limits,
              text_column: str | None = None, label_column: str | None = None) -> IngestReport:
    """Add the rows of an uploaded CSV/TSV (columns guessed or named, as ``handful train``); the
    warnings ``handful train`` would print for it are in the report's ``warnings``."""
    _check_modality(project, "text")
    examples, said = read_uploaded_table(catalog, name, data, limits, text_column, label_column,
                                         max_chars=None)  # add_texts cuts and says so
    report = add_texts(catalog, project, list(zip(examples.items, examples.labels, strict=True)), limits,
                       list(examples.ids))
    report.skipped += [{"name": p, "reason": r} for p, r in examples.skipped]
    report.warnings[:0] = said
    return report


def read_uploaded_table(catalog: Catalog, name: str, data: bytes, limits: Limits,
                        text_column: str | None = None, label_column: str | None = None,
                        max_chars: int | None = MAX_TEXT_CHARS) -> tuple[Examples, list[str]]:
    """The rows of an uploaded CSV/TSV (or .csv.gz) as Examples, and the warnings reading it raised;
    messages, ids, skipped rows and warnings name the upload (never the temp file) and the form
    fields (never the CLI flags)."""
    shown = sanitize_filename(name)
    if not is_table_path(shown):
        suffix = "".join(Path(shown).suffixes[-2:]).lower()
        raise DataError(f"Table '{shown}' must be a .csv or .tsv file (or one compressed with gzip, "
                        f".csv.gz). Got '{suffix or 'no extension'}'.")
    data, suffix = _uncompressed(shown, data, limits)
    fd, tmp = tempfile.mkstemp(dir=catalog.tmp_dir, suffix=suffix)

    def as_uploaded(text: str) -> str:
        return _form_fields(text.replace(str(tmp), shown).replace(Path(tmp).name, shown))

    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        with collected_warnings() as said:
            examples = read_table(tmp, text_column, label_column, max_chars=max_chars)
    except DataError as err:  # the form fields, not the CLI flags
        raise DataError(f"{as_uploaded(str(err))} (text_column and label_column are form fields of this "
                        "upload.)") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return replace(examples, source=shown, ids=tuple(as_uploaded(i) for i in examples.ids),
                   skipped=tuple((as_uploaded(p), r) for p, r in examples.skipped)), \
        [as_uploaded(w) for w in said]


def _uncompressed(shown: str, data: bytes, limits: Limits) -> tuple[bytes, str]:
    """The table's bytes, a .gz decompressed here (up to the file limit: a small gzip can expand a
    thousand-fold), and the suffix of the table itself ('.csv')."""
    if len(data) > limits.max_file_bytes:
        raise DataError(f"Table '{shown}' is over the {format_size(limits.max_file_bytes)} limit of one "
                        "upload. Split it.")
    if Path(shown).suffix.lower() != ".gz":
        return data, Path(shown).suffix.lower()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as archive:
            data = archive.read(limits.max_file_bytes + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"Table '{shown}' is named .gz but does not decompress ({err}). Upload the table "
                        "itself, or compress it again with gzip.") from None
    if len(data) > limits.max_file_bytes:
        raise DataError(f"Table '{shown}' holds over {format_size(limits.max_file_bytes)} of text once "
                        "decompressed, the limit of one upload. Split it.")
    return data, Path(shown[:-3]).suffix.lower()


def _form_fields(text: str) -> str:
    """``handful train``'s flags in a message as this upload's form fields: '--text-column body'
    becomes 'text_column=body', '--text-column or ...' becomes 'text_column or ...'."""
    return re.sub(r"--(text|label)-column(?: (?!(?:or|and|with)\b)([^\s,;]+?)(?=[.,;]?(?:\s|$)))?",
                  lambda m: f"{m[1]}_column" + (f"={m[2]}" if m[2] else ""), text)
