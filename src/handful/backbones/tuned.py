"""Fine-tuned backbone weights inside a model directory (safetensors, never pickle).

A backbone that can be fine-tuned exposes ``tunable_module() -> torch.nn.Module``. After
tuning, ``mark_tuned`` changes its fingerprint (so cached embeddings of the original weights
are never reused), ``save_tuned_weights`` writes ``backbone.safetensors`` into a model
directory, and ``load_tuned_weights`` restores it when the model is loaded. A backbone with
more state than tensors (a vocabulary) adds ``save_extra(dir)`` / ``load_extra(dir)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from ..errors import BundleError
from .base import Backbone

WEIGHTS_FILE = "backbone.safetensors"


def _state_hash(module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()[:12]


def mark_tuned(backbone: Backbone) -> str:
    """Give ``backbone`` a new weights tag from its current parameters; returns the tag."""
    tag = f"tuned-{_state_hash(backbone.tunable_module())}"
    backbone.info = replace(backbone.info, weights=tag)
    return tag


def save_tuned_weights(backbone: Backbone, model_dir: str | Path) -> str:
    """Write the backbone's parameters to ``model_dir/backbone.safetensors``; returns the name."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in backbone.tunable_module().state_dict().items()}
    save_file(state, str(Path(model_dir) / WEIGHTS_FILE))
    if hasattr(backbone, "save_extra"):  # e.g. word2vec's vocabulary
        backbone.save_extra(Path(model_dir))
    return WEIGHTS_FILE


def load_tuned_weights(backbone: Backbone, file: str | Path, weights_tag: str) -> None:
    """Load fine-tuned parameters saved by ``save_tuned_weights`` into ``backbone``."""
    from safetensors.torch import load_file

    if not hasattr(backbone, "tunable_module"):
        raise BundleError(f"Backbone '{backbone.name}' cannot take fine-tuned weights ({file}).")
    try:
        state = load_file(str(file))
    except Exception as err:  # safetensors raises its own error types
        raise BundleError(f"Fine-tuned weights {file} are missing or damaged ({err}). "
                          "Re-train the model.") from err
    if hasattr(backbone, "load_extra"):  # sizes the module (e.g. word2vec's vocabulary)
        backbone.load_extra(Path(file).parent)
    module = backbone.tunable_module()
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise BundleError(f"Fine-tuned weights {file} do not fit backbone '{backbone.name}' "
                          f"(missing {list(missing)[:3]}, unexpected {list(unexpected)[:3]}).")
    backbone.info = replace(backbone.info, weights=weights_tag)
