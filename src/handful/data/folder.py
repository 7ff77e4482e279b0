"""Scan a class-per-subfolder image tree into Examples (bad files skipped, not fatal)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataError, DataNotFoundError
from .examples import Examples, read_options
from .images import check_image_file, is_image_path
from .remote import is_uri, list_uri_files

SPLIT_NAMES = ("train", "val", "test")
_IGNORED_DIRS = {"__MACOSX", "__pycache__"}


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in _IGNORED_DIRS
    )


def _files_under(folder: Path) -> list[Path]:
    """Every visible file under ``folder`` (recursively, sorted, hidden folders pruned)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _IGNORED_DIRS)
        found.extend(Path(dirpath) / f for f in sorted(filenames) if not f.startswith("."))
    return found


def has_splits(root: str | Path) -> bool:
    """True when ``root`` holds ``train/`` (and maybe ``val/``, ``test/``) class trees."""
    root = Path(root)
    return (root / "train").is_dir() and any(_visible_dirs(root / "train"))


def list_images(paths: Iterable[str | Path] | str | Path,
                check: bool = True) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand files and folders (or one of them) into image paths; returns ``(paths, skipped)``.

    Non-image files inside folders are ignored silently (clutter); a file named explicitly
    that is not a usable image is reported in ``skipped``. ``check=False`` skips the header
    check of each file (decoding reports bad files later): listing 100k files stays fast.
    """
    images: list[str] = []
    skipped: list[tuple[str, str]] = []
    for raw in [paths] if isinstance(paths, (str, Path)) else paths:
        if is_uri(raw):  # a bucket prefix or object: listed, checked when decoded
            images += [uri for uri in list_uri_files(raw) if is_image_path(Path(uri.split("://", 1)[1]))]
            continue
        path = Path(raw)
        if path.is_dir():
            for file in _files_under(path):
                if is_image_path(file):
                    _keep_or_skip(file, images, skipped, check)
        elif path.is_file():
            _keep_or_skip(path, images, skipped, check)
        else:
            raise DataNotFoundError(f"Input '{path}' does not exist. Give an image file or a folder.")
    return images, skipped


def _keep_or_skip(file: Path, images: list[str], skipped: list[tuple[str, str]],
                  check: bool = True) -> None:
    reason = check_image_file(file) if check else None
    if reason:
        skipped.append((str(file), reason))
    else:
        images.append(str(file))


def scan_folder(root: str | Path, nested: bool = False, min_classes: int = 2) -> Examples:
    """Scan ``root`` with one sub-folder per class into Examples.

    Args:
        root: folder whose visible sub-folders are classes (images may sit deeper inside).
        nested: when True, every leaf folder holding images is a class, named by its path
            relative to ``root`` (Omniglot's ``alphabet/character/`` layout).
        min_classes: fewer usable classes than this is an error.

    Raises:
        DataNotFoundError: ``root`` does not exist.
        DataError: fewer than ``min_classes`` classes, or a class with no usable image.

    Example:
        >>> examples = scan_folder("photos")  # photos/cats/*.jpg, photos/dogs/*.jpg
    """
    root = Path(root)
    if root.is_file():
        raise DataError(f"Data folder '{root}' is a file. Give a folder with one sub-folder per class.")
    if not root.is_dir():
        raise DataNotFoundError(
            f"Data folder '{root}' does not exist. Give a folder with one sub-folder per class."
        )
    groups = _leaf_groups(root) if nested else {d.name: _files_under(d) for d in _visible_dirs(root)}
    items, labels, skipped = [], [], []
    empty = []
    for label, files in groups.items():
        n_before = len(items)
        for file in files:
            if not is_image_path(file):
                if file.suffix.lower() not in {".txt", ".md", ".json", ".csv", ".db", ".ini"}:
                    skipped.append((str(file), f"not an image file (extension '{file.suffix}')"))
                continue
            reason = check_image_file(file)
            if reason:
                skipped.append((str(file), reason))
                continue
            items.append(str(file))
            labels.append(label)
        if len(items) == n_before:
            empty.append(label)
    _check_classes(root, groups, empty, skipped, min_classes)
    return Examples(tuple(items), tuple(labels), "image", tuple(skipped), str(root),
                    read_with=read_options(nested=nested))


def _leaf_groups(root: Path) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _IGNORED_DIRS)
        files = [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".")]
        if files and any(is_image_path(f) for f in files) and Path(dirpath) != root:
            groups[str(Path(dirpath).relative_to(root))] = files
    return dict(sorted(groups.items()))


def _check_classes(root, groups, empty, skipped, min_classes) -> None:
    if empty and not os.access(Path(root) / empty[0], os.R_OK | os.X_OK):
        raise DataError(f"Class folder '{empty[0]}' in {root} cannot be read (permission denied). "
                        "Fix its permissions or move it out of the data folder.")
    if empty:
        bad = [(p, r) for p, r in skipped if f"/{empty[0]}/" in p]
        found = (f"no readable images ({len(bad)} files skipped, e.g. {bad[0][0]}: {bad[0][1]})"
                 if bad else "no images")
        if groups[empty[0]] and all(f.suffix.lower() == ".txt" for f in groups[empty[0]]):
            found = ("no images, only .txt files (texts are read from one CSV/TSV with a text and a label "
                     "column, not from class folders)")
        raise DataError(
            f"Class folder '{empty[0]}' in {root} has {found}. "
            "Add at least 1 image per class or remove the folder."
        )
    if len(groups) < min_classes:
        found = ", ".join(f"'{g}'" for g in groups) or "none"
        raise DataError(
            f"Data folder '{root}' needs at least {min_classes} class sub-folder{'s' if min_classes > 1 else ''} "
            "with images; "
            f"found {len(groups)} ({found}). Put each class's images in its own sub-folder."
        )


def scan_splits(root: str | Path, nested: bool = False, min_classes: int = 2) -> dict[str, Examples]:
    """Scan ``root/train``, ``root/val`` and ``root/test`` when present, else ``root`` as 'train'.

    ``min_classes`` applies to 'train' (``root`` itself without splits); a held-out split may
    hold a single class (its accuracy is then that class's recall).
    """
    root = Path(root)
    if not has_splits(root):
        return {"train": scan_folder(root, nested=nested, min_classes=min_classes)}
    return {
        split: scan_folder(root / split, nested=nested, min_classes=min_classes if split == "train" else 1)
        for split in SPLIT_NAMES
        if (root / split).is_dir()
    }
