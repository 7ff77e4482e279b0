"""``load``: a model directory (``Classifier.save``; ``handful train``, ``finetune`` or ``protonet train``)
back into a Classifier."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ..backbones import list_backbones
from ..backbones.base import Backbone
from ..backbones.record import identity_differences, recorded_name
from ..cache import FeatureCache
from ..data import as_path
from ..errors import BundleError, HandfulError, UnknownNameError, did_you_mean
from ..evaluate.familiarity import load_familiarity
from .store import load_bundle

if TYPE_CHECKING:
    from ..classifier import Classifier


def load(path: str | Path, cache: FeatureCache | bool | None = None) -> Classifier:
    """Load a model directory written by ``Classifier.save`` or a command that writes models
    (``handful train``, ``handful finetune``, ``handful protonet train``: ``store.MODEL_WRITERS``)."""
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
    record = doc["backbone"]
    # the name the model was trained with: an alias's backbone has another .name, whose
    # registered factory may build another backbone
    clf = Classifier(backbone=recorded_name(record), cache=cache, **_head_settings(doc))
    clf.head_, clf.classes_ = head, head.classes_
    clf.modality_ = doc.get("modality", "image")
    clf.training_ = doc.get("training", {})
    clf.leaderboard_ = None
    clf.calibration_ = doc.get("calibration")
    clf.familiarity_ = load_familiarity(Path(path), doc.get("familiarity"), f"Model {path}")
    clf.model_json_ = doc
    backbone = _create_backbone(clf, record, path)
    weights_file = record.get("weights_file")
    if weights_file:
        from ..backbones.tuned import load_tuned_weights

        load_tuned_weights(backbone, Path(path) / weights_file, record["info"]["weights"])
    options = record.get("options")
    if options:
        if not hasattr(backbone, "set_embed_options"):
            raise BundleError(f"Model {path} sets backbone options {options} that backbone "
                              f"'{backbone.name}' does not take. Re-train the model.")
        backbone.set_embed_options(options)
    if head.n_features_in_ != backbone.dim:
        raise BundleError(f"Model {path} is damaged: its head takes {head.n_features_in_}-d embeddings "
                          f"but its backbone '{backbone.name}' gives {backbone.dim}-d ones (model.json "
                          "and head.safetensors are from different models). Re-train the model.")
    _check_same_backbone(backbone, record, path)
    if backbone.fingerprint != record.get("fingerprint"):  # the same weights in another precision
        warnings.warn(f"Model {path} was trained with backbone fingerprint "
                      f"{record.get('fingerprint')}; this machine gives "
                      f"{backbone.fingerprint} (a different precision, another release of the weights' "
                      "package, or a change the model's record cannot show). Predictions may differ "
                      "slightly; re-train the model if they do.", stacklevel=2)
    return clf


def _create_backbone(clf: Classifier, record: dict, path: str | Path) -> Backbone:
    """The backbone the model records, by the name it was trained with; a BundleError naming
    the fix when that name is not registered here."""
    try:
        return clf.backbone_for(clf.modality_)
    except UnknownNameError as err:
        name = recorded_name(record)
        own = f" (a backbone named '{record['name']}')" if name != record["name"] else ""
        hint = did_you_mean(name, list_backbones(include_hidden=True))
        raise BundleError(f"Model {path} was trained with backbone '{name}'{own}, which is not "
                          f"registered here.{hint} Install or import the plugin that registers "
                          f"'{name}', or re-train the model.") from err


def _check_same_backbone(backbone: Backbone, record: dict, path: str | Path) -> None:
    """Raise when the backbone created is not the one the model was trained with (other weights,
    input size, dim or preprocessing): the head would score embeddings it never saw. Precision
    alone may differ (bfloat16 on some CPUs): that is a warning, later."""
    if backbone.fingerprint == record.get("fingerprint"):
        return
    differences = identity_differences(record, backbone)  # why the fingerprints differ
    if differences:
        name = recorded_name(record)
        raise BundleError(f"Model {path} was trained with backbone '{name}' of fingerprint "
                          f"{record.get('fingerprint')}, but '{name}' here gives {backbone.fingerprint} "
                          f"({'; '.join(differences[:3])}). Register the backbone the model was "
                          f"trained with under '{name}' (or install the weights it records), or "
                          "re-train the model.")


def _head_settings(doc: dict) -> dict:
    """The Classifier settings that fit this model's head again: a zero-shot prior's base head with
    ``zero_shot_prior=True`` (its class names and template as recorded; models saved before they
    were recorded refit with the labels as names), else the head as saved."""
    head = doc["head"]
    params = head.get("params", {})
    if head["type"] != "zeroshot_prior":
        return {"head": head["type"], "head_params": params}
    prior = doc.get("zero_shot_prior") or {}
    return {"head": params.get("base", "prototype"), "head_params": params.get("base_params") or {},
            "zero_shot_prior": True, "class_names": prior.get("class_names"),
            "zero_shot_template": prior.get("template")}
