"""Data loading: image folders and text tables into Examples."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError, DataNotFoundError
from .examples import Examples, as_items, as_path, check_modality
from .folder import has_splits, list_images, scan_folder, scan_splits
from .images import ImageDecodeError, load_image
from .table import NOT_TABLES, SAVE_AS_CSV, is_table_path, read_table

__all__ = [
    "Examples", "ImageDecodeError", "as_items", "as_path", "check_modality", "has_splits", "list_images",
    "load_examples", "load_image", "read_table", "scan_folder", "scan_splits", "is_table_path",
]


def load_examples(
    source: str | Path,
    nested: bool = False,
    text_column: str | None = None,
    label_column: str | None = None,
    min_classes: int = 2,
) -> Examples:
    """Examples from an image folder (class per sub-folder) or a CSV/TSV of texts.

    For a folder with ``train/`` inside, this returns the train split. Fewer than ``min_classes``
    classes is an error (1 for a test set: its accuracy is then that class's recall).
    """
    path = as_path(source)
    if not path.exists():
        raise DataNotFoundError(
            f"Data '{path}' does not exist. Give a folder with one sub-folder per class, "
            "or a CSV/TSV file of texts and labels."
        )
    if path.is_dir():
        return scan_splits(path, nested=nested, min_classes=min_classes)["train"]
    if is_table_path(path):
        examples = read_table(path, text_column, label_column)
        if len(examples.classes) < min_classes:
            raise DataError(
                f"Text table '{path}' has {len(examples.classes)} label(s) "
                f"{list(examples.classes)}; at least {min_classes} classes are needed. Add rows of another "
                "label (or check that --label-column names the column of labels)."
            )
        return examples
    if path.suffix.lower() in NOT_TABLES:  # a spreadsheet: say how to make the table handful reads
        raise DataError(f"Data '{path}' is {NOT_TABLES[path.suffix.lower()]}; expected a folder of class "
                        f"sub-folders or a CSV/TSV table of texts. {SAVE_AS_CSV}")
    raise DataError(
        f"Data '{path}' is a file with extension '{path.suffix}'; expected a folder of class "
        "sub-folders or a .csv/.tsv table (.csv.gz too)."
    )
