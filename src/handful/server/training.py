"""One training job: project examples -> embeddings -> head -> report -> a new model version.

Runs inside the worker process. The job first pins its example files (hard links under
``tmp/``), so deleting examples while it trains changes the project, not this run. The model
directory is written atomically under a name unique to the job, and becomes a version only in
the catalog transaction that also marks the job succeeded. A job that stops short of that
(cancelled, failed, its project deleted) removes its pins and model folder on the way out; a
kill leaves at most those, which the next server start removes.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.base import clone

from ..cache import FeatureCache
from ..classifier import Classifier
from ..data import Examples
from ..data.duplicates import duplicate_groups
from ..errors import DataError
from ..evaluate import classification_report
from ..evaluate.label_check import doubtful_examples
from ..heads.threads import fits_at_once, one_thread
from ..jsontext import json_text
from ..select.search import cv_splits, first_repeat
from . import extras
from .catalog import Catalog
from .catalog_jobs import TrainedExample
from .curve import learning_curve
from .errors import NotFoundError
from .schemas import TrainOptions

Report = Callable[[str, float, str], None]  # (stage, progress 0..1, message)


def pinned_dir(catalog: Catalog, job_id: int) -> Path:
    """Where job ``job_id`` holds links to its example files while it trains (removed at its end;
    ``recover`` empties ``tmp/`` at server start after a kill)."""
    return catalog.tmp_dir / f"job-{job_id}-examples"


def project_examples(catalog: Catalog, project: dict, folder: Path) -> Examples:
    """The project's examples as they are now, as core ``Examples`` (image files or texts).

    Image files are hard-linked into ``folder`` in the transaction that reads the rows, so no
    delete commits in between: deleting an example, its class or the project while the job
    trains removes the store's file but not the job's link, and the run trains on what it
    started with. A file missing from the store is skipped and listed, not a failed job.
    """
    return _pinned_examples(catalog, project, folder)[0]


def _pinned_examples(catalog: Catalog, project: dict, folder: Path) -> tuple[Examples, dict[str, dict]]:
    """``project_examples``, and the catalog row of each (by its id in ``Examples.ids``)."""
    rows, links, missing = _pin_files(catalog, project, folder)
    keep = [i for i in range(len(rows)) if i not in missing]
    if project["modality"] == "image":
        items = tuple(str(links[i]) for i in keep)
    else:
        items = tuple(rows[i]["text"] for i in keep)
    ids = tuple(f"#{r['id']} {r['name']}" for r in rows)
    skipped = tuple((ids[i], "its file is missing from the server's example store (blobs/)")
                    for i in sorted(missing))
    examples = Examples(items, tuple(rows[i]["label"] for i in keep), project["modality"], skipped,
                        f"project '{project['name']}'", tuple(ids[i] for i in keep))
    if len(examples.classes) < 2:
        raise DataError(f"Project '{project['name']}' has {len(examples.classes)} class(es) "
                        f"{list(examples.classes)}; training needs examples of at least 2 classes. "
                        "Add examples of another class.")
    return examples, dict(zip(ids, rows, strict=True))


def _pin_files(catalog: Catalog, project: dict, folder: Path
               ) -> tuple[list[dict], dict[int, Path], set[int]]:
    """(rows, row index -> pinned file, indices whose file is missing); no files for texts."""
    links: dict[int, Path | None] = {}
    missing: set[int] = set()
    image = project["modality"] == "image"
    if image:
        folder.mkdir(parents=True, exist_ok=True)
    with catalog.transaction():  # BEGIN IMMEDIATE: a delete waits until every file is linked
        rows = catalog.training_examples(project["id"])
        for i, row in enumerate(rows if image else ()):
            try:
                links[i] = catalog.blobs.pin(row["digest"], row["ext"], folder)
            except FileNotFoundError:
                missing.add(i)
    for i, link in links.items():
        if link is None:  # no hard links on this file system: copies, outside the transaction
            try:
                links[i] = catalog.blobs.copy_to(rows[i]["digest"], rows[i]["ext"], folder)
            except FileNotFoundError:  # deleted since the rows were read
                missing.add(i)
    return rows, links, missing


def train_job(catalog: Catalog, job: dict, report: Report) -> int | None:
    """Train the job's project and register the version; returns its number (None if cancelled).

    However it ends short of a version (cancelled, project deleted, failed, the worker told to
    stop) its pinned example files and unregistered model folder are removed on the way out.
    """
    project = catalog.get_project(job["project_id"])
    path = catalog.models_dir / str(project["id"]) / f"job-{job['id']}"
    pins = pinned_dir(catalog, job["id"])
    try:  # one fit at a time: the web process answering predictions shares the machine, and a
        with fits_at_once(1):  # cancel stops the model search after the fit it arrived in
            return _train(catalog, job, project, path, pins, report)
    finally:
        shutil.rmtree(pins, ignore_errors=True)
        if path not in catalog.version_paths():  # checked, not assumed: a stop signal may land
            _remove_unregistered(catalog, project["id"], path)  # just after the commit


def _train(catalog: Catalog, job: dict, project: dict, path: Path, pins: Path,
           report: Report) -> int | None:
    options = TrainOptions(**job["options"])
    examples, rows = _pinned_examples(catalog, project, pins)
    started = time.perf_counter()
    fit = _fit_finetuned if options.finetune else _fit_on_embeddings
    clf, examples, doc, metrics = fit(catalog, options, examples, report)
    report("saving", 0.95, "writing the model")
    doc |= {"options": options.model_dump(), "training": examples.summary(),
            "seconds": round(time.perf_counter() - started, 2)}
    clf.save(path, metrics=metrics, extra_meta={"project": project["name"]},
             extra_files=lambda tmp: (tmp / "report.json").write_text(json_text(doc, indent=2)))
    # None when cancelled (or the project deleted) while saving: the folder never becomes a version
    return catalog.commit_version(job["id"], path, clf.backbone_name,  # an alias: as the user gave it
                                  _head_label(clf), [str(c) for c in clf.classes_],
                                  len(examples), metrics, _trained(examples, rows))


def _trained(examples: Examples, rows: dict[str, dict]) -> list[TrainedExample]:
    """The examples the model was fit on (those that could not be read left out), with the labels
    read when the job pinned them: the version's record (``Catalog.version_examples``)."""
    return [TrainedExample(rows[key]["id"], rows[key]["digest"], rows[key]["ext"], str(label))
            for key, label in zip(examples.ids, examples.labels, strict=True)]


