"""What a model directory records about its backbone: ``model.json``'s ``"backbone"`` entry.

``bundle.model.load`` reads it back: the name to create, the fingerprint to compare, the
fine-tuned weights file to load (``backbones.tuned``) and the embedding options to set.
"""

from __future__ import annotations

from .base import Backbone
from .tuned import WEIGHTS_FILE


def backbone_record(backbone: Backbone) -> dict:
    """Name, fingerprint and preprocessing (``info``); plus ``weights_file`` when the weights were
    fine-tuned and ``options`` when settings beside them change the embeddings (``tta_shift``)."""
    record = {"name": backbone.name, "fingerprint": backbone.fingerprint,
              "info": backbone.info.to_json()}
    if backbone.info.weights.startswith("tuned-"):
        record["weights_file"] = WEIGHTS_FILE
    options = backbone.embed_options() if hasattr(backbone, "embed_options") else {}
    if options:
        record["options"] = options
    return record
