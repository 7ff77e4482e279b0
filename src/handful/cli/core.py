"""``handful train`` and ``handful evaluate``."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..data import Examples, load_examples, scan_splits
from ..data.table import is_table_path
from ..errors import DataError
from ..jsontext import json_text
from .abstain import print_selective, selective_phrase
from .advise import AdviseOpt, advice_for, print_advice
from .augment import (
    AugmentViewsOpt,
    ConfigOpt,
    FillOpt,
    PresetOpt,
    check_views,
    embed_views_with_progress,
    record_views_augment,
    views_augment,
)
from .familiar import familiarity_phrase, not_judged_reason
from .label_check import print_label_check
from .main import app
from .model_record import check_fewshot_classes
from .options import (
    FinetuneOpt,
    HeadOpt,
    JsonOpt,
    LabelColOpt,
    MaxPairsOpt,
    NestedOpt,
    NoCacheOpt,
    SeedOpt,
    TextColOpt,
    UnlabeledOpt,
    check_columns_apply,
    check_names,
)
from .output import Output, check_folder_replaceable, json_with, pct, write_folder_files
from .train_output import print_cv_accuracy, print_leaderboard, print_skipped
from .zeroshot import (
    ClassesOpt,
    TemplateOpt,
    ZeroShotPriorOpt,
    print_selection,
    prior_options,
    selection_notes,
)

if TYPE_CHECKING:
    from ..classifier import Classifier


def _per_class_rows(report: dict) -> list[list]:
    """Precision, recall, F1 and support per class; '-' where undefined (a class never predicted
    has no precision, one absent from the test set no recall)."""
    predicted = [sum(col) for col in zip(*report["confusion_matrix"])]
    return [[c, pct(m["precision"]) if predicted[i] else "-", pct(m["recall"]) if m["support"] else "-",
             pct(m["f1"]) if m["support"] and predicted[i] else "-", m["support"]]
            for i, (c, m) in enumerate(report["per_class"].items())]


def load_train_and_eval(data: Path, nested: bool, text_col, label_col) -> tuple[Examples, Examples | None]:
    """Train examples and, when the folder has val/ or test/, held-out examples."""
    if data.is_dir():
        return split_train_and_eval(data, nested)
    return load_examples(data, text_column=text_col, label_column=label_col), None


def split_train_and_eval(data: Path, nested: bool) -> tuple[Examples, Examples | None]:
    """The image folder's train split and its val/ (or test/) split, checked before any training:
    evaluating on a class the model never saw would fail after it."""
    splits = scan_splits(data, nested=nested)
    train, held_out = splits["train"], splits.get("val") or splits.get("test")
    unknown = sorted(set(held_out.labels) - set(train.labels)) if held_out else []
    if unknown:
        raise DataError(f"Held-out split {held_out.source} has classes {unknown} that {train.source} "
                        f"lacks (it has {list(train.classes)}). Add their images to {train.source}, "
                        "or remove those folders from the held-out split.")
    return train, held_out


def embed_with_progress(out: Output, clf: Classifier, examples: Examples, what: str):
    with out.progress(f"Embedding {what}", len(examples)) as advance:
        return clf.embed_examples(examples, advance)


def select_with_progress(out: Output, clf: Classifier, examples: Examples):
    """Embed (with ``--backbone auto``: with every candidate backbone, then pick by CV, its fits
    counted on a second bar that replaces the first)."""
    from ..select.auto import n_embedding_passes

    with ExitStack() as embedding:
        advance = embedding.enter_context(out.progress("Embedding training examples",
                                                       len(examples) * n_embedding_passes(clf, examples)))
        with out.fit_progress("Selecting model", before=embedding.close) as on_fit:
            return clf.select_backbone(examples, advance, on_fit)


def cv_metrics(selection: dict | None) -> dict:
    """The winner's CV score and the same less the bias of picking the best of the candidates
    (``Leaderboard.selection``), keyed by the search's metric: ``cv_accuracy`` and
    ``cv_accuracy_adjusted``, or on imbalanced classes ``cv_balanced_accuracy`` and
    ``cv_balanced_accuracy_adjusted`` (a key never holds the other metric); nothing without CV."""
    if selection is None:
        return {}
    metric = selection.get("metric", "accuracy")
    return {f"cv_{metric}": selection[f"cv_{metric}"], f"cv_{metric}_adjusted": selection[f"adjusted_{metric}"]}


def print_confidence(out: Output, calibration: dict | None, evaluation: dict | None,
                     on: str = "the cross-validation answers", key: str = "cv", who: str = "head") -> None:
    """How the model's confidence was calibrated, and how it held up on the held-out split: on
    ``train``'s out-of-fold answers (``cv_*`` keys), or as ``finetune`` says, on its validation split
    (``on``, ``key="val"``, ``who="network"``; after a refit, the temperature predates it)."""
    if calibration is None:
        return
    if calibration.get("note"):
        line = f"Confidence: {calibration['note']}"
    elif calibration["temperature"] == 1.0:  # no other temperature fits the answers better
        line = (f"Confidence: left as it was: on {on} the {who} was "
                f"{pct(calibration[f'{key}_confidence_before'])} sure and {pct(calibration[f'{key}_accuracy'])} right")
    else:
        line = (f"Confidence: calibrated on {on} (temperature {calibration['temperature']:.2g}): calibration "
                f"error {pct(calibration[f'{key}_ece_before'])} -> {pct(calibration[f'{key}_ece_after'])}")
    if calibration.get("before_refit") and not calibration.get("note"):
        line += "; the temperature is that of the network before the refit on all images"
    if evaluation:
        held = evaluation["confidence"]
        line += (f"; held-out: mean confidence {pct(held['mean_confidence'])} for "
                 f"{pct(evaluation['accuracy'])} right (calibration error {pct(held['ece'])})")
        point = selective_phrase(held.get("selective"))  # what answering only when sure would buy
        line += f"; {point}" if point else ""
    out.print(line)


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Folder with a sub-folder per class, or a CSV/TSV.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    backbone: Annotated[str, typer.Option(
        help="Backbone name, or auto: cross-validates efficientnet_lite0, efficientnet_lite2 and the two "
             "concatenated (texts: minilm, e5_small and the two) with the heads and keeps the best "
             "(over 5,000 examples: the first one only).")] = "auto",
    head: HeadOpt = "auto",
    force: Annotated[bool, typer.Option(help="Replace an existing model at --out.")] = False,
    seed: SeedOpt = 0,
    no_cache: NoCacheOpt = False,
    nested: NestedOpt = False,
    text_column: TextColOpt = None,
    label_column: LabelColOpt = None,
    finetune: FinetuneOpt = False,
    max_pairs: MaxPairsOpt = 640,
    unlabeled: UnlabeledOpt = None,
    augment_views: AugmentViewsOpt = 0,
    augment: PresetOpt = "default",
    fill: FillOpt = None,
    config_file: ConfigOpt = None,
    zero_shot_prior: ZeroShotPriorOpt = False,
    classes: ClassesOpt = None,
    template: TemplateOpt = None,
    advise: AdviseOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Train a classifier on labeled examples and save it as a model directory."""
    from ..bundle.store import check_out_free
    from ..classifier import Classifier
    from ..evaluate import plot_confusion_matrix
    from ..evaluate.label_check import LABEL_CHECK_CSV, first_listed, write_label_check_csv
    from ..heads import head_name
    from ..text.prepare import prepare_for_training
    out = Output(as_json)
    started = time.perf_counter()
    check_names(backbone, head, zero_shot_prior)
    check_columns_apply([data], text_column, label_column, nested)
    check_out_free(out_dir, force, data)
    views_from = views_augment(augment, fill, config_file, check_views(augment_views))
    train_ex, eval_ex = load_train_and_eval(data, nested, text_column, label_column)
    clf = Classifier(backbone=backbone, head=head, cache=False if no_cache else None,
                     random_state=seed, augment_views=augment_views, augment=views_from,
                     **prior_options(zero_shot_prior, classes, template, train_ex.labels))
    text_report = prepare_for_training(clf, train_ex, finetune, max_pairs, unlabeled, seed, out.print)
    X, train_ex = select_with_progress(out, clf, train_ex)
    extra = embed_views_with_progress(out, clf, train_ex)
    # a head given by name is scored alone, but not after SetFit tuning (the encoder saw every
    # example, so no CV claim)
    with out.fit_progress("Selecting model") as on_fit:  # the head search (a backbone given by name)
        clf.fit_embeddings(X, train_ex, extra, score_head="finetune" not in text_report, on_fit=on_fit)
    record_views_augment(clf.training_, augment, fill, config_file)
    out.print(f"Classes: {', '.join(f'{c} ({n})' for c, n in train_ex.counts().items())}")
    print_skipped(out, train_ex)
    print_leaderboard(out, clf.leaderboard_)
    selection = selection_notes(clf)
    print_selection(out, selection)
    cv = clf.leaderboard_.selection() if clf.leaderboard_ is not None else None
    metrics = cv_metrics(cv)
    evaluation = None
    if eval_ex is not None:
        evaluation = clf.evaluate(eval_ex)
        metrics.update(heldout_accuracy=evaluation["accuracy"],
                       heldout_balanced_accuracy=evaluation["balanced_accuracy"],
                       heldout_n=evaluation["n"], heldout_source=eval_ex.source,
                       heldout_mean_confidence=evaluation["confidence"]["mean_confidence"],
                       heldout_ece=evaluation["confidence"]["ece"])
    seconds = time.perf_counter() - started
    report = {"training": clf.training_, "metrics": metrics, "evaluation": evaluation,
              "calibration": clf.calibration_, "label_check": first_listed(clf.label_check_),
              "leaderboard": clf.leaderboard_.to_json() if clf.leaderboard_ else None,
              "seconds": round(seconds, 2), "cache": vars(clf._feature_cache().stats),
              **text_report, **selection}

    if advise and "finetune" in text_report:  # its curve would be measured on texts the encoder was tuned on
        out.print("Data-need estimate skipped: the encoder was fine-tuned on every example, so a "
                  "learning curve on them would flatter it (see --finetune in docs/text.md).")
        advise = False

    if clf.label_check_ and clf.label_check_["listed"]:  # all of them, where report.json keeps 50
        report["label_check"]["csv"] = str(out_dir / LABEL_CHECK_CSV)

    def write_report(tmp: Path) -> None:
        if report["label_check"] and report["label_check"].get("csv"):
            write_label_check_csv(clf.label_check_, tmp / LABEL_CHECK_CSV)
        if advise:
            advice_started = time.perf_counter()
            report["advice"] = advice_for(out, clf, X, train_ex, tmp / "learning_curve.png")
            report["advice_seconds"] = round(time.perf_counter() - advice_started, 2)
            if report["advice"] and report["advice"].get("plot"):  # where it will be, not the temp dir
                report["advice"]["plot"] = str(out_dir / "learning_curve.png")
        (tmp / "report.json").write_text(json_text(report, indent=2))
        if evaluation:
            plot_confusion_matrix(evaluation["confusion_matrix"], evaluation["classes"],
                                  tmp / "confusion_matrix.png")

    path = clf.save(out_dir, force=force, metrics=metrics, extra_files=write_report)
    head_label = f"{type(clf.head_).__name__} {clf.head_.get_params()}"
    out.print(f"Head: {head_label}")
    print_cv_accuracy(out, cv, selection.get("zero_shot_prior"))
    if evaluation:
        lo, hi = evaluation["accuracy_ci95"]
        out.print(f"Held-out accuracy on {eval_ex.source}: {pct(evaluation['accuracy'])} "
                  f"(95% CI {pct(lo)}-{pct(hi)}, n={evaluation['n']})")
        held_out = tuple((s["path"], s["reason"]) for s in evaluation["skipped"])  # as report.json has them
        print_skipped(out, replace(eval_ex, skipped=held_out), f"the held-out split {eval_ex.source}")
    print_confidence(out, clf.calibration_, evaluation)
    print_label_check(out, report["label_check"])
    if not_judged_reason(clf):  # said now, not only at the first predict
        out.print(not_judged_reason(clf))
    print_advice(out, report.get("advice"))
    advice_seconds = report.get("advice_seconds")
    took = f"{seconds:.1f} s" + (f"; data-need estimate {advice_seconds:.1f} s" if advice_seconds else "")
    out.print(f"Model saved to {path} ({took})")
    out.result({**selection, "advice": report.get("advice"),
                "model": str(path), "classes": list(map(str, clf.classes_)),
                # the head's registry name, as model.json, kshot and --head spell it (not "LogisticHead")
                "backbone": clf.backbone_name, "head": {"type": head_name(clf.head_),
                "params": clf.head_.get_params()}, "n_train": len(train_ex),
                "skipped": report["training"]["skipped"], "metrics": metrics,
                "heldout_skipped": evaluation["skipped"] if evaluation else None,
                "leaderboard": report["leaderboard"], "calibration": clf.calibration_,
                "label_check": report["label_check"], "seconds": round(seconds, 2),
                "advice_seconds": advice_seconds, **text_report})


