"""``handful zeroshot``: classify images or texts from class names alone (no labeled example)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..data import Examples, list_images, read_table, scan_splits
from ..data.folder import has_splits
from ..data.table import is_table_path
from ..errors import DataError, DataNotFoundError
from ..zeroshot import ZeroShotScorer, match_class_names, parse_class_list
from ..zeroshot.scorer import check_template
from .main import app
from .options import JsonOpt, LabelColOpt, NestedOpt, NoCacheOpt, TextColOpt, check_columns_apply
from .output import Output, check_replaceable, pct, starts_with, write_text_file
from .predict import report_skipped

ZeroShotPriorOpt = Annotated[bool, typer.Option(
    "--zero-shot-prior", help="Combine the head with zero-shot scores from the class names "
    "(weight chosen by cross-validation).")]
ClassesOpt = Annotated[str | None, typer.Option(
    help="Class names, comma-separated (default: the labels). Matched to the labels by name; "
    "a name that matches a label goes to it, the others in the other labels' sorted order "
    "(numbers by value): --classes \"negative,positive\" for labels 0,1.")]
TemplateOpt = Annotated[str | None, typer.Option(
    help="Phrase around each class name, with {} for the name, e.g. \"this review is {}\".")]


def class_names_option(classes: str | None, labels) -> dict[str, str]:
    """``{label: class name}`` from ``--classes`` (empty: every label is its own name)."""
    if classes is None:
        return {}
    return match_class_names(parse_class_list(classes), sorted(set(labels)))


def prior_options(zero_shot_prior: bool, classes: str | None, template: str | None,
                  labels) -> dict:
    """Classifier keyword arguments for ``--zero-shot-prior``, ``--classes``, ``--template``."""
    if not zero_shot_prior:
        if classes or template:
            raise DataError("--classes and --template name the classes for the zero-shot prior; "
                            "add --zero-shot-prior (or drop them).")
        return {}
    check_template(template)
    return {"zero_shot_prior": True, "class_names": class_names_option(classes, labels),
            "zero_shot_template": template}


def names_used(clf, labels) -> dict[str, str]:
    """``{label: class name}`` the zero-shot prior read for ``labels``: the ``--classes`` name, else
    the label itself (as ``zero_shot_map_for`` names them), so a report never says ``null``."""
    return {str(label): clf.class_names.get(str(label), str(label)) for label in labels}


def selection_notes(clf) -> dict:
    """What train reports about the model choice: the negative-transfer warning and, with
    ``--zero-shot-prior``, the prior's weight and how it was chosen."""
    from ..select import transfer_warning

    notes = {"transfer_warning": transfer_warning(clf.leaderboard_)}
    head = clf.head_
    if hasattr(head, "weight_") and hasattr(head, "zero_shot_map"):
        zs = head.zero_shot_map
        cv = getattr(head, "cv_accuracy_", None)
        # keyed by its metric, as the search's figures are: cv_balanced_accuracy on imbalanced classes
        notes["zero_shot_prior"] = {
            "weight": float(head.weight_[0]), "chosen_by": getattr(head, "weight_source_", ""),
            f"cv_{(cv or {}).get('metric', 'accuracy')}": cv,
            "method": zs.kind, "class_names": names_used(clf, head.classes_),
            "template": clf.zero_shot_template}
    return notes


def prior_cv(prior: dict | None) -> dict | None:
    """The prior's CV scores in a ``selection_notes`` entry (``cv_accuracy`` or
    ``cv_balanced_accuracy``), with their ``metric`` ("accuracy" where an older note lacks it)."""
    prior = prior or {}
    cv = prior.get("cv_accuracy") or prior.get("cv_balanced_accuracy")
    return {"metric": "accuracy", **cv} if cv else None


def print_selection(out: Output, notes: dict) -> None:
    """The negative-transfer warning and the zero-shot prior's weight, for people."""
    if notes.get("transfer_warning"):
        out.print(f"warning: {notes['transfer_warning']}", style="yellow")
    prior = notes.get("zero_shot_prior")
    if prior:
        cv = prior_cv(prior)
        extra = (f"; CV {cv['metric'].replace('_', ' ')} {pct(cv['without_prior'])} without, "
                 f"{pct(cv['with_prior'])} with" if cv else "")
        out.print(f"Zero-shot prior ({prior['method']}): weight {prior['weight']:.3g}, chosen by "
                  f"{prior['chosen_by']}{extra}")


def _read_data(data: Path, text_column, label_column, classes: str | None, nested: bool = False) -> Examples:
    """Labeled examples when ``data`` has labels, else unlabeled ones (labels all '')."""
    if not data.exists():
        raise DataNotFoundError(f"Data '{data}' does not exist. Give a folder of images (one "
                                "sub-folder per class to measure accuracy) or a CSV/TSV of texts.")
    if data.is_file() and is_table_path(data):
        try:
            return read_table(data, text_column, label_column)
        except DataError:
            if classes is None:
                raise
            return read_table(data, text_column, labeled=False)
    if data.is_dir() and (has_splits(data) or any(p.is_dir() for p in data.iterdir())):
        # with --classes, a folder of one class is a test of that class (the others are the names)
        splits = scan_splits(data, nested=nested, min_classes=1 if classes else 2)
        return splits.get("test") or splits.get("val") or splits["train"]
    items, skipped = list_images([data])
    return Examples(tuple(items), tuple("" for _ in items), "image", tuple(skipped), str(data))


