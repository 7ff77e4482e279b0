"""Optional capabilities the server uses when this installation has them.

Augmentation, fine-tuning, the data-need advice, label suggestions and ONNX export live in
their own packages; each function here says whether one is usable and calls it, so the
server (and its UI, through ``/api/info``) offers exactly what is installed.
"""

from __future__ import annotations

import importlib.util
import inspect
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..classifier import Classifier
from ..data import Examples

if TYPE_CHECKING:
    from .catalog import Catalog
    from .predictor import LoadedModel


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@cache
def has_feature_augment() -> bool:
    """Classifier(augment_views=N) trains the head on augmented views too."""
    return _has("handful.augment") and "augment_views" in inspect.signature(Classifier).parameters


@cache
def has_onnx_export() -> bool:
    return _has("handful.export") and _has("onnxruntime") and _has("onnx")


@cache
def has_advice() -> bool:
    """The fitted learning curve and "how many more per class" estimate (handful advise)."""
    return _has("handful.evaluate.data_need")


@cache
def has_suggest() -> bool:
    """Ranking unlabeled examples by how much labeling them would help (handful suggest)."""
    return _has("handful.select.active")


@cache
def has_finetune() -> bool:
    """Fine-tuning the last blocks of an EfficientNet-Lite backbone (handful finetune)."""
    return _has("handful.finetune.tune") and hasattr(_module("handful.finetune.tune"), "finetune")


def _module(name: str):
    return importlib.import_module(name)


def features() -> dict[str, bool]:
    """What this server can do beyond train / predict / evaluate."""
    return {"augment": has_feature_augment(), "finetune": has_finetune(), "advice": has_advice(),
            "suggest": has_suggest(), "export_onnx": has_onnx_export()}


def advice(clf: Classifier, X: np.ndarray, examples: Examples) -> dict | None:
    """The data-need estimate (measured curve, fitted, "≈ N more per class should reach X%"),
    in the report's learning-curve shape; None when not installed or too little data."""
    if not has_advice():
        return None
    from ..data.duplicates import duplicate_groups
    from ..errors import HandfulError
    from ..evaluate.data_need import estimate_data_need
    from ..heads import head_name

    params = clf.head_.get_params()
    try:
        result = estimate_data_need(X, np.asarray(examples.labels, dtype=object),
                                    head=head_name(clf.head_), params=params,
                                    seed=clf.random_state, groups=duplicate_groups(examples))
    except (HandfulError, ValueError, RuntimeError):
        return None  # too few examples to fit a curve: the caller measures a simple one
    points = result["curve"]["points"]
    return {"sizes": [p["n"] for p in points], "accuracy": [p["mean"] for p in points],
            "std": [p["std"] for p in points], "advice": result["sentence"],
            # the forecast's gains are from the fitted curve at the data's size: the chart starts there
            "n_per_class": result.get("n_per_class"), "accuracy_now": result.get("accuracy_now"),
            "forecast": result.get("forecast"), "target": result.get("target"),
            "ceiling": result.get("ceiling"), "source": "handful advise (fitted learning curve)"}


def suggest(X: np.ndarray, proba: np.ndarray, n: int, paths: list[str],
            familiar: np.ndarray | None = None, labeled: np.ndarray | None = None) -> tuple[list[int], np.ndarray]:
    """Indices of up to ``n`` images (``paths``, rows of ``X``) to label next, best first, with
    copies of a pick left out, and every image's uncertainty; with ``familiar`` (n_images,) bool
    the ones unlike the training examples only fill the places the others leave, as ``handful
    suggest`` ranks them (``select.active.rank_unlabeled``; ``labeled``: ``labeled_embeddings``)."""
    from ..select.active import margin_uncertainty, rank_unlabeled

    return rank_unlabeled(X, proba, n, paths, familiar, labeled), margin_uncertainty(proba)


def left_out(X: np.ndarray, ranked: list[int], n: int, paths: list[str],
             familiar: np.ndarray | None) -> dict[int, int | None]:
    """Why rows ``suggest`` did not list were left out (``select.active.left_out``): ``{row: pick}``
    for a copy of a pick, ``{row: None}`` for an unfamiliar image the full list held back."""
    from ..select.active import left_out as why

    return why(X, ranked, n, paths, familiar)


