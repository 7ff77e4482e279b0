"""The Backbone protocol and the frozen config that carries its preprocessing facts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class BackboneInfo:
    """What a backbone is and how it wants its input (timm's ``PretrainedCfg`` idea).

    Image backbones resize the short side to ``resize_size``, center-crop ``input_size`` and
    normalize with ``mean``/``std`` (on values in [0, 1]).
    """

    name: str
    modality: str  # "image" or "text"
    dim: int
    weights: str = ""  # weights version (file hash, package version)
    input_size: int = 0
    resize_size: int = 0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    interpolation: str = "bilinear"
    precision: str = "float32"
    license: str = ""
    offline: bool = True
    description: str = ""

    def fingerprint(self) -> str:
        """A short hash of everything that changes the embeddings."""
        fields = asdict(self)
        for key in ("license", "offline", "description"):
            fields.pop(key)
        blob = json.dumps(fields, sort_keys=True).encode()
        return f"{self.name}-{hashlib.sha256(blob).hexdigest()[:16]}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@runtime_checkable
class Backbone(Protocol):
    """A pretrained encoder: items in, one float32 vector per item out.

    ``preprocess`` turns one item (an image path or a text) into what ``embed`` batches;
    it raises ``ImageDecodeError`` for an unusable file. ``embed`` returns
    ``(len(batch), dim)`` float32 with no gradient, and is deterministic.
    """

    info: BackboneInfo

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def modality(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    def preprocess(self, item: str) -> Any: ...

    def embed(self, batch: Sequence[Any]) -> np.ndarray: ...


class BackboneBase:
    """Shared properties for concrete backbones; subclasses set ``info``."""

    info: BackboneInfo

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def dim(self) -> int:
        return self.info.dim

    @property
    def modality(self) -> str:
        return self.info.modality

    @property
    def fingerprint(self) -> str:
        return self.info.fingerprint()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"