def _remove_unregistered(catalog: Catalog, project_id: int, path: Path) -> None:
    """Remove a model folder no version refers to; with the project gone, its whole folder (the
    delete removed it already, but a save still running then wrote it again)."""
    shutil.rmtree(path, ignore_errors=True)
    try:
        catalog.get_project(project_id)
    except NotFoundError:  # project ids are never reused: nothing else lives in its folder
        shutil.rmtree(path.parent, ignore_errors=True)


def _fit_on_embeddings(catalog: Catalog, options: TrainOptions, examples: Examples, report: Report):
    """Frozen backbone: embed (cached), choose and fit the head, cross-validate, learning curve."""
    clf = _classifier(options, examples.modality, catalog)
    X, examples = _embed(clf, examples, report)
    extra = _augmented_views(clf, examples, options, report)
    report("selecting", 0.72, "comparing heads by cross-validation")

    def fitted(done: int, total: int, label: str) -> None:  # a cancel lands after this fit
        report("selecting", 0.72 + 0.08 * done / total, f"comparing heads by cross-validation: "
                                                         f"{done}/{total} fits ({label})")

    with one_thread():  # heads train on small matrices: one thread is several times faster
        # a head named in the options is cross-validated too, as `handful train` does: its
        # out-of-fold answers calibrate it (without them a named head kept its raw confidence)
        clf.fit_embeddings(X, examples, extra, score_head=True, on_fit=fitted)
        report("evaluating", 0.8, "cross-validated predictions")
        evaluation = cross_validated_report(clf, X, examples)
        report("advice", 0.88, "learning curve")
        curve = extras.advice(clf, X, examples) or learning_curve(clf, X, examples)
    board = clf.leaderboard_.to_json() if clf.leaderboard_ is not None else None
    selection = board["selection"] if board else None  # Leaderboard.selection(), computed once
    if evaluation:
        evaluation["note"] = _optimism_note(selection, evaluation)
    # how the confidence was calibrated on the CV answers, as `handful train` writes it (Results tab)
    doc = {"evaluation": evaluation, "learning_curve": curve, "leaderboard": board,
           "calibration": clf.calibration_}
    return clf, examples, doc, _metrics(clf, evaluation, selection)


