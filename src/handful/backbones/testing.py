"""Tiny deterministic backbones for tests (timm's ``test_*`` models idea): no weights, instant."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .base import BackboneBase, BackboneInfo
from .image_input import check_preprocessed, no_embeddings, preprocess_image
from .registry import register_backbone


class TinyImageBackbone(BackboneBase):
    """Color and layout features: a 4x4 thumbnail per channel (48-d), plus a fixed projection.

    Separates solid colors and simple shapes perfectly, which is what the tests need.
    ``n_embed_calls`` counts ``embed`` calls across instances so tests can prove cache hits.
    """

    n_embed_calls = 0

    def __init__(self, dim: int = 32):
        self.info = BackboneInfo(
            name="test_tiny_image", modality="image", dim=dim, weights="none",
            input_size=32, resize_size=32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
            description="test backbone: thumbnail features",
        )
        rng = np.random.default_rng(0)
        self._projection = rng.standard_normal((48, dim)).astype(np.float32) / np.sqrt(48)

    def preprocess(self, item: str) -> np.ndarray:
        return preprocess_image(item, self.info)

    def embed(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        type(self).n_embed_calls += 1
        check_preprocessed(batch)
        if not len(batch):
            return no_embeddings(self.dim)
        x = np.stack(batch).astype(np.float32) / 255.0  # (n, 32, 32, 3)
        thumbs = x.reshape(len(batch), 4, 8, 4, 8, 3).mean(axis=(2, 4)).reshape(len(batch), 48)
        return ((thumbs - 0.5) @ self._projection).astype(np.float32)

    def torch_module(self):
        """The same computation as a torch module on uint8 (n, 32, 32, 3), for ONNX export."""
        import torch

        projection = torch.from_numpy(np.asarray(self._projection, dtype=np.float32))

        class TinyImageModule(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("projection", projection)

            def forward(self, pixels):
                x = pixels.float() / 255.0
                thumbs = x.reshape(-1, 4, 8, 4, 8, 3).mean(dim=(2, 4)).reshape(-1, 48)
                return (thumbs - 0.5) @ self.projection

        return TinyImageModule()


class TinyTextBackbone(BackboneBase):
    """Hashed bag of words (64-d, L2-normalized): texts sharing words land close."""

    n_embed_calls = 0

    def __init__(self, dim: int = 64):
        self.info = BackboneInfo(name="test_tiny_text", modality="text", dim=dim, weights="none",
                                 description="test backbone: hashed bag of words")

    def preprocess(self, item: str) -> str:
        return " ".join(str(item).lower().split())

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        type(self).n_embed_calls += 1
        out = np.zeros((len(batch), self.dim), dtype=np.float32)
        for i, text in enumerate(batch):
            for word in text.split():
                h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


@register_backbone("test_tiny_image", "image", "test backbone", hidden=True)
def test_tiny_image(**kwargs) -> TinyImageBackbone:
    return TinyImageBackbone(**kwargs)


@register_backbone("test_tiny_text", "text", "test backbone", hidden=True)
def test_tiny_text(**kwargs) -> TinyTextBackbone:
    return TinyTextBackbone(**kwargs)
