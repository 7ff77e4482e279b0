"""``handful ladder``: scratch -> scratch+aug -> features -> features+aug -> fine-tune, one table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ..data import load_examples, scan_splits
from ..errors import DataError
from ..jsontext import json_text
from .augment import PresetOpt
from .core import print_skipped
from .finetune import MAX_WEIGHT_DECAY, RefitOpt, check_weight_decay, tuned_part
from .main import app
from .options import JsonOpt, NestedOpt, SeedOpt, check_names
from .output import Output, check_folder_replaceable, json_with, pct, plural, write_folder_files

# finetune.ladder.RUNGS, spelled out so that `handful --help` does not load torch (a test checks
# they agree).
RUNGS = ("scratch", "scratch+aug", "features", "features+aug", "finetune")

LADDER_JSON, LADDER_PNG = "ladder.json", "ladder.png"


def _train_and_test(data: Path, test: Path | None, nested: bool = False):
    if test is not None:
        return load_examples(data, nested), load_examples(test, nested)
    splits = scan_splits(data, nested=nested)
    held = splits.get("test") or splits.get("val")
    if held is None:
        raise DataError(f"ladder needs --test TEST unless {data} has train/ and val/ or test/.")
    return splits["train"], held


@app.command()
def ladder(
    data: Annotated[Path, typer.Argument(help="Training images, a sub-folder per class.")],
    test: Annotated[Path | None, typer.Option(help="Test images (default: DATA's test/ or val/).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where to write ladder.json, "
                       "ladder.png and training curves (default: ladder-DATA).")] = None,
    rungs: Annotated[str, typer.Option(help="Rungs to run, comma-separated.")] = ",".join(RUNGS),
    max_per_class: Annotated[int | None, typer.Option(help="Use at most this many training "
                             "images per class (random, by --seed).")] = None,
    backbone: Annotated[str, typer.Option(help="Backbone of the pretrained rungs.")] = "efficientnet_lite0",
    head: Annotated[str, typer.Option(help="Head of the feature rungs.")] = "logistic",
    augment: PresetOpt = "default",
    augment_views: Annotated[int, typer.Option(help="Augmented views per image (features+aug; 1 to 64).")] = 4,
    scratch_epochs: Annotated[int, typer.Option(help="Most epochs of the scratch CNN.")] = 30,
    scratch_size: Annotated[int, typer.Option(help="Input size of the scratch CNN (px).")] = 128,
    finetune_epochs: Annotated[int, typer.Option(help="Most epochs of fine-tuning.")] = 12,
    unfreeze: Annotated[str, typer.Option(help="Last blocks to fine-tune, with the final 1x1 conv "
                                               "(0: the new head only), or auto.")] = "auto",
    finetune_weight_decay: Annotated[float, typer.Option(
        help=f"AdamW weight decay of fine-tuning (0 to {MAX_WEIGHT_DECAY:g}; 0: off).")] = 1e-2,
    refit: RefitOpt = True,
    seed: SeedOpt = 0,
    nested: NestedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Train every rung of the transfer-learning ladder on DATA and score each on TEST."""
    from ..finetune.curves import plot_history, plot_ladder
    from ..finetune.ladder import LadderConfig, cap_per_class, parse_rungs, run_ladder, usable_images
    from ..finetune.loop import History
    out = Output(as_json)
    out_dir = out_dir or Path(f"ladder-{data.resolve().name}")
    chosen = parse_rungs(rungs)
    if not chosen:
        raise DataError(f"--rungs names no rung. Give one or more of: {', '.join(RUNGS)}.")
    check_folder_replaceable(out_dir, LADDER_JSON, json_with("rows"),
                             {name: "png" for name in (LADDER_PNG, *map(_curves_png, chosen))},
                             inputs=(data, test))
    for option, value, least in (("--augment-views", augment_views, 1), ("--scratch-epochs", scratch_epochs, 1),
                                 ("--finetune-epochs", finetune_epochs, 1)):
        if value < least:
            raise DataError(f"{option} must be at least {least}. Got {value}.")
    if augment_views > 64:
        raise DataError(f"--augment-views must be between 1 and 64. Got {augment_views}.")
    if not 16 <= scratch_size <= 512:  # the CNN's dense layer grows with its square (100000 px: 2.5 TB)
        raise DataError(f"--scratch-size must be between 16 and 512 (px). Got {scratch_size}.")
    check_weight_decay(finetune_weight_decay, "--finetune-weight-decay")
    _check_pretrained_rungs(chosen, backbone, head, unfreeze)
    if max_per_class is not None and max_per_class < 1:
        raise DataError(f"--max-per-class must be at least 1. Got {max_per_class}.")
    train_ex, test_ex = _train_and_test(data, test, nested)
    # images that do not decode are listed and left out before anything counts them; the cap
    # draws from the usable ones
    with out.progress("Checking images", len(train_ex) + len(test_ex)) as advance:
        train_ex = usable_images(train_ex, progress=advance)
        test_ex = usable_images(test_ex, every_class=False, progress=advance)
    train_ex = cap_per_class(train_ex, max_per_class, seed)
    print_skipped(out, train_ex)
    print_skipped(out, test_ex)
    base = LadderConfig()
    config = LadderConfig(
        rungs=chosen, backbone=backbone, head=head, augment=augment,
        augment_views=augment_views, seed=seed,
        scratch=replace(base.scratch, epochs=scratch_epochs, size=scratch_size, refit=refit),
        finetune=replace(base.finetune, epochs=finetune_epochs, refit=refit,
                         weight_decay=finetune_weight_decay,
                         unfreeze=unfreeze if unfreeze == "auto" else _int(unfreeze)))
    out.print(f"Ladder on {train_ex.source} ({len(train_ex)} training images"
              f"{f', at most {max_per_class} per class' if max_per_class else ''}) "
              f"-> {test_ex.source} ({len(test_ex)} test images)")

    def show_rung(row: dict) -> None:
        out.print(f"  {row['rung']:<13} {pct(row['accuracy']):>6}  train {row['train_seconds']:.0f} s")

    result = run_ladder(train_ex, test_ex, config, on_rung=show_rung)
    result["max_per_class"] = max_per_class

    def write(tmp: Path) -> None:
        (tmp / LADDER_JSON).write_text(json_text(result, indent=2))
        plot_ladder(result["rows"], tmp / LADDER_PNG, title=f"Ladder: {data.resolve().name}")
        for rung, doc in result["histories"].items():
            history = History(doc["epochs"], doc["best_epoch"], doc["stopped_early"])
            plot_history(history, tmp / _curves_png(rung), title=rung)

    # the curves of rungs this run did not train (or of an earlier run with more) do not stay
    write_folder_files(out_dir, write, main=LADDER_JSON, stale=map(_curves_png, RUNGS))
    out.table(f"Ladder ({len(train_ex)} train -> {len(test_ex)} test)",
              ["rung", "accuracy", "train s", "eval s", "notes"],
              [[r["rung"], pct(r["accuracy"]), f"{r['train_seconds']:.0f}", f"{r['eval_seconds']:.0f}",
                _notes(r)] for r in result["rows"]])
    out.print(f"Saved {out_dir / LADDER_JSON} and {out_dir / LADDER_PNG}")
    out.result({"rows": result["rows"], "out": str(out_dir), "backbone": result["backbone"],
                "n_train": len(train_ex), "n_test": len(test_ex), "max_per_class": max_per_class,
                # as ladder.json lists them (its train and test summaries), in one list
                "skipped": result["train"]["skipped"] + result["test"]["skipped"]})


