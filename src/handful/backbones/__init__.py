"""Pretrained encoders behind one small protocol, built by name from a registry."""

from ..errors import BackboneArgumentError
from .base import Backbone, BackboneInfo
from .registry import (
    backbone_modality,
    create_backbone,
    describe_backbones,
    list_backbones,
    register_backbone,
)
from .stream import embed_items, iter_embeddings

__all__ = [
    "Backbone", "BackboneArgumentError", "BackboneInfo", "backbone_modality", "create_backbone", "describe_backbones",
    "embed_items", "iter_embeddings", "list_backbones", "register_backbone",
]