def _fit_finetuned(catalog: Catalog, options: TrainOptions, examples: Examples, report: Report):
    """Fine-tune the backbone's last blocks (handful.finetune); scored on its validation split."""
    from ..finetune.tune import FinetuneConfig, finetune

    backbone = "efficientnet_lite0" if options.backbone == "auto" else options.backbone
    config = FinetuneConfig(augment="default" if options.augment == "none" else options.augment,
                            seed=options.seed)
    n, done = len(examples), 0

    def decoded(k: int) -> None:
        nonlocal done
        done += k
        report("decoding", 0.02 + 0.13 * done / n, f"{done}/{n} images")

    def epoch_end(epoch: int, m: dict) -> None:
        if m.get("refit"):  # the chosen epoch count again, on all images: the last stretch
            report("refit on all images", 0.75 + 0.15 * min(1.0, epoch / config.epochs), f"epoch {epoch}")
            return
        val = m.get("val_accuracy")
        report("fine-tuning", 0.15 + 0.6 * epoch / config.epochs,
               f"epoch {epoch}/{config.epochs}" + (f", validation accuracy {val:.1%}" if val is not None else ""))

    result = finetune(examples, backbone, config, epoch_end, decoded)
    history = result.history.to_json()
    val = result.history.best.get("val_accuracy")
    # after a refit on all images (validation ones too) the saved model is not the one validation
    # scored: named as `handful finetune` names it, so no one reads it as this model's accuracy
    key = "val_accuracy_before_refit" if result.summary["refit"] else "val_accuracy"
    metrics = {key: float(val)} if val is not None else {}
    metrics["best_epoch"] = result.history.best_epoch
    doc = {"evaluation": None, "learning_curve": None, "leaderboard": None,
           "finetune": {**result.summary, "history": history}}
    return result.classifier, examples, doc, metrics


def _classifier(options: TrainOptions, modality: str, catalog: Catalog) -> Classifier:
    kwargs = {}
    if options.augment != "none" and modality == "image" and extras.has_feature_augment():
        kwargs = {"augment_views": options.augment_views, "augment": options.augment}
    return Classifier(backbone=options.backbone, head=options.head,
                      cache=FeatureCache(catalog.cache_dir), random_state=options.seed, **kwargs)


def _embed(clf: Classifier, examples: Examples, report: Report) -> tuple[np.ndarray, Examples]:
    n, done = len(examples), 0
    report("embedding", 0.02, f"loading backbone for {n} examples")
    clf.backbone_for(examples.modality)

    def advance(k: int) -> None:
        nonlocal done
        done += k
        report("embedding", 0.05 + 0.6 * done / n, f"{done}/{n} examples")

    return clf.embed_examples(examples, advance)


def _augmented_views(clf: Classifier, examples: Examples, options: TrainOptions,
                     report: Report) -> tuple[np.ndarray, np.ndarray] | None:
    if not getattr(clf, "augment_views", 0):
        return None
    n, done = len(examples) * clf.augment_views, 0

    def advance(k: int) -> None:
        nonlocal done
        done += k
        report("augmenting", 0.65 + 0.07 * done / max(1, n), f"{done}/{n} augmented views")

    report("augmenting", 0.65, f"embedding {n} augmented views ({options.augment})")
    return clf.embed_views(examples, advance)


