"""``handful augment``: write an augmented copy of an image folder and a preview grid."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

from ..augment import (
    FILL_MODES,
    PRESETS,
    AugmentConfig,
    check_config,
    create_augment,
    preset_config,
    with_settings,
)
from ..data import Examples, scan_splits
from ..errors import DataError, UnknownNameError
from .main import app
from .options import JsonOpt, NestedOpt, SeedOpt
from .output import Output


def _known_preset(name: str) -> str:
    """Checked as the command line is read: a misspelled preset fails even where it is not used."""
    preset_config(name)
    return name


PresetOpt = Annotated[str, typer.Option(help=f"Augmentation preset: {', '.join(PRESETS)}.",
                                        callback=_known_preset)]
FillOpt = Annotated[str | None, typer.Option(
    help=f"What uncovered pixels show: {', '.join(FILL_MODES)} (default: the preset's, reflect).")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="JSON file of augmentation settings overriding the preset "
    "(hflip, vflip, rotate, zoom, crop, translate, brightness, contrast, noise, salt_pepper, "
    "fill, fill_value).")]


def augment_config(preset: str, fill: str | None, config_file: Path | None) -> AugmentConfig:
    """The preset, then the --config file's settings, then --fill, every setting checked (the
    config file's errors name it)."""
    config = preset_config(preset)
    if config_file is not None:
        settings = _read_settings(config_file)
        try:
            config = check_config(with_settings(config, settings))
        except (DataError, UnknownNameError) as err:  # which file holds the bad setting
            raise type(err)(f"Augmentation config {config_file}: {err}") from err
    return check_config(with_settings(config, {"fill": fill})) if fill is not None else config


def _read_settings(config_file: Path) -> dict:
    if not config_file.is_file():
        what = "is a folder" if config_file.is_dir() else "does not exist"
        raise DataError(f"Augmentation config '{config_file}' {what}. Give a JSON file holding an object "
                        "like {\"rotate\": 20}.")
    try:
        settings = json.loads(config_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"Augmentation config {config_file} cannot be read as JSON ({err}). "
                        "Give a JSON object like {\"rotate\": 20}.") from err
    if not isinstance(settings, dict):
        raise DataError(f"Augmentation config {config_file} must hold a JSON object like "
                        "{\"rotate\": 20}.")
    return settings


def views_augment(preset: str, fill: str | None, config_file: Path | None, n_views: int) -> str | AugmentConfig:
    """What makes ``handful train``'s augmented views: the preset's name, or with --fill or --config
    the config they make, as ``handful augment`` reads them (checked before any embedding)."""
    if fill is None and config_file is None:
        return preset
    if not n_views:
        raise DataError("--fill and --config set how augmented views are made, but --augment-views is 0, so "
                        "they would change nothing. Add --augment-views N (e.g. 8), or drop them.")
    return augment_config(preset, fill, config_file)


def record_views_augment(training: dict, preset: str, fill: str | None, config_file: Path | None) -> None:
    """Note in the model's training record (``model.json``, ``report.json``), beside the settings
    its views were made with, the preset and --config file they came from."""
    views = training.get("augmented_views")
    if views is not None and (fill is not None or config_file is not None):
        views.update(preset=preset, config_file=None if config_file is None else str(config_file))


# Each original gets --factor new files of about its own size (same pixels, same format), so a
# typo (4000) would fill the disk; 64 is also the limit of --augment-views.
MAX_FACTOR = 64


def check_factor(factor: int) -> int:
    if not 1 <= factor <= MAX_FACTOR:
        raise DataError(f"--factor must be between 1 and {MAX_FACTOR} (augmented images per original, each "
                        f"a new file about the size of its original). Got {factor}.")
    return factor


def check_free_space(splits: dict[str, Examples], out_dir: Path, factor: int, originals: bool) -> None:
    """Refuse a copy that would not fit on the disk of ``out_dir`` (estimated from file sizes)."""
    def size(examples: Examples) -> int:
        return sum(os.path.getsize(item) for item in examples.items)

    train = splits["train"]
    need = (factor * sum(_copy_bytes(item) for item in train.items) + (size(train) if originals else 0)
            + sum(size(ex) for name, ex in splits.items() if name != "train"))
    where = next(p for p in (out_dir.absolute(), *out_dir.absolute().parents) if p.exists())
    free = shutil.disk_usage(where).free
    if need > free:
        webp = any(Path(item).suffix.lower() == ".webp" for item in train.items)
        each = "each about its original's size" + ("; WebP ones lossless, up to 3 bytes a pixel" if webp else "")
        raise DataError(f"The augmented copy needs about {_bytes_text(need)} ({factor} augmented images per "
                        f"original, {each}) but {where} has {_bytes_text(free)} "
                        "free. Lower --factor or choose an --out folder on a disk with more room.")


