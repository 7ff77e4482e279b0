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

import numpy as np

from ..classifier import Classifier
from ..data import Examples


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
    return _has("handful.advise")


@cache
def has_suggest() -> bool:
    return _has("handful.suggest")


@cache
def has_finetune() -> bool:
    return _has("handful.finetune") and hasattr(_module("handful.finetune"), "finetune_classifier")


def _module(name: str):
    return importlib.import_module(name)


def features() -> dict[str, bool]:
    """What this server can do beyond train / predict / evaluate."""
    return {"augment": has_feature_augment(), "finetune": has_finetune(), "advice": has_advice(),
            "suggest": has_suggest(), "export_onnx": has_onnx_export()}


def advice(clf: Classifier, X: np.ndarray, examples: Examples) -> dict | None:
    """The fitted data-need estimate from ``handful.advise``, or None when not installed."""
    if not has_advice():
        return None
    module = _module("handful.advise")
    fn = getattr(module, "advise_embeddings", None)
    if fn is None:
        return None
    result = fn(X, np.asarray(examples.labels, dtype=object), head=clf.head_)
    return result.to_json() if hasattr(result, "to_json") else result


def export_onnx(model_dir: Path, out: Path) -> dict:
    """Export a model version to one ONNX file (with the parity check); returns the report."""
    from ..export import export_onnx as export

    report = export(model_dir, out=out)
    return {"path": str(out), "max_abs_diff": report.max_abs_diff, "opset": report.opset}
