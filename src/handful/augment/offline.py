"""Offline augmentation: write an augmented copy of an image folder, plus a preview grid.

The originals are never touched. The copy keeps the class folders; each source image
``cat_001.jpg`` gets ``cat_001.aug1.jpg`` ... ``cat_001.augN.jpg`` beside a copy of itself, so
every name says where it came from. In a data set with ``train/`` and ``val/`` or ``test/``
only ``train/`` is augmented; the evaluation splits are copied unchanged.

Example:
    >>> augment_folder("photos", "photos-aug", create_augment("default"), factor=4)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ..bundle import write_dir_atomically
from ..cache.store import content_key
from ..data import Examples, ImageDecodeError, load_image, scan_splits
from ..errors import DataError
from ..jsontext import json_text
from .pipeline import Augment
from .views import view_rng

KEEP_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}
# PIL writes JPEG at quality 75 and WebP lossy at 80 unless told: a copy would lose detail on top of
# its transform. WebP can be lossless; JPEG cannot (95 keeps the loss below what the eye sees).
SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}
PREVIEW_FILE, MANIFEST_FILE = "preview.png", "augment.json"
MAX_NAME_BYTES = 255  # the longest file name ext4, APFS, NTFS and most others take


def augmented_name(source: Path, index: int) -> str:
    """``cat_001.jpg`` -> ``cat_001.aug3.jpg`` (formats PIL cannot write well become .png); a stem
    too long for the added ``.aug3`` is cut so the name still fits in ``MAX_NAME_BYTES``."""
    suffix = source.suffix.lower() if source.suffix.lower() in KEEP_FORMATS else ".png"
    return _fitting(source.stem, f".aug{index}{suffix}")


def _fitting(stem: str, ending: str) -> str:
    """``stem + ending``, the stem cut (at a character boundary) to fit in ``MAX_NAME_BYTES``."""
    room = MAX_NAME_BYTES - len(ending.encode())
    return stem.encode()[:room].decode(errors="ignore") + ending


def augment_folder(data: str | Path, out: str | Path, augment: Augment, factor: int, seed: int = 0,
                   originals: bool = True, nested: bool = False,
                   progress: Callable[[int], None] | None = None) -> dict:
    """Write the augmented copy of ``data`` to ``out`` (atomically); returns the manifest.

    Raises:
        DataError: ``out`` exists (other than as an empty folder) or lies inside ``data``, or
            ``factor`` < 1.
    """
    data, out = Path(data), Path(out)
    if factor < 1:
        raise DataError(f"--factor must be at least 1 (augmented images per original). Got {factor}.")
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):  # an empty folder: nothing to lose
        raise DataError(f"Output '{out}' already exists and is not an empty folder; handful augment "
                        "never overwrites. Choose a new (or empty) --out folder.")
    if out.resolve().is_relative_to(data.resolve()):
        raise DataError(f"Output '{out}' is inside the data folder '{data}'; it would be read "
                        "as a class. Choose an --out folder outside it.")
    splits = scan_splits(data, nested=nested)
    manifest = {"source": str(data), "factor": factor, "seed": seed, "originals": originals,
                "augment": augment.config.to_json(), "fingerprint": augment.fingerprint,
                "files": [], "copied": [], "skipped": []}

    def write(tmp: Path) -> None:
        for name, examples in splits.items():
            if name == "train":
                _augment_split(examples, data, tmp, augment, factor, seed, originals,
                               manifest, progress)
            else:
                _copy_split(examples, data, tmp, manifest)
        manifest["skipped"] += [{"path": p, "reason": r}
                                for ex in splits.values() for p, r in ex.skipped]
        preview(manifest, data, tmp, tmp / PREVIEW_FILE)
        (tmp / MANIFEST_FILE).write_text(json_text(manifest, indent=2))

    try:
        write_dir_atomically(out, write)
    except OSError as err:  # a full disk, a read-only folder: name what the user gave, not the temp
        raise DataError(f"Could not write the augmented copy '{out}': {err.strerror or err}. Free "
                        "space or choose another --out folder; nothing was written.") from err
    return manifest


def _augment_split(examples: Examples, data: Path, tmp: Path, augment: Augment, factor: int,
                   seed: int, originals: bool, manifest: dict, progress) -> None:
    taken = {Path(item).relative_to(data) for item in examples.items} if originals else set()
    for item, label in zip(examples.items, examples.labels):
        rel = Path(item).relative_to(data)  # includes the split folder when there is one
        try:
            image = np.asarray(load_image(item), dtype=np.uint8)
            content = content_key(item, "image")
        except (ImageDecodeError, OSError) as err:
            manifest["skipped"].append({"path": item, "reason": getattr(err, "reason", str(err))})
            if progress:  # done with, too: the bar reaches its end
                progress(1)
            continue
        (tmp / rel.parent).mkdir(parents=True, exist_ok=True)
        if originals:
            shutil.copy2(item, tmp / rel)
        written = []
        for index in range(1, factor + 1):
            name = _free_name(rel, index, taken)
            fmt = KEEP_FORMATS.get(name.suffix, "PNG")
            augmented = augment(image, view_rng(content, seed, index))
            Image.fromarray(augmented).save(tmp / name, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
            written.append(str(name))
        manifest["files"].append({"source": str(rel), "label": label, "augmented": written})
        if progress:
            progress(1)
    _check_every_class_kept(examples, manifest)


def _check_every_class_kept(examples: Examples, manifest: dict) -> None:
    """A class none of whose images could be read would vanish from the copy (and training on it
    would then fail, or quietly learn one class fewer): refuse, naming the class."""
    kept = {entry["label"] for entry in manifest["files"]}
    lost = sorted(set(examples.labels) - kept)
    if lost:
        n_bad = sum(1 for label in examples.labels if label == lost[0])
        raise DataError(f"Class '{lost[0]}' has no image that could be read ({n_bad} skipped"
                        + (f"; also {', '.join(repr(c) for c in lost[1:])}" if lost[1:] else "")
                        + "). Replace its files or remove its folder, then run handful augment again.")


def _free_name(source: Path, index: int, taken: set[Path]) -> Path:
    """``augmented_name``, or, when that name is taken (``scan.tiff`` and ``scan.png`` both give
    ``scan.aug1.png``; an original may already be called ``cat.aug1.jpg``), one that keeps the
    source's whole name (``scan.tiff.aug1.png``), numbered if need be; added to ``taken``."""
    name = source.parent / augmented_name(source, index)
    n = 1
    while name in taken:
        suffix = name.suffix
        name = source.parent / _fitting(source.name, f".aug{index}{'' if n == 1 else f'-{n}'}{suffix}")
        n += 1
    taken.add(name)
    return name