def trained_copies(catalog: Catalog, project_id: int, model: LoadedModel, paths: list[str]) -> dict[int, str]:
    """``{index: "already labeled as <class> (copy of <example>)"}`` for the images (``paths``) whose
    bytes are those of an example ``model`` was trained on: labeling one again teaches nothing."""
    from ..select.labeled_copies import labeled_copies
    from .errors import NotFoundError

    try:
        rows = trained_examples(catalog, project_id, catalog.get_version(project_id, model.number))
        names = {r["id"]: r["name"] for r in catalog.training_examples(project_id)}
    except NotFoundError:  # deleted meanwhile
        return {}
    known: dict[str, tuple[str, str]] = {}
    for r in rows:  # the blob digest is the content key of the file's bytes
        example = r.get("example_id", r.get("id"))
        known.setdefault(r["digest"], (r["label"], names.get(example) or f"example {example}"))
    return labeled_copies(paths, "image", known)


def labeled_embeddings(catalog: Catalog, project_id: int, model: LoadedModel) -> np.ndarray | None:
    """(k, dim) embeddings of the labeled examples behind ``model``, the project's version that
    ``suggest`` ranks for: the ones it keeps (from 20 examples), else, while under ``TYPICAL_BELOW``
    per class (the only time they change the ranking), those of the examples it was trained on whose
    files are still stored, read from the feature cache the job filled; None when neither is at hand
    (the ranking is then by uncertainty, as before)."""
    from ..cache import FeatureCache
    from ..select.active import TYPICAL_BELOW
    from .errors import NotFoundError
    from .predictor import on_torch_thread

    known = getattr(model.clf, "familiarity_", None)
    if known is not None:
        return known.embeddings
    try:
        version = catalog.get_version(project_id, model.number)
        if version["n_examples"] >= TYPICAL_BELOW * len(model.classes):
            return None
        rows = trained_examples(catalog, project_id, version)
    except NotFoundError:  # deleted meanwhile
        return None
    # a deleted example's file goes when no example refers to it: only those still stored count
    paths = [str(path) for r in rows if (path := catalog.blobs.path(r["digest"], r["ext"])).is_file()]
    if not paths:
        return None
    X, failures = on_torch_thread(FeatureCache(catalog.cache_dir).get_or_compute, model.backbone, paths)
    kept = [i for i in range(len(paths)) if i not in failures]  # a blob deleted since: left out
    return X[kept] if kept else None


def trained_examples(catalog: Catalog, project_id: int, version: dict) -> list[dict]:
    """The examples (``digest``, ``ext``, ``label``) ``version`` was trained on: as its commit recorded
    them, or, for a version from before the catalog recorded them (schema 4 and earlier), the
    project's examples now that were added before its job started. That fallback is a guess: an
    example relabeled since has its new label, one deleted since is missing, and one added between
    the job's start and its reading of the examples is left out."""
    recorded = catalog.version_examples(project_id, version["number"])
    if recorded is not None:
        return recorded
    if version["job_id"] is None:
        return []
    started = catalog.get_job(version["job_id"])["started"]
    # examples added after the job started were not trained on: they do not cover a group yet
    return [r for r in catalog.training_examples(project_id) if started and r["created"] <= started]


def ranked_by(labeled: np.ndarray | None, n_classes: int) -> Literal["typical", "uncertain"]:
    """How ``suggest`` ranks with these labeled embeddings: typical examples of the groups no label
    covers while they are under ``TYPICAL_BELOW`` per class, else by uncertainty."""
    from ..select.active import ranked_by as rule

    return rule(labeled, n_classes)


def export_onnx(model_dir: Path, out: Path) -> dict:
    """Export a model version to one ONNX file (with the parity check); returns the report."""
    from ..export import export_onnx as export

    report = export(model_dir, out=out)
    return {"path": str(out), "max_abs_diff": report.max_abs_diff, "opset": report.opset}