def report_name(data: Path) -> str:
    """The folder under MODEL/evaluations/ of an evaluation of ``data``: the name of the folder or
    table it resolves to (``..``, ``.`` and ``x/..`` name a real folder; as written, ``..`` named
    the model itself), never a name that leads out of evaluations/."""
    resolved = data.resolve()
    name = resolved.name if resolved.is_dir() else resolved.stem
    return name if name not in ("", ".", "..") else "data"


def evaluation_dir(model: Path, data: Path) -> Path:
    """MODEL/evaluations/DATA-NAME, or DATA-NAME-2, -3, ... when that folder holds the report of other
    data (A/val, then B/val; or unknown data): each data set keeps its report, a re-run replaces its own."""
    base, data_id, n = model / "evaluations" / report_name(data), str(data.resolve()), 1
    while True:
        folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            recorded = json.loads((folder / "report.json").read_text()).get("data")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if not folder.exists() or recorded == data_id:
            return folder
        n += 1


_LABELED = {"image": "a folder of images with a sub-folder per class",
            "text": "a CSV/TSV with a text and a label column"}


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="Model directory.")],
    data: Annotated[Path, typer.Argument(help="Labeled folder or CSV/TSV to evaluate on (a folder with "
                                              "test/ or val/ inside: that split).")],
    report_dir: Annotated[Path | None, typer.Option("--out", help="Where to write report.json "
                          "and confusion_matrix.png (default: MODEL/evaluations/DATA-NAME, or DATA-NAME-2, "
                          "... when that holds another data set's report).")] = None,
    nested: NestedOpt = False,
    text_column: TextColOpt = None,
    label_column: LabelColOpt = None,
    no_cache: NoCacheOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Accuracy, balanced accuracy, per-class precision/recall/F1 and the confusion matrix."""
    from ..classifier import load
    from ..evaluate import plot_confusion_matrix
    out = Output(as_json)
    check_columns_apply([data], text_column, label_column, nested)
    clf = load(model, cache=False if no_cache else None)
    report_dir = report_dir or evaluation_dir(model, data)
    check_folder_replaceable(report_dir, "report.json", json_with("confusion_matrix"),
                             {"confusion_matrix.png": "png"}, inputs=(data,))
    if data.is_dir():  # a test set of one class is fine: its accuracy is that class's recall
        examples = scan_splits(data, nested=nested, min_classes=1)
        examples = examples.get("test") or examples.get("val") or examples["train"]
    elif is_table_path(data):
        examples = load_examples(data, text_column=text_column, label_column=label_column, min_classes=1)
    else:
        examples = load_examples(data, min_classes=1)
    if examples.modality != clf.modality_:  # else "classes ['0', '1'] the model does not know"
        raise DataError(f"Model '{model}' classifies {clf.modality_}s, but '{data}' holds {examples.modality}s. "
                        f"Evaluate on {_LABELED[clf.modality_]}.")
    check_fewshot_classes(clf, model, data, examples, nested)  # else "re-train with examples of them"
    with out.progress("Embedding", len(examples)) as advance:
        report = clf.evaluate(examples, advance)
    report["data"] = str(data.resolve())  # which data: MODEL/evaluations/ keeps one folder per data set

    def write(tmp: Path) -> None:
        (tmp / "report.json").write_text(json_text(report, indent=2))
        plot_confusion_matrix(report["confusion_matrix"], report["classes"], tmp / "confusion_matrix.png")

    # through a temporary folder beside it: Ctrl-C midway leaves the previous evaluation as it was
    write_folder_files(report_dir, write, main="report.json", stale=("confusion_matrix.png",))
    png = report_dir / "confusion_matrix.png"
    lo, hi = report["accuracy_ci95"]
    out.print(f"Accuracy {pct(report['accuracy'])} (95% CI {pct(lo)}-{pct(hi)}), balanced "
              f"{pct(report['balanced_accuracy'])}, n={report['n']}")
    sure, fitted = report["confidence"], getattr(clf, "calibration_", None)
    calibrated = ("not calibrated: the model was saved without cross-validated answers to fit it on"
                  if fitted is None else fitted.get("note") or f"calibrated at training, temperature "
                  f"{sure['temperature']:.2g}{' (as the head gives it)' if sure['temperature'] == 1 else ''}")
    out.print(f"Confidence: mean {pct(sure['mean_confidence'])} for {pct(report['accuracy'])} right, calibration "
              f"error {pct(sure['ece'])} ({calibrated})")
    print_selective(out, sure.get("selective"))
    unjudged = None if report.get("familiarity") else not_judged_reason(clf)  # trained on too few: why
    if report.get("familiarity") or unjudged:  # a model saved before handful kept its examples: nothing
        out.print(unjudged or familiarity_phrase(report["familiarity"]))
    out.table("Per class", ["class", "precision", "recall", "F1", "support"], _per_class_rows(report))
    absent = [c for c, m in report["per_class"].items() if not m["support"]]
    if absent:
        verb = "is" if len(absent) == 1 else "are"
        out.print(f"{len(absent)} of the model's {len(report['classes'])} classes {verb} not in this test set "
                  f"({', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''}): their recall is undefined (-).")
    print_label_check(out, report["label_check"], held_out=False)
    if report["skipped"]:
        out.print(f"Skipped {len(report['skipped'])} bad input(s): see {report_dir / 'report.json'}")
    out.print(f"Report: {report_dir / 'report.json'}; confusion matrix: {png}")
    out.result({k: report[k] for k in ("accuracy", "accuracy_ci95", "balanced_accuracy", "n",
                                        "per_class", "confusion_matrix", "classes", "skipped",
                                        "confidence", "familiarity", "label_check")}
               | ({"familiarity_not_judged": unjudged} if unjudged else {})
               | {"report": str(report_dir / "report.json")})