def _copy_split(examples: Examples, data: Path, tmp: Path, manifest: dict) -> None:
    for item in examples.items:
        rel = Path(item).relative_to(data)
        (tmp / rel.parent).mkdir(parents=True, exist_ok=True)
        shutil.copy2(item, tmp / rel)
        manifest["copied"].append(str(rel))


def preview(manifest: dict, data: Path, out: Path, path: Path, n_rows: int = 4, n_views: int = 5,
            tile: int = 128) -> Path:
    """A grid PNG: each row one original (first column) and its augmented images."""
    by_label: dict[str, dict] = {}
    for entry in manifest["files"]:
        by_label.setdefault(entry["label"], entry)
    rows = list(by_label.values())[:n_rows]
    rows += [e for e in manifest["files"] if e not in rows][:n_rows - len(rows)]
    n_cols = 1 + min(n_views, manifest["factor"])
    grid = Image.new("RGB", (n_cols * (tile + 4) + 4, max(1, len(rows)) * (tile + 4) + 4), "white")
    for r, entry in enumerate(rows):
        files = [data / entry["source"]] + [out / a for a in entry["augmented"][:n_cols - 1]]
        for c, file in enumerate(files):
            thumb = load_image(file)
            thumb.thumbnail((tile, tile))
            grid.paste(thumb, (4 + c * (tile + 4), 4 + r * (tile + 4)))
    grid.save(path)
    return path
