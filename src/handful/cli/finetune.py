"""``handful finetune``: fine-tune the backbone's last blocks; saves a normal handful model."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ..augment.pipeline import check_config
from ..errors import DataError
from ..jsontext import json_text
from .augment import ConfigOpt, FillOpt, PresetOpt, augment_config
from .core import print_confidence, print_skipped, split_train_and_eval
from .main import app
from .model_record import model_keys
from .options import JsonOpt, NestedOpt, SeedOpt
from .output import Output, pct, plural

HISTORY_FILE, CURVES_FILE = "history.json", "curves.png"
RefitOpt = Annotated[bool, typer.Option(
    help="After early stopping picks the epoch count, train again on all images (validation "
         "included) for that many epochs.")]
MAX_WEIGHT_DECAY = 1.0  # AdamW's decoupled decay; common values are 0.01-0.1


def check_weight_decay(value: float, option: str = "--weight-decay") -> float:
    """AdamW's weight decay from the command line: a finite number in [0, MAX_WEIGHT_DECAY]."""
    if not (math.isfinite(value) and 0 <= value <= MAX_WEIGHT_DECAY):
        raise DataError(f"{option} must be a number between 0 and {MAX_WEIGHT_DECAY:g} (AdamW's weight "
                        f"decay; 0: off, usual 0.01-0.1). Got {value}.")
    return value