def _copy_bytes(item: str) -> int:
    """About the size of one augmented copy of ``item``: its original's, but a WebP copy is written
    lossless (``augment.offline.SAVE_OPTIONS``), up to ~15x a lossy original: at most its raw pixels."""
    size = os.path.getsize(item)
    if Path(item).suffix.lower() != ".webp":
        return size
    from PIL import Image  # here: `handful --help` imports this module

    try:
        with Image.open(item) as img:  # reads the header only
            return max(size, 3 * img.width * img.height)
    except (OSError, Image.DecompressionBombError):  # skipped when read: it takes no room
        return size


def _bytes_text(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 1e3:.1f} kB"


@app.command()
def augment(
    data: Annotated[Path, typer.Argument(help="Folder with a sub-folder per class (or train/ val/).")],
    out_dir: Annotated[Path, typer.Option("--out", help="New folder for the augmented copy.")],
    factor: Annotated[int, typer.Option(help=f"Augmented images per original (1 to {MAX_FACTOR}).")] = 4,
    preset: Annotated[str, typer.Option(
        "--preset", "--augment", help=f"Augmentation preset: {', '.join(PRESETS)} (--augment, as in "
        "train, works too).", callback=_known_preset)] = "default",
    fill: FillOpt = None,
    config_file: ConfigOpt = None,
    originals: Annotated[bool, typer.Option(help="Also copy the originals into --out.")] = True,
    seed: SeedOpt = 0,
    nested: NestedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Write an augmented copy of DATA (originals untouched; names like cat_001.aug3.jpg)."""
    from ..augment.offline import MANIFEST_FILE, PREVIEW_FILE, augment_folder
    out = Output(as_json)
    check_factor(factor)
    if data.is_file():
        raise DataError(f"handful augment writes augmented copies of images, but '{data}' is a file. Give a "
                        "folder with one sub-folder of images per class (texts are not augmented).")
    pipeline = create_augment(augment_config(preset, fill, config_file))
    splits = scan_splits(data, nested=nested)
    check_free_space(splits, out_dir, factor, originals)
    n_train = len(splits["train"])
    with out.progress("Augmenting", n_train) as advance:
        manifest = augment_folder(data, out_dir, pipeline, factor, seed=seed, originals=originals,
                                  nested=nested, progress=advance)
    n_written = sum(len(f["augmented"]) for f in manifest["files"])
    out.print(f"Augmentation: {pipeline!r}, fill {pipeline.config.fill}")
    out.print(f"Wrote {n_written} augmented images from {len(manifest['files'])} originals "
              f"to {out_dir}" + (f" (copied {len(manifest['copied'])} evaluation images as they are)"
                                 if manifest["copied"] else ""))
    for item in manifest["skipped"][:20]:
        out.print(f"  skipped {item['path']}: {item['reason']}")
    if len(manifest["skipped"]) > 20:
        out.print(f"  ... and {len(manifest['skipped']) - 20} more (see {out_dir / MANIFEST_FILE})")
    out.print(f"Preview: {out_dir / PREVIEW_FILE}; manifest: {out_dir / MANIFEST_FILE}")
    out.result({"out": str(out_dir), "n_originals": len(manifest["files"]),
                "n_augmented": n_written, "n_copied": len(manifest["copied"]),
                "augment": manifest["augment"], "preview": str(out_dir / PREVIEW_FILE),
                "manifest": str(out_dir / MANIFEST_FILE), "skipped": manifest["skipped"]})


AugmentViewsOpt = Annotated[int, typer.Option(
    help="Images: also train the head on this many augmented views of each training image "
    "(0 to 64; feature-space augmentation, cached; see --augment).")]


def check_views(n_views: int) -> int:
    if not 0 <= n_views <= 64:
        raise DataError(f"--augment-views must be between 0 and 64. Got {n_views}.")
    return n_views


def embed_views_with_progress(out: Output, clf, examples):
    """``(X_views, y_views)`` for ``clf.augment_views`` views per example, or None when 0."""
    if not clf.augment_views:
        return None
    with out.progress(f"Embedding {clf.augment_views} augmented views", len(examples)) as advance:
        return clf.embed_views(examples, advance)
