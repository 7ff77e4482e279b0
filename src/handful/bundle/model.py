"""``load``: a model directory (``Classifier.save`` / ``handful train``) back into a Classifier."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ..cache import FeatureCache
from ..data import as_path
from ..errors import BundleError, HandfulError
from ..evaluate.familiarity import load_familiarity
from .store import load_bundle

if TYPE_CHECKING:
    from ..classifier import Classifier


def load(path: str | Path, cache: FeatureCache | bool | None = None) -> Classifier:
    """Load a model directory written by ``Classifier.save`` / ``handful train``."""
    as_path(path, "A model")
    try:
        return _load(path, cache)
    except (TypeError, AttributeError, IndexError, KeyError, ValueError) as err:
        if isinstance(err, HandfulError):
            raise
        raise BundleError(f"Model {path} is damaged or was not written by handful: its model.json "
                          f"does not fit its files ({type(err).__name__}: {err}). Re-train or re-export "
                          "it.") from None


def _load(path: str | Path, cache: FeatureCache | bool | None) -> Classifier:
    from ..classifier import Classifier

    head, doc = load_bundle(path)
    clf = Classifier(backbone=doc["backbone"]["name"], head=doc["head"]["type"],
                     head_params=doc["head"].get("params", {}), cache=cache)
    clf.head_, clf.classes_ = head, head.classes_
    clf.modality_ = doc.get("modality", "image")
    clf.training_ = doc.get("training", {})
    clf.leaderboard_ = None
    clf.calibration_ = doc.get("calibration")
    clf.familiarity_ = load_familiarity(Path(path), doc.get("familiarity"), f"Model {path}")
    clf.model_json_ = doc
    backbone = clf.backbone_for(clf.modality_)
    weights_file = doc["backbone"].get("weights_file")
    if weights_file:
        from ..backbones.tuned import load_tuned_weights

        load_tuned_weights(backbone, Path(path) / weights_file, doc["backbone"]["info"]["weights"])
    options = doc["backbone"].get("options")
    if options:
        if not hasattr(backbone, "set_embed_options"):
            raise BundleError(f"Model {path} sets backbone options {options} that backbone "
                              f"'{backbone.name}' does not take. Re-train the model.")
        backbone.set_embed_options(options)
    if head.n_features_in_ != backbone.dim:
        raise BundleError(f"Model {path} is damaged: its head takes {head.n_features_in_}-d embeddings "
                          f"but its backbone '{backbone.name}' gives {backbone.dim}-d ones (model.json "
                          "and head.safetensors are from different models). Re-train the model.")
    if backbone.fingerprint != doc["backbone"].get("fingerprint"):
        warnings.warn(f"Model {path} was trained with backbone fingerprint "
                      f"{doc['backbone'].get('fingerprint')}; this machine gives "
                      f"{backbone.fingerprint} (different precision or weights). Predictions "
                      "may differ slightly.", stacklevel=2)
    return clf