def cross_validated_report(clf: Classifier, X: np.ndarray, examples: Examples) -> dict | None:
    """Out-of-fold predictions of the chosen head: accuracy (CI), per class, confusion, errors.

    Every example is predicted once by a head fit without it. When the head itself was chosen
    on the same folds the estimate is optimistic: ``_optimism_note`` says by about how much.
    """
    y = np.asarray(examples.labels, dtype=object)
    splits, scheme = cv_splits(y, clf.random_state, groups=duplicate_groups(examples))
    if splits is None:
        return None
    folds = first_repeat(splits, len(y))  # the first repeat partitions the data once
    n_folds = len(folds)
    classes = [str(c) for c in clf.classes_]
    proba = np.zeros((len(y), len(classes)))  # each example's out-of-fold probabilities
    for train_idx, test_idx in folds:
        head = clone(clf.head_).fit(X[train_idx], y[train_idx]).calibrate(clf.head_.calibration_)
        # as sure as the saved model would say; a class a fold lacks keeps 0
        proba[np.ix_(test_idx, np.searchsorted(clf.classes_, head.classes_))] = head.predict_proba(X[test_idx])
    report = classification_report(list(y), [str(c) for c in clf.classes_[proba.argmax(axis=1)]], classes)
    # the held-out mistakes, least likely under their own label first, as `handful train` lists them
    wrong, called, confident = doubtful_examples(proba, np.searchsorted(clf.classes_, y))
    report["mistakes"] = [{"example": examples.ids[i], "label": str(y[i]), "predicted": classes[j],
                           "confidence": float(proba[i, j]), "p_label": float(proba[i, classes.index(str(y[i]))]),
                           "confident": bool(sure)}
                          for i, j, sure in zip(wrong[:24], called[:24], confident[:24])]
    copies = scheme.partition(", ")[2]  # "N copies kept together", when there are copies
    report["scheme"] = f"{n_folds}-fold stratified CV, out-of-fold predictions" + (
        f", {copies}" if copies else "")
    return report


def _optimism_note(selection: dict | None, evaluation: dict | None = None) -> str:
    """Why the CV report flatters the model, and by about how much (``Leaderboard.selection()``).

    The bias of the choice is taken off the score the note is shown under: ``evaluation``'s
    out-of-fold score where given, else the leaderboard's (repeated-CV) score. Taken off the
    leaderboard's 75.0% under an out-of-fold 66.7%, it said "optimistic: ... about 70.8%".
    """
    if selection is None or selection["candidates"] < 2:
        return ("Each example was predicted by a head fit without it; no choice among candidates was "
                "made on these folds.")
    if selection["selection_bias"] < 5e-4:  # as `handful train` says it
        return (f"The model was chosen as the best of {selection['candidates']} candidates on the same "
                "folds, but none beat it on any fold, so picking it flatters nothing.")
    metric = selection.get("metric", "accuracy")
    shown = evaluation[metric] if evaluation and evaluation.get(metric) is not None else selection[f"cv_{metric}"]
    score = f"{max(0.0, shown - selection['selection_bias']):.1%}"
    if metric == "balanced_accuracy":  # chosen by mean per-class recall: say so, and why
        low, high = selection["class_sizes"]
        score += (f" balanced accuracy (the mean of the classes' recalls, which picked it: classes "
                  f"range from {low} to {high} examples)")
    return (f"The model was chosen as the best of {selection['candidates']} candidates on the same "
            f"folds, so this is optimistic: allowing for that choice, about "
            f"{score} on new data ({selection['method']}).")


def _metrics(clf: Classifier, evaluation: dict | None, selection: dict | None) -> dict[str, float]:
    metrics: dict[str, float] = {}
    if evaluation:
        metrics.update(accuracy=evaluation["accuracy"], accuracy_low=evaluation["accuracy_ci95"][0],
                       accuracy_high=evaluation["accuracy_ci95"][1],
                       balanced_accuracy=evaluation["balanced_accuracy"])
    board = clf.leaderboard_
    if board is not None and board.best["mean"] is not None:
        # keyed by the search's metric, as `handful train` (cli.core.cv_metrics): cv_accuracy, or
        # cv_balanced_accuracy on imbalanced classes; a key never holds the other metric
        metric = board.metric
        metrics[f"cv_{metric}"] = board.best["mean"]
        if selection is not None:
            metrics[f"cv_{metric}_adjusted"] = selection[f"adjusted_{metric}"]
    return metrics


def _head_label(clf: Classifier) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(clf.head_.get_params().items()))
    return f"{type(clf.head_).__name__}({params})"
