"""Few-shot data: several class trees merged (duplicates dropped), decoded once into arrays."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..backbones.stream import preprocess_batch
from ..data import Examples, scan_folder
from ..data.folder import SPLIT_NAMES
from ..data.images import is_image_path
from ..errors import DataError, HandfulError


def _file_hash(path: str) -> str:
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()


def as_folders(roots: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str | os.PathLike]:
    """One folder or a list of them, as a list (a lone string is one folder, not its characters)."""
    return [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)


def scan_many(roots: Sequence[str | Path], nested: bool = False,
              what: str = "Data folder") -> tuple[Examples, int]:
    """Merge the class trees under ``roots`` into one Examples; returns it and the duplicates dropped.

    A class present in several roots (Omniglot's Greek in both background subsets) is one
    class; a file whose bytes already occur in that class is dropped as a duplicate. ``what``
    names the folders in errors as the user gave them (``"--extra-train folder"``).

    Example:
        >>> examples, n_dup = scan_many(["images_background_small1", "images_background_small2"], nested=True)
    """
    if not roots:
        raise DataError("No data folder given. Pass at least one folder of class sub-folders.")
    parts = [_scan(root, nested, what) for root in roots]
    for root, part in zip(roots, parts):  # counted here: a lone alphabet read flat needs --nested, not more folders
        check_class_tree(part, root, nested, f"{what} '{root}'")
    if not nested:
        for root, part in zip(roots, parts):
            warn_if_nested(root, part)
    if len(parts) == 1:
        return parts[0], 0
    seen: dict[str, set[str]] = {}
    items, labels, skipped, n_dup = [], [], [], 0
    for part in parts:
        skipped.extend(part.skipped)
        for item, label in zip(part.items, part.labels):
            digest = _file_hash(item)
            if digest in seen.setdefault(label, set()):
                n_dup += 1
                continue
            seen[label].add(digest)
            items.append(item)
            labels.append(label)
    source = " + ".join(str(r) for r in roots)
    return Examples(tuple(items), tuple(labels), "image", tuple(skipped), source), n_dup


def _scan(root: str | Path, nested: bool, what: str) -> Examples:
    """``scan_folder``, its errors naming the folder as ``what`` ("Data folder '...'" by default)."""
    try:
        return scan_folder(root, nested=nested, min_classes=0)
    except HandfulError as err:  # DataError, DataNotFoundError
        message = str(err)
        if what == "Data folder" or not message.startswith("Data folder"):
            raise
        raise type(err)(what + message[len("Data folder"):]) from None


def check_class_tree(examples: Examples, root: str | os.PathLike, nested: bool, name: str) -> None:
    """Refuse a class tree read as fewer than 2 classes, saying why: images with no class folders
    around them, nothing at all, or one folder whose images sit in sub-folders (read without
    --nested). ``name`` says which folder this is to the user (``--support '...'``)."""
    if len(examples.classes) >= 2:
        return
    root = Path(root)
    if not examples.classes:
        files = [p for p in root.iterdir() if not p.name.startswith(".")] if root.is_dir() else []
        n_images = sum(1 for p in files if p.is_file() and is_image_path(p))
        if n_images:
            raise DataError(f"{name} holds {n_images} image{'s' * (n_images != 1)} but no class sub-folders; "
                            "expected a sub-folder per class, 1+ images each. Move each class's images into "
                            f"a sub-folder named for the class ({root}/<class>/).")
        got = "it is empty" if not files else "found none"
        raise DataError(f"{name} needs at least 2 class sub-folders with images; {got}. Give the folder that "
                        "holds the class folders, or put each class's images in its own sub-folder.")
    label = examples.classes[0]
    subs = sorted({Path(item).relative_to(root / label).parts[0] for item in examples.items
                   if len(Path(item).relative_to(root / label).parts) > 1}) if not nested else []
    if len(subs) > 1:
        raise DataError(f"{name} needs at least 2 class sub-folders; found 1 ('{label}'), whose images sit in "
                        f"{len(subs)} sub-folders (e.g. '{label}/{subs[0]}/'). Pass --nested to make each "
                        "sub-folder a class (Omniglot's alphabet/character layout).")
    raise DataError(f"{name} needs at least 2 class sub-folders with images; found 1 ('{label}'). Add a "
                    "sub-folder of images for each other class.")


def warn_if_nested(root: str | os.PathLike, examples: Examples) -> None:
    """Warn when every class folder keeps its images in 2+ sub-folders and none at its top
    (``alphabet/character/*.png`` read without --nested: each alphabet would be one class)."""
    if set(examples.classes) & set(SPLIT_NAMES):  # train/ val/ test/ of classes: not an alphabet tree
        return
    subfolders: dict[str, set[str]] = {}
    for item, label in zip(examples.items, examples.labels):
        try:
            parts = Path(item).relative_to(Path(root) / label).parts
        except ValueError:  # a label that is not its folder's name: not the layout this is about
            return
        subfolders.setdefault(label, set()).add(parts[0] if len(parts) > 1 else "")
    if subfolders and all("" not in subs and len(subs) > 1 for subs in subfolders.values()):
        label = examples.classes[0]
        warnings.warn(f"Every class folder of {root} holds its images in sub-folders (e.g. '{label}/"
                      f"{sorted(subfolders[label])[0]}/'), so each class is a whole parent folder; pass "
                      "--nested to make each sub-folder a class (Omniglot's alphabet/character layout).",
                      stacklevel=3)


def restrict(examples: Examples, classes: Sequence[str]) -> Examples:
    """The examples whose label is in ``classes`` (skipped list kept)."""
    wanted = set(classes)
    return examples.subset([i for i, label in enumerate(examples.labels) if label in wanted])


def preprocess_items(backbone, items: Sequence[str], n_workers: int = 2
                     ) -> tuple[np.ndarray | None, list[int], dict[int, str]]:
    """``backbone.preprocess`` of every item: (stacked arrays of the good ones, their indices, failures)."""
    with ThreadPoolExecutor(max(1, n_workers)) as pool:
        ok, inputs, bad = preprocess_batch(backbone, items, 0, pool)
    return (np.stack(inputs) if inputs else None), ok, bad


def load_arrays(backbone, examples: Examples) -> tuple[np.ndarray, Examples]:
    """Decode every example into one uint8 array (n, ...); unreadable files move to ``skipped``.

    Returns the arrays and the examples that remain, aligned.
    """
    arrays, _, bad = preprocess_items(backbone, examples.items)
    if arrays is None:
        raise DataError(f"No readable images in {examples.source}. Check the folder.")
    return arrays, (examples.without(bad) if bad else examples)


def with_rotations(arrays: np.ndarray, examples: Examples) -> tuple[np.ndarray, Examples]:
    """Every class four times, as itself and turned by 90, 180 and 270 degrees, each a class of its
    own (``'name@rot90'``...): the Omniglot protocol of Vinyals et al. 2016 and Snell et al. 2017,
    whose test classes are the evaluation characters x 4 rotations.

    Example:
        >>> arrays, examples = with_rotations(arrays, examples)   # 4x the rows and the classes
    """
    if arrays.ndim < 3 or arrays.shape[1] != arrays.shape[2]:
        raise DataError(f"Rotated classes need square images; the encoder's input is {arrays.shape[1:3]}. "
                        "Drop --rotations.")
    turned = np.concatenate([np.rot90(arrays, k, axes=(1, 2)) for k in range(4)])
    labels = tuple(label if k == 0 else f"{label}@rot{90 * k}" for k in range(4) for label in examples.labels)
    return np.ascontiguousarray(turned), Examples(examples.items * 4, labels, examples.modality,
                                                  examples.skipped, examples.source)
