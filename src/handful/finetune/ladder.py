"""The ladder: scratch -> scratch+aug -> features -> features+aug -> fine-tune, on one data set.

Each rung learns from the same training examples and is scored on the same test examples;
``train_seconds`` is what the rung costs on its own from image files (decoding and
embedding included, no cache), so the table says which rung is worth its time.

How the rungs use the training examples: the feature rungs fit their head on all of them
(nothing to stop early). The trained networks (scratch, fine-tune) first hold out 15% of each
class to choose the number of epochs by early stopping, then train again from the start on
all of them for that many epochs (``refit``, on by default), so every rung's final model has
seen every training image. With ``refit=False`` the networks' final models learn from 85%.

Example:
    >>> result = run_ladder(scan_folder("train"), scan_folder("test"))
    >>> [(r["rung"], r["accuracy"]) for r in result["rows"]]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

from ..cache import FeatureCache
from ..classifier import Classifier
from ..data import Examples, ImageDecodeError, load_image
from ..errors import DataError, UnknownNameError, did_you_mean
from .data import load_image_set, split_validation
from .scratch import ScratchConfig, train_scratch
from .tune import FinetuneConfig, finetune

RUNGS = ("scratch", "scratch+aug", "features", "features+aug", "finetune")


@dataclass
class LadderConfig:
    """Which rungs to run and how; ``augment`` is the preset of every augmented rung."""

    rungs: tuple[str, ...] = RUNGS
    backbone: str = "efficientnet_lite0"
    head: str = "logistic"
    augment: str = "default"
    augment_views: int = 4
    scratch: ScratchConfig = field(default_factory=ScratchConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    seed: int = 0

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["scratch"], doc["finetune"] = self.scratch.to_json(), self.finetune.to_json()
        return doc


def parse_rungs(text: str) -> tuple[str, ...]:
    """Comma-separated rung names, checked against RUNGS (kept in ladder order)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in RUNGS:
            raise UnknownNameError(f"Unknown ladder rung '{name}'.{did_you_mean(name, RUNGS)} "
                                   f"Known: {', '.join(RUNGS)}.")
    return tuple(r for r in RUNGS if r in names)


def cap_per_class(examples: Examples, max_per_class: int | None, seed: int = 0) -> Examples:
    """At most ``max_per_class`` examples of each class, drawn at random (reproducibly)."""
    if not max_per_class:
        return examples
    rng = np.random.default_rng(seed)
    labels = np.asarray(examples.labels)
    keep = []
    for cls in examples.classes:
        members = np.flatnonzero(labels == cls)
        keep.extend(rng.choice(members, size=min(max_per_class, len(members)), replace=False))
    return examples.subset(sorted(int(i) for i in keep))


def usable_images(examples: Examples, every_class: bool = True,
                  progress: Callable[[int], None] | None = None) -> Examples:
    """``examples`` less the images that do not decode, each moved to ``skipped`` with its reason
    ("truncated image ..."), as train and finetune list them: the folder scan reads headers only,
    so a truncated JPEG passed it, was dropped by each rung on its own and counted as a training
    image. Decoded at draft size on 2 threads (a truncated stream fails at any scale).

    Raises:
        DataError: ``every_class`` and a class is left with no readable image.
    """
    def failure(path: str) -> str | None:
        try:
            load_image(path, draft_size=32)
        except ImageDecodeError as err:
            return err.reason
        except OSError as err:
            return f"cannot be read ({err})"
        return None

    if examples.modality != "image":  # texts: the image rungs refuse them with their own message
        return examples
    bad = {}
    with ThreadPoolExecutor(2) as pool:
        for i, reason in enumerate(pool.map(failure, examples.items)):
            if reason is not None:
                bad[i] = reason
            if progress:
                progress(1)
    if not bad:
        return examples
    kept = examples.without(bad)
    lost = sorted(set(examples.labels) - set(kept.labels))
    if lost and every_class:
        files = "1 file" if len(bad) == 1 else f"{len(bad)} files"
        raise DataError(f"Class '{lost[0]}' in {examples.source} has no readable images left "
                        f"({files} skipped). Add at least 1 readable image per class.")
    return kept


def run_ladder(train: Examples, test: Examples, config: LadderConfig | None = None,
               on_rung: Callable[[dict], None] | None = None,
               on_epoch_end: Callable[[str, int, dict], None] | None = None) -> dict:
    """Run the configured rungs; returns ``{"rows": [...], "histories": {...}, ...}``.

    Each row has ``rung``, ``accuracy``, ``n_test``, ``train_seconds``, ``eval_seconds`` and
    ``details`` (the pretrained rungs' ``backbone``: the one ``"auto"`` picked); ``backbone`` is
    that name for the whole ladder. ``on_rung(row)`` is called as each rung finishes.
    """
    config = config or LadderConfig()
    config.scratch.check()  # before the first rung trains, not when its own rung comes up
    config.finetune.check()
    unknown = sorted(set(test.classes) - set(train.classes))
    if unknown:
        raise DataError(f"Test classes {unknown} do not occur in the training data {train.source}. "
                        "Give a test set with the same class folders.")
    rows, histories = [], {}

    def epoch_hook(rung: str):
        return (lambda e, m: on_epoch_end(rung, e, m)) if on_epoch_end else None

    steps = {"scratch": _scratch_rungs, "features": _feature_rungs, "finetune": _finetune_rung}
    done = set()
    for rung in config.rungs:
        family = rung.split("+")[0]
        if family in done:
            continue
        done.add(family)
        for row, history in steps[family](train, test, config, epoch_hook):
            rows.append(row)
            if history is not None:
                histories[row["rung"]] = history.to_json()
            if on_rung:
                on_rung(row)
    # the backbone the pretrained rungs used: the one "auto" picked, not "auto" (None: no such rung)
    used = next((r["details"]["backbone"] for r in rows if "backbone" in r["details"]), None)
    return {"rows": rows, "histories": histories, "config": config.to_json(), "backbone": used,
            "train": train.summary(), "test": test.summary()}