def _check_pretrained_rungs(chosen: tuple[str, ...], backbone: str, head: str, unfreeze: str) -> None:
    """The backbone, head and --unfreeze of the later rungs, checked before the first rung trains."""
    from ..backbones import backbone_modality, create_backbone
    from ..finetune.tune import TUNABLE, resolve_unfreeze

    if {"features", "features+aug"} & set(chosen):
        check_names(backbone, head)
        if backbone != "auto" and backbone_modality(backbone) != "image":
            raise DataError(f"Backbone '{backbone}' embeds {backbone_modality(backbone)}s; the ladder "
                            "needs an image backbone.")
    if "finetune" in chosen:
        if backbone.replace("-", "_") not in TUNABLE:
            raise DataError(f"Backbone '{backbone}' cannot be fine-tuned here; choose one of "
                            f"{', '.join(TUNABLE)}.")
        if unfreeze != "auto":
            resolve_unfreeze(_int(unfreeze), 0, len(create_backbone(backbone).model._blocks))


def _curves_png(rung: str) -> str:
    return f"curves-{rung.replace('+', '-')}.png"


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError as err:
        raise DataError(f"--unfreeze must be a number of blocks or 'auto'. Got '{text}'.") from err


def _notes(row: dict) -> str:
    d = row["details"]
    refit = (f", refit on all {d['refit_n_train']}" if d.get("refit_n_train")
             else f", trained on {d.get('n_train')}")
    if row["rung"].startswith("scratch"):
        return (f"{d['size']}px, best epoch {d['best_epoch']}/{d['epochs']}, "
                f"{d['seconds_per_epoch']:.1f} s/epoch{refit}")
    picked = f"{d['backbone']} (auto), " if d.get("backbone_requested") == "auto" else ""
    if row["rung"] == "features+aug":
        return f"{picked}{d['head']}, {plural(d['views_per_image'], 'view')}/image ({d['augment']})"
    if row["rung"] == "finetune":
        kept = ""
        if d["best_epoch"] == 0:  # validation kept the starting probe: the backbone is the pretrained one
            kept = " (linear probe kept)" if d["unfreeze"] == 0 else " (linear probe kept, backbone frozen)"
        return (f"{tuned_part(d['unfreeze'])}, best epoch {d['best_epoch']}/{d['epochs']}{kept}, "
                f"{d['seconds_per_epoch']:.1f} s/epoch{refit}")
    return f"{picked}{d.get('head', '')}"
