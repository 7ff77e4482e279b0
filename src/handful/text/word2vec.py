"""Word vectors learned from the user's own unlabeled text: skip-gram with negative sampling.

The seed's worked example (Mikolov et al., 2013): every word predicts the words within a
small window around it against a few random "negative" words drawn from the unigram
distribution raised to 3/4; frequent words are subsampled. A sentence is then the mean of its
word vectors, and the usual head is fitted on the few labeled sentences.

The ``word2vec`` backbone starts empty: ``fit_unlabeled(texts)`` trains it (``handful train
data.csv --backbone word2vec --unlabeled more.txt``). Its vectors travel in the model directory
as ``backbone.safetensors`` and its vocabulary as ``vocab.json``, so ``predict`` works.

Example:
    >>> backbone = create_backbone("word2vec")
    >>> backbone.fit_unlabeled(open("more.txt").read().splitlines())
    >>> backbone.embed(["a great film"]).shape
    (1, 64)
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..backbones.base import BackboneBase, BackboneInfo
from ..backbones.registry import register_backbone
from ..backbones.tuned import mark_tuned
from ..errors import BundleError, DataError, NotFittedError
from ..jsontext import json_text

VOCAB_FILE = "vocab.json"
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def tokenize_words(text: str) -> list[str]:
    """Lower-cased words (letters and digits of any script; inner apostrophes kept)."""
    return _WORD.findall(str(text).lower())


class WordVectors(torch.nn.Module):
    """The learned input vectors ``(n_words, dim)``: what is saved and what sentences use."""

    def __init__(self, n_words: int, dim: int):
        super().__init__()
        self.vectors = torch.nn.Parameter(torch.zeros(n_words, dim), requires_grad=False)


def _pairs(sentences: list[np.ndarray], window: int, keep_prob: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(center, context) word ids for one epoch: subsampled words, dynamic window."""
    centers, contexts = [], []
    for ids in sentences:
        ids = ids[rng.random(len(ids)) < keep_prob[ids]]
        n = len(ids)
        if n < 2:
            continue
        spans = rng.integers(1, window + 1, size=n)  # word2vec's reduced window
        for offset in range(1, window + 1):
            i = np.arange(n - offset)
            for c, o in ((i, i + offset), (i + offset, i)):
                ok = spans[c] >= offset
                centers.append(ids[c[ok]])
                contexts.append(ids[o[ok]])
    if not centers:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(centers), np.concatenate(contexts)