def _unfreeze(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError as err:
        raise DataError(f"--unfreeze must be a number of blocks or 'auto'. Got '{text}'.") from err


@app.command("finetune")
def finetune_command(
    data: Annotated[Path, typer.Argument(help="Image folder with a sub-folder per class "
                                               "(train/ val/ test/ splits are used when present).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    backbone: Annotated[str, typer.Option(help="efficientnet_lite0 or efficientnet_lite2.")]
    = "efficientnet_lite0",
    unfreeze: Annotated[str, typer.Option(help="Last blocks to fine-tune, with the final 1x1 conv (0: the "
                                               "new head only, backbone frozen), or auto (by data size).")]
    = "auto",
    epochs: Annotated[int, typer.Option(help="Most epochs to train.")] = 12,
    patience: Annotated[int, typer.Option(help="Stop after this many epochs without a better "
                                               "validation score: a higher accuracy, or the same "
                                               "accuracy with a lower loss (0: never).", min=0)] = 4,
    lr: Annotated[float, typer.Option(help="Learning rate of the backbone blocks (head: 10x).")] = 1e-4,
    validation_fraction: Annotated[float, typer.Option(
        "--validation-fraction", "--val-fraction", help="Share of each class held out for early "
        "stopping.")] = 0.15,
    dropout: Annotated[float, typer.Option(help="Dropout before the new head (0: off).")] = 0.0,
    label_smoothing: Annotated[float, typer.Option(help="Label smoothing of the loss (0: off).")] = 0.0,
    weight_decay: Annotated[float, typer.Option(
        help=f"AdamW weight decay of the tuned blocks and the head (0 to {MAX_WEIGHT_DECAY:g}; 0: off).")]
    = 1e-2,
    augment: PresetOpt = "default",
    fill: FillOpt = None,
    config_file: ConfigOpt = None,
    refit: RefitOpt = True,
    force: Annotated[bool, typer.Option(help="Replace an existing model at --out.")] = False,
    seed: SeedOpt = 0,
    nested: NestedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune the last blocks of an EfficientNet-Lite backbone with a new head."""
    from ..bundle.store import check_out_free
    from ..evaluate import plot_confusion_matrix
    from ..finetune.curves import plot_history
    from ..finetune.tune import FinetuneConfig, finetune
    out = Output(as_json)
    if not (math.isfinite(lr) and lr > 0):
        raise DataError(f"--lr must be a finite number more than 0. Got {lr}.")
    if epochs < 1:
        raise DataError(f"--epochs must be at least 1. Got {epochs}.")
    if not 0 <= validation_fraction < 0.9:
        raise DataError(f"--validation-fraction must be in [0, 0.9). Got {validation_fraction}.")
    if not (0 <= dropout < 1 and 0 <= label_smoothing < 1):
        raise DataError(f"--dropout and --label-smoothing must be in [0, 1). Got {dropout} and "
                        f"{label_smoothing}.")
    check_weight_decay(weight_decay)
    augmentation = check_config(augment_config(augment, fill, config_file))
    check_out_free(out_dir, force, data)
    train_ex, eval_ex = split_train_and_eval(data, nested)
    config = FinetuneConfig(unfreeze=_unfreeze(unfreeze), epochs=epochs, patience=patience, lr=lr,
                            head_lr=10 * lr, validation_fraction=validation_fraction,
                            dropout=dropout, label_smoothing=label_smoothing, weight_decay=weight_decay,
                            augment=augmentation, seed=seed, refit=refit)

    def show_epoch(epoch: int, m: dict) -> None:
        train = (f"train loss {m['train_loss']:.3f} acc {pct(m['train_accuracy'])}"
                 if "train_loss" in m else "start (linear probe)")
        if m.get("refit"):
            out.print(f"refit on all images, epoch {epoch:2d}: {train} ({m['seconds']:.1f} s)")
            return
        val = f"val loss {m['val_loss']:.3f} acc {pct(m['val_accuracy'])}" if "val_loss" in m else ""
        out.print(f"epoch {epoch:2d}: {', '.join(x for x in (train, val) if x)} ({m['seconds']:.1f} s)")

    with out.progress("Decoding images", len(train_ex)) as advance:
        result = finetune(train_ex, backbone, config, show_epoch, advance)
    clf, history, summary = result.classifier, result.history, result.summary
    calibration = getattr(clf, "calibration_", None)  # finetune() sets it: on the validation split, or why not
    skipped = tuple((s["path"], s["reason"]) for s in clf.training_["skipped"])  # decoding failures too
    print_skipped(out, replace(train_ex, skipped=skipped))
    if summary["n_val"] == 0 and validation_fraction > 0:
        counts = clf.training_["counts"]
        smallest = min(counts, key=counts.get)
        warnings.warn(f"No validation split: the smallest class, '{smallest}', has {counts[smallest]} image(s) "
                      "(3 distinct ones are needed to hold one out), so early stopping (--patience) was off and the "
                      f"model is the last of {plural(epochs, 'epoch')}. Add images to that class.", stacklevel=2)
    # after a refit the saved model is not the one validation scored (it trained on those images too)
    val_key = "val_accuracy_before_refit" if summary["refit"] else "val_accuracy"
    metrics = {val_key: history.best.get("val_accuracy"), "best_epoch": history.best_epoch}
    evaluation = None
    if eval_ex is not None:
        evaluation = clf.evaluate(eval_ex)
        # held-out files that do not decode: listed, not only in report.json
        print_skipped(out, replace(eval_ex, skipped=tuple((s["path"], s["reason"]) for s in evaluation["skipped"])))
        metrics.update(heldout_accuracy=evaluation["accuracy"], heldout_n=evaluation["n"],
                       heldout_balanced_accuracy=evaluation["balanced_accuracy"],
                       heldout_source=eval_ex.source)

    def write_extra(tmp: Path) -> None:
        (tmp / HISTORY_FILE).write_text(json_text(history.to_json(), indent=2))
        plot_history(history, tmp / CURVES_FILE,
                     title=f"Fine-tuning {backbone} ({tuned_part(summary['unfreeze'])})")
        report = {"finetune": summary, "metrics": metrics, "calibration": calibration,
                  "evaluation": evaluation}
        (tmp / "report.json").write_text(json_text(report, indent=2))
        if evaluation:
            plot_confusion_matrix(evaluation["confusion_matrix"], evaluation["classes"],
                                  tmp / "confusion_matrix.png")

    path = clf.save(out_dir, force=force, metrics=metrics, extra_files=write_extra)
    out.print(f"Fine-tuned the {tuned_part(summary['unfreeze'])} on {summary['n_train']} images "
              f"(validation {summary['n_val']}); best epoch {history.best_epoch}" + _refit_note(summary)
              + f"; {summary['seconds_per_epoch']:.1f} s per epoch, {summary['seconds']:.0f} s in all.")
    if evaluation:
        lo, hi = evaluation["accuracy_ci95"]
        out.print(f"Held-out accuracy on {eval_ex.source}: {pct(evaluation['accuracy'])} "
                  f"(95% CI {pct(lo)}-{pct(hi)}, n={evaluation['n']})")
    if calibration is not None:  # on the validation split, as train's is said on its CV answers
        print_confidence(out, calibration, evaluation, key="val", who="network",
                         on=f"the validation split of {plural(calibration.get('n', 0), 'image')}")
    if not summary["backbone_tuned"]:
        out.print(f"The backbone keeps its pretrained weights, so the model is saved as a plain {backbone} "
                  "model (no backbone weights; its embeddings come from the embedding cache).")
    out.print(f"Model saved to {path}; curves: {path / CURVES_FILE}")
    # the keys every command that writes a model gives (model, backbone, head, classes, n_train,
    # skipped), as saved: --backbone may be spelled efficientnet-lite0
    out.result({**model_keys(path), "backbone_tuned": summary["backbone_tuned"],
                "finetune": summary, "metrics": metrics, "calibration": calibration,
                "history": history.to_json(),
                "heldout_skipped": evaluation["skipped"] if evaluation else []})


def tuned_part(n_unfreeze: int) -> str:
    """What of the backbone trained (besides the new head), for a sentence: 'last block and the
    final 1x1 conv', 'last 3 blocks and ...', or 'head only (backbone frozen)' at 0."""
    if n_unfreeze == 0:
        return "head only (backbone frozen)"
    blocks = "last block" if n_unfreeze == 1 else f"last {n_unfreeze} blocks"
    return f"{blocks} and the final 1x1 conv"


def _refit_note(summary: dict) -> str:
    """How the saved model was made after the best epoch was found."""
    refit, probe = summary["refit"], summary["best_epoch"] == 0
    kept = " (the linear-probe start: no epoch of fine-tuning beat it)" if probe else ""
    if not refit:
        return kept
    if probe:
        return f"{kept}, so the model is that probe fitted again on all {refit['n_train']} images"
    return f", then again on all {refit['n_train']} images for {plural(refit['epochs'], 'epoch')}"