@app.command()
def zeroshot(
    data: Annotated[Path, typer.Argument(help="Labeled folder (accuracy is reported), a folder "
                                             "of images, or a CSV/TSV of texts.")],
    classes: ClassesOpt = None,
    backbone: Annotated[str, typer.Option(help="auto (efficientnet_lite2 / minilm), another "
                        "backbone, or open_clip:ARCH/TAG for CLIP.")] = "auto",
    template: TemplateOpt = None,
    text_column: TextColOpt = None,
    label_column: LabelColOpt = None,
    nested: NestedOpt = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write predictions (CSV).")] = None,
    no_cache: NoCacheOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Classify from class names with no labeled example (ConSE on the ImageNet head, CLIP, or
    text similarity); reports accuracy when DATA is labeled."""
    from ..evaluate import classification_report
    out = Output(as_json)
    if out_file:
        check_replaceable(out_file, starts_with(b"input,label,prediction"))
    check_template(template)
    check_columns_apply([data], text_column, label_column, nested)
    examples = _read_data(data, text_column, label_column, classes, nested)
    if not len(examples):
        first = f", e.g. {examples.skipped[0][0]}: {examples.skipped[0][1]}" if examples.skipped else ""
        raise DataError(f"No usable inputs in {data} ({len(examples.skipped)} skipped{first}). "
                        "Give images or texts to classify.")
    labeled = all(examples.labels)
    if not labeled and classes is None:
        raise DataError(f"{data} has no labels, so the class names are unknown. Pass --classes "
                        "\"name1,name2,...\".")
    if labeled:
        mapping = class_names_option(classes, examples.labels) or {c: c for c in examples.classes}
        # names in --classes that no label took are classes too (none of the data is theirs, yet
        # each answer must choose among all the names): `--classes ant,bee` on a folder of ants
        extra = [n for n in parse_class_list(classes) if n not in mapping.values()] if classes else []
        mapping |= {n: n for n in extra}
        labels = sorted(set(mapping) - set(extra)) + extra
    else:
        labels = parse_class_list(classes)
        mapping = {name: name for name in labels}
    scorer = ZeroShotScorer([mapping[lab] for lab in labels], examples.modality, backbone, template,
                            cache=False if no_cache else None)
    with out.progress("Zero-shot scoring", len(examples)) as advance:
        scores, failures = scorer.scores(list(examples.items), advance)
    examples = examples.without(failures) if failures else examples
    ok = [i for i in range(len(scores)) if i not in failures]
    if not ok:
        raise DataError(f"No input in {data} could be read ({len(failures)} failed, e.g. "
                        f"{next(iter(failures.values()))}).")
    predicted = [labels[int(j)] for j in np.argmax(scores[ok], axis=1)]
    result = {"backbone": scorer.backbone_.name, "method": scorer.map_.kind,
              "classes": {lab: mapping[lab] for lab in labels}, "n": len(predicted),
              "template": template, "skipped": [{"path": p, "reason": r} for p, r in examples.skipped]}
    if labeled:
        report = classification_report(list(examples.labels), predicted, labels)
        result |= {k: report[k] for k in ("accuracy", "accuracy_ci95", "balanced_accuracy",
                                          "per_class", "confusion_matrix")}
        lo, hi = report["accuracy_ci95"]
        out.print(f"Zero-shot accuracy {pct(report['accuracy'])} (95% CI {pct(lo)}-{pct(hi)}), "
                  f"n={report['n']}, backbone {result['backbone']} ({result['method']})")
        out.table("Per class", ["label", "class name", "recall", "support"],
                  [[lab, mapping[lab], pct(m["recall"]) if m["support"] else "-", m["support"]]
                   for lab, m in report["per_class"].items()])
    else:
        counts = {lab: predicted.count(lab) for lab in labels}
        out.print(f"Predicted {len(predicted)} items: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        result["counts"] = counts
    # the files left out, as predict lists them: counted in the JSON only, a broken image among
    # good ones went unmentioned on the terminal
    report_skipped(out, list(examples.skipped), None)
    if out_file:
        _write_predictions(out_file, examples, predicted, scores[ok], labels)
        out.print(f"Predictions: {out_file}")
    out.result(result | {"out": str(out_file) if out_file else None})  # as predict names its --out


def _write_predictions(path: Path, examples: Examples, predicted: list[str], scores: np.ndarray,
                       labels: list[str]) -> None:
    """The CSV, through a temporary file and one rename: Ctrl-C midway left half a file in place
    of the user's earlier predictions."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["input", "label", "prediction"] + [f"score_{lab}" for lab in labels])
    for item_id, true, pred, row in zip(examples.ids, examples.labels, predicted, scores, strict=True):
        writer.writerow([item_id, true, pred] + [f"{s:.4f}" for s in row])
    write_text_file(path, text.getvalue())