def train_word2vec(texts: Sequence[str], dim: int = 64, window: int = 4, negatives: int = 5,
                   min_count: int = 1, epochs: int | None = None, learning_rate: float = 0.01,
                   batch_size: int = 512, subsample: float = 1e-3, seed: int = 0
                   ) -> tuple[list[str], np.ndarray, dict]:
    """Skip-gram with negative sampling on ``texts``: ``(vocab, vectors (n_words, dim), stats)``.

    ``epochs=None`` picks enough passes for about 200,000 word-context pairs (many passes over
    a few dozen sentences, a few over a large corpus).
    """
    tokens = [tokenize_words(t) for t in texts]
    counts = Counter(w for sent in tokens for w in sent)
    vocab = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if len(vocab) < 2:
        raise DataError(f"word2vec needs unlabeled text with at least 2 distinct words (seen "
                        f"{min_count}+ times); got {len(vocab)} from {len(texts)} texts. Give "
                        "more sentences with --unlabeled.")
    index = {w: i for i, w in enumerate(vocab)}
    sentences = [np.array([index[w] for w in s if w in index], dtype=np.int64) for s in tokens]
    freq = np.array([counts[w] for w in vocab], dtype=np.float64)
    n_tokens = int(freq.sum())
    share = freq / n_tokens
    keep_prob = np.minimum(1.0, np.sqrt(subsample / share) + subsample / share)
    noise = torch.from_numpy(freq ** 0.75 / (freq ** 0.75).sum())
    epochs = epochs or int(np.clip(200_000 // max(1, n_tokens * 2 * window), 3, 200))

    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    w_in = torch.nn.Embedding(len(vocab), dim, sparse=True)
    w_out = torch.nn.Embedding(len(vocab), dim, sparse=True)
    with torch.no_grad():
        w_in.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=gen)
        w_out.weight.zero_()
    optimizer = torch.optim.SparseAdam([w_in.weight, w_out.weight], lr=learning_rate)
    n_pairs, last_loss = 0, float("nan")
    for epoch in range(epochs):
        centers, contexts = _pairs(sentences, window, keep_prob, rng)
        order = rng.permutation(len(centers))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate * max(0.1, 1.0 - epoch / epochs)  # linear decay
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            c = torch.from_numpy(centers[batch])
            o = torch.from_numpy(contexts[batch])
            neg = torch.multinomial(noise, len(batch) * negatives, replacement=True, generator=gen)
            u = w_in(c)  # (b, dim)
            pos = torch.nn.functional.logsigmoid((u * w_out(o)).sum(-1))
            negs = torch.bmm(w_out(neg.view(len(batch), negatives)), u.unsqueeze(-1)).squeeze(-1)
            loss = -(pos + torch.nn.functional.logsigmoid(-negs).sum(-1)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            last_loss = float(loss.detach())
        n_pairs += len(centers)
    stats = {"n_texts": len(texts), "n_tokens": n_tokens, "n_words": len(vocab), "dim": dim,
             "epochs": epochs, "n_pairs": n_pairs, "final_loss": round(last_loss, 4)}
    return vocab, w_in.weight.detach().numpy().copy(), stats


class Word2VecBackbone(BackboneBase):
    """Mean of skip-gram word vectors learned from your unlabeled text (empty until trained)."""

    def __init__(self, dim: int = 64, window: int = 4, negatives: int = 5, min_count: int = 1,
                 epochs: int | None = None, seed: int = 0):
        self.params = {"dim": dim, "window": window, "negatives": negatives,
                       "min_count": min_count, "epochs": epochs, "seed": seed}
        self.vocab: list[str] = []
        self._index: dict[str, int] = {}
        self.module = WordVectors(0, dim)
        self.info = BackboneInfo(name="word2vec", modality="text", dim=dim, weights="untrained",
                                 description="skip-gram word2vec trained on your unlabeled text")
        self.stats: dict = {}

    def fit_unlabeled(self, texts: Sequence[str]) -> dict:
        """Learn the word vectors from ``texts``; returns training statistics."""
        vocab, vectors, self.stats = train_word2vec(list(texts), **self.params)
        self._set(vocab, torch.from_numpy(vectors))
        mark_tuned(self)
        return self.stats

    def _set(self, vocab: list[str], vectors: torch.Tensor) -> None:
        self.vocab = list(vocab)
        self._index = {w: i for i, w in enumerate(self.vocab)}
        self.module = WordVectors(len(vocab), vectors.shape[1])
        with torch.no_grad():
            self.module.vectors.copy_(vectors)

    def tunable_module(self) -> torch.nn.Module:
        """The word vectors, saved as ``backbone.safetensors`` in a model directory."""
        return self.module

    def save_extra(self, model_dir: Path) -> None:
        """Write the vocabulary (``vocab.json``) beside the vectors."""
        doc = {"vocab": self.vocab, "params": self.params, "stats": self.stats}
        (Path(model_dir) / VOCAB_FILE).write_text(json_text(doc, ensure_ascii=False))  # NaN final_loss: no pair trained

    def load_extra(self, model_dir: Path) -> None:
        """Read ``vocab.json`` and size the vectors to it (they are loaded next)."""
        file = Path(model_dir) / VOCAB_FILE
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
            vocab, dim = list(doc["vocab"]), int(doc["params"]["dim"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise BundleError(f"word2vec vocabulary {file} is missing or damaged ({err}). "
                              "Re-train the model.") from err
        self.params.update(doc["params"])
        self.stats = doc.get("stats", {})
        self.info = replace(self.info, dim=dim)
        self._set(vocab, torch.zeros(len(vocab), dim))

    # Embedding is a vocabulary look-up: caching it buys no time, and a cache hit would skip the
    # warning in embed() about texts with no known word (it said so on the first run only).
    cache_embeddings = False

    def preprocess(self, item: str) -> str:
        return str(item)

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        """Mean word vector of each text, ``(n, dim)`` float32 (zeros when no word is known)."""
        if not self.vocab:
            raise NotFittedError("Backbone 'word2vec' has no word vectors yet. Train it on your "
                                 "unlabeled text: handful train DATA --backbone word2vec "
                                 "--unlabeled more.txt.")
        vectors = self.module.vectors.detach().numpy()
        out = np.zeros((len(batch), self.dim), dtype=np.float32)
        unknown = False
        for i, text in enumerate(batch):
            ids = [self._index[w] for w in tokenize_words(text) if w in self._index]
            if ids:
                out[i] = vectors[ids].mean(axis=0)
            else:  # unknown words, or none at all (only emoji or punctuation): zeros all the same
                unknown = unknown or bool(str(text).strip())  # an empty text is skipped before
        if unknown:  # one wording, so a stream of batches says it once
            warnings.warn("Some texts contain no word the word2vec vectors know: each is embedded as "
                          "zeros, so its prediction and probability say nothing about it. Train the "
                          "vectors on more text like it (--unlabeled).", stacklevel=2)
        return out

    def coverage(self, texts: Sequence[str]) -> float:
        """Share of the words in ``texts`` that have a vector."""
        words = [w for t in texts for w in tokenize_words(t)]
        return sum(w in self._index for w in words) / max(1, len(words))


@register_backbone("word2vec", "text", "skip-gram word2vec trained on your unlabeled text "
                   "(--unlabeled)")
def word2vec(**kwargs) -> Word2VecBackbone:
    return Word2VecBackbone(**kwargs)
