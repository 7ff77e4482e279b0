"""ConcatBackbone: two (or more) backbones side by side, named ``a+b``; embeddings concatenated.

"Concat the bottlenecks": EfficientNet-Lite0 and -Lite2 see an image at 224 and 260 px and
make partly different mistakes, so a head on both 1280-d embeddings can beat either. The
model directory names the backbone ``efficientnet_lite0+efficientnet_lite2``, which
``create_backbone`` rebuilds. An image is decoded once and preprocessed for each part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .base import Backbone, BackboneBase, BackboneInfo

SEPARATOR = "+"


class ConcatBackbone(BackboneBase):
    """Embeddings of ``parts`` concatenated: ``(n, sum of dims)``, in the order given.

    Example:
        >>> backbone = create_backbone("efficientnet_lite0+efficientnet_lite2")
        >>> backbone.dim
        2560
    """

    def __init__(self, parts: Sequence[Backbone]):
        modalities = {p.modality for p in parts}
        if len(parts) < 2 or len(modalities) != 1:
            raise ValueError("ConcatBackbone needs 2+ backbones of one modality")
        self.parts = tuple(parts)
        blob = "|".join(p.fingerprint for p in self.parts).encode()
        self.info = BackboneInfo(
            name=SEPARATOR.join(p.name for p in self.parts), modality=modalities.pop(),
            dim=sum(p.dim for p in self.parts), weights=hashlib.sha256(blob).hexdigest()[:16],
            offline=all(p.info.offline for p in self.parts),
            description="concatenation of " + ", ".join(p.name for p in self.parts),
        )

    def preprocess(self, item: str) -> tuple:
        if self.modality == "image":
            from ..data.images import load_image

            image = load_image(item, draft_size=max(p.info.resize_size for p in self.parts))
            return tuple(p.preprocess(image) for p in self.parts)
        return tuple(p.preprocess(item) for p in self.parts)

    def embed(self, batch: Sequence[tuple]) -> np.ndarray:
        outputs = [np.asarray(p.embed([x[i] for x in batch]), dtype=np.float32)
                   for i, p in enumerate(self.parts)]
        return np.hstack(outputs)

    def split(self, embeddings: np.ndarray) -> list[np.ndarray]:
        """The inverse of concatenation: one (n, dim_i) block per part."""
        bounds = np.cumsum([p.dim for p in self.parts])[:-1]
        return np.split(embeddings, bounds, axis=1)


def concat_parts(name: str) -> list[str]:
    """``'a+b'`` -> ``['a', 'b']`` (empty list for a plain name)."""
    if SEPARATOR not in name:
        return []
    return [part.strip() for part in name.split(SEPARATOR)]


def concat_modality(name: str) -> str:
    """The one modality of every part of ``a+b`` (parts checked by name, nothing loaded)."""
    from ..errors import DataError
    from .registry import backbone_modality

    modalities = {part: backbone_modality(part) for part in concat_parts(name)}
    if len(set(modalities.values())) != 1 or len(modalities) < 2:
        raise DataError(f"Backbone '{name}' joins backbones of different modalities or repeats "
                        f"one ({modalities}); concatenate 2+ distinct image backbones or 2+ "
                        "distinct text backbones.")
    return next(iter(modalities.values()))


def create_concat_backbone(name: str, **kwargs) -> ConcatBackbone:
    """Build ``a+b`` from its registered parts (``kwargs`` go to every part)."""
    from .registry import create_backbone

    concat_modality(name)
    return ConcatBackbone([create_backbone(part, **kwargs) for part in concat_parts(name)])


def embed_parts_cached(cache, backbone: ConcatBackbone, items: Sequence[str], batch_size: int = 32,
                       progress=None) -> tuple[np.ndarray, dict[int, str]]:
    """``cache.get_or_compute`` part by part, so each part's cached embeddings are reused
    (and shared with models that use that part alone); rows concatenated.

    ``progress(n)`` is told about items, not passes: each part reports its share, so a bar
    sized ``len(items)`` ends full, not ``len(parts)`` times over.
    """
    blocks, failures = [], {}
    n_parts = len(backbone.parts)
    share = None if progress is None else (lambda n: progress(n / n_parts))
    for part in backbone.parts:
        X, bad = cache.get_or_compute(part, list(items), batch_size, share)
        blocks.append(X)
        failures.update(bad)
    return np.hstack(blocks), failures