def _row(rung: str, correct: np.ndarray, train_s: float, eval_s: float, details: dict) -> dict:
    return {"rung": rung, "accuracy": float(np.mean(correct)) if len(correct) else None,
            "n_test": int(len(correct)), "train_seconds": round(train_s, 1),
            "eval_seconds": round(eval_s, 1), "details": details}


def _scratch_rungs(train, test, config, epoch_hook):
    wanted = [r for r in ("scratch", "scratch+aug") if r in config.rungs]
    start = time.perf_counter()
    images, _ = load_image_set(train, config.scratch.size)
    decode_s = time.perf_counter() - start
    test_images, _ = load_image_set(test, config.scratch.size, classes=images.classes)
    truth = np.array([test_images.classes[k] for k in test_images.labels], dtype=object)
    for rung in wanted:
        scratch = ScratchConfig(**{**asdict(config.scratch),
                                   "augment": config.augment if rung == "scratch+aug" else "none",
                                   "seed": config.seed})
        n_val = len(split_validation(images.labels, scratch.validation_fraction, scratch.seed,
                                     images.groups)[1])
        start = time.perf_counter()
        model, history = train_scratch(images, scratch, epoch_hook(rung))
        train_s = time.perf_counter() - start + decode_s
        start = time.perf_counter()
        correct = np.asarray(model.predict(test_images.images), dtype=object) == truth
        details = {"size": scratch.size, "augment": scratch.augment, "epochs": len(history.epochs),
                   "best_epoch": history.best_epoch,
                   "seconds_per_epoch": round(history.seconds_per_epoch, 2),
                   "n_train": len(images) - n_val, "n_val": n_val, **_refit_details(history)}
        yield _row(rung, correct, train_s, time.perf_counter() - start, details), history


def _refit_details(history) -> dict:
    """How the final network was trained again on all training images (None: it was not)."""
    refit = history.refit
    if refit is None:
        return {"refit_n_train": None, "refit_epochs": None, "refit_seconds": None}
    return {"refit_n_train": refit["n_train"], "refit_epochs": refit["epochs"],
            "refit_seconds": refit["seconds"]}


def _feature_rungs(train, test, config, epoch_hook):
    clf = Classifier(backbone=config.backbone, head=config.head,
                     cache=FeatureCache(enabled=False), random_state=config.seed,
                     augment_views=config.augment_views, augment=config.augment)
    start = time.perf_counter()
    X, train_ok = clf.embed_examples(train)
    embed_s = time.perf_counter() - start
    start = time.perf_counter()
    X_test, test_ok = clf.embed_examples(test)
    test_embed_s = time.perf_counter() - start
    truth = np.asarray(test_ok.labels, dtype=object)
    if "features" in config.rungs:
        start = time.perf_counter()
        clf.fit_embeddings(X, train_ok)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        correct = clf.head_.predict(X_test) == truth
        details = {"backbone": clf.backbone_name, "head": type(clf.head_).__name__}
        if config.backbone == "auto":  # the backbone auto stands for, so the record says which
            details["backbone_requested"] = "auto"
        yield _row("features", correct, embed_s + fit_s,
                   test_embed_s + time.perf_counter() - start, details), None
    if "features+aug" in config.rungs and config.augment_views > 0:
        start = time.perf_counter()
        extra = clf.embed_views(train_ok)
        clf.fit_embeddings(X, train_ok, extra)
        views_s = time.perf_counter() - start
        start = time.perf_counter()
        correct = clf.head_.predict(X_test) == truth
        details = {"backbone": clf.backbone_name, "head": type(clf.head_).__name__,
                   "views_per_image": config.augment_views, "augment": config.augment}
        if config.backbone == "auto":
            details["backbone_requested"] = "auto"
        yield _row("features+aug", correct, embed_s + views_s,
                   test_embed_s + time.perf_counter() - start, details), None


def _finetune_rung(train, test, config, epoch_hook):
    tune = FinetuneConfig(**{**asdict(config.finetune), "augment": config.augment,
                             "seed": config.seed})
    result = finetune(train, config.backbone, tune, epoch_hook("finetune"))
    result.classifier.cache = False  # a kept linear probe would use the cache: time every rung without
    start = time.perf_counter()
    X_test, test_ok = result.classifier.embed_examples(test)
    correct = result.classifier.head_.predict(X_test) == np.asarray(test_ok.labels, dtype=object)
    summary = result.summary
    details = {"backbone": result.classifier.backbone_name,
               **{k: summary[k] for k in ("unfreeze", "n_train", "n_val", "best_epoch",
                                          "seconds_per_epoch", "prepare_seconds", "backbone_tuned")}}
    details["epochs"] = len([e for e in result.history.epochs if e["epoch"] > 0])
    details.update(_refit_details(result.history))
    yield _row("finetune", correct, summary["seconds"], time.perf_counter() - start,
               details), result.history


__all__ = ["RUNGS", "LadderConfig", "cap_per_class", "parse_rungs", "run_ladder", "usable_images"]
