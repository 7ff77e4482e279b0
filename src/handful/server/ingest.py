"""Add uploaded examples to a project: images, zips of class folders, texts, text tables.

Each bad input is skipped and listed with its reason; the rest go in. A file already in the
project (same bytes, any name) is reported as a duplicate, not stored twice.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..cache.store import content_key
from ..data import Examples, read_table
from ..data.table import MAX_TEXT_CHARS
from ..errors import DataError
from .catalog import Catalog, clean_name
from .uploads import Limits, check_image_bytes, image_extension, read_class_zip, sanitize_filename


@dataclass
class IngestReport:
    """What an upload added, what it already had, and what it skipped (with reasons)."""

    added: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    truncated: list[dict] = field(default_factory=list)  # texts cut to the length limit (kept, shorter)

    def record(self, example: dict, created: bool, name: str) -> None:
        """An added example, or a duplicate named by the class it is in (not the one asked):
        ``example`` is the stored row, as ``Catalog.add_example_row`` returned it."""
        entry = {"id": example["id"], "name": name, "label": example["label"]}
        (self.added if created else self.duplicates).append(entry)

    def to_json(self) -> dict:
        return {"added": self.added, "duplicates": self.duplicates, "skipped": self.skipped,
                "truncated": self.truncated, "n_added": len(self.added),
                "n_duplicates": len(self.duplicates), "n_skipped": len(self.skipped),
                "n_truncated": len(self.truncated)}


def _check_modality(project: dict, modality: str) -> None:
    if project["modality"] != modality:
        raise DataError(f"Project '{project['name']}' holds {project['modality']}s; this upload "
                        f"holds {modality}s. Create a project of {modality}s for them.")


def add_image(catalog: Catalog, project: dict, name: str, data: bytes, label: str,
              limits: Limits, report: IngestReport) -> None:
    """Validate one image and store it (content-addressed) as an example of ``label``."""
    name = sanitize_filename(name)
    ext = image_extension(name)
    reason = (f"not an image file (extension '{Path(name).suffix}')" if ext is None
              else check_image_bytes(data, limits))
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
    report.record(example, created, name)


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
        report.record(example, created, name)
    return report


def add_table(catalog: Catalog, project: dict, name: str, data: bytes, limits: Limits,
              text_column: str | None = None, label_column: str | None = None) -> IngestReport:
    """Add the rows of an uploaded CSV/TSV (columns guessed or named, as ``handful train``)."""
    _check_modality(project, "text")
    examples = read_uploaded_table(catalog, name, data, limits, text_column, label_column,
                                   max_chars=None)  # add_texts cuts and says so
    report = add_texts(catalog, project, list(zip(examples.items, examples.labels, strict=True)), limits,
                       list(examples.ids))
    report.skipped += [{"name": p, "reason": r} for p, r in examples.skipped]
    return report


def read_uploaded_table(catalog: Catalog, name: str, data: bytes, limits: Limits,
                        text_column: str | None = None, label_column: str | None = None,
                        max_chars: int | None = MAX_TEXT_CHARS) -> Examples:
    """The rows of an uploaded CSV/TSV as Examples; messages, ids and skipped rows name the upload
    (never the temp file) and the form fields (never the CLI flags)."""
    shown = sanitize_filename(name)
    suffix = Path(shown).suffix.lower()
    if suffix not in (".csv", ".tsv", ".txt", ".tab"):
        raise DataError(f"Table '{shown}' must be a .csv or .tsv file. "
                        f"Got '{suffix or 'no extension'}'.")
    if len(data) > limits.max_file_bytes:
        raise DataError(f"Table '{shown}' is {len(data) / 2**20:.1f} MiB; the "
                        f"limit is {limits.max_file_bytes / 2**20:.0f} MiB. Split it.")
    fd, tmp = tempfile.mkstemp(dir=catalog.tmp_dir, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        examples = read_table(tmp, text_column, label_column, max_chars=max_chars)
    except DataError as err:  # the form fields, not the CLI flags
        message = str(err).replace(str(tmp), shown).replace(Path(tmp).name, shown)
        for flag in ("text", "label"):
            message = message.replace(f"--{flag}-column", f"{flag}_column")
        raise DataError(f"{message} (text_column and label_column are form fields of this upload.)") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return replace(examples, source=shown, ids=tuple(i.replace(Path(tmp).name, shown) for i in examples.ids),
                   skipped=tuple((p.replace(Path(tmp).name, shown), r) for p, r in examples.skipped))
