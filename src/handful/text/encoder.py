"""A sentence-transformers model run as a frozen bottom and a trainable top, for cheap tuning.

Contrastive fine-tuning on a CPU is dominated by the transformer's forward and backward
passes. Tuning only the top ``n_tuned`` layers lets the frozen bottom run once per distinct
text (its outputs are memoized), so each training step and each re-embedding after tuning
costs only the top layers. With ``n_tuned`` equal to the depth every layer is tuned (the
token embeddings stay frozen).

Works for BERT-style encoders as sentence-transformers wraps them (``model[0].auto_model``
with ``embeddings`` and ``encoder.layer``, then pooling/normalize modules). On first use the
split forward is checked against the model's own ``encode``; a model it does not match is
reported, never silently used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import BackboneUnavailableError


class SplitSentenceEncoder:
    """``bottom`` (frozen, memoized per text) then ``top`` (trainable) of a SentenceTransformer.

    Example:
        >>> encoder = SplitSentenceEncoder(create_backbone("minilm").tunable_module(), n_tuned=2)
        >>> encoder.embed(["great film", "dull plot"]).shape
        (2, 384)
    """

    def __init__(self, model, n_tuned: int = 2):
        try:
            self.bert = model[0].auto_model
            layers = self.bert.encoder.layer
            self.bert.embeddings  # noqa: B018  (must exist)
        except (AttributeError, TypeError, IndexError) as err:
            raise BackboneUnavailableError(
                f"Contrastive fine-tuning needs a BERT-style sentence-transformers model; got "
                f"{type(model).__name__}. Use --backbone minilm.") from err
        self.model = model
        self.n_layers = len(layers)
        self.n_tuned = max(1, min(int(n_tuned), self.n_layers))
        self.bottom_layers = layers[: self.n_layers - self.n_tuned]
        self.top_layers = layers[self.n_layers - self.n_tuned:]
        self._tokenize = getattr(model, "preprocess", None) or model.tokenize
        self._memo: dict[str, torch.Tensor] = {}
        for p in model.parameters():
            p.requires_grad_(False)
        for p in self.parameters():
            p.requires_grad_(True)

    def parameters(self) -> list[torch.nn.Parameter]:
        """The trainable parameters (the top layers)."""
        return [p for layer in self.top_layers for p in layer.parameters()]

    def snapshot(self) -> list[torch.Tensor]:
        """A copy of the trainable parameters, for ``restore``."""
        return [p.detach().clone() for p in self.parameters()]

    def restore(self, snapshot: list[torch.Tensor]) -> None:
        """Put back parameters saved by ``snapshot`` (the memoized bottom stays valid)."""
        with torch.no_grad():
            for p, saved in zip(self.parameters(), snapshot, strict=True):
                p.copy_(saved)

    @staticmethod
    def _mask(attention: torch.Tensor) -> torch.Tensor:
        # additive mask (n, 1, 1, L): what both eager and SDPA attention accept
        return (1.0 - attention[:, None, None, :].float()) * torch.finfo(torch.float32).min

    @staticmethod
    def _run(layers, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            out = layer(hidden, mask)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def bottom(self, texts: Sequence[str], batch_size: int = 64) -> list[torch.Tensor]:
        """Frozen-bottom token states, one ``(n_tokens, hidden)`` tensor per text (memoized)."""
        todo = sorted({t for t in texts if t not in self._memo}, key=len)
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                features = self._tokenize(chunk)
                ids, attention = features["input_ids"], features["attention_mask"]
                hidden = self.bert.embeddings(input_ids=ids,
                                              token_type_ids=features.get("token_type_ids"))
                hidden = self._run(self.bottom_layers, hidden, self._mask(attention))
                for text, h, a in zip(chunk, hidden, attention, strict=True):
                    self._memo[text] = h[: int(a.sum())].clone()
        self.model.train(was_training)
        return [self._memo[t] for t in texts]

    def top(self, states: list[torch.Tensor]) -> torch.Tensor:
        """Sentence embeddings ``(n, dim)`` from bottom states, through the trainable top."""
        length = max(len(s) for s in states)
        hidden = torch.zeros(len(states), length, states[0].shape[-1])
        attention = torch.zeros(len(states), length, dtype=torch.long)
        for i, s in enumerate(states):
            hidden[i, : len(s)] = s
            attention[i, : len(s)] = 1
        hidden = self._run(self.top_layers, hidden, self._mask(attention))
        features = {"token_embeddings": hidden, "attention_mask": attention}
        for module in list(self.model)[1:]:  # pooling, normalize
            features = module(features)
        return features["sentence_embedding"]

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embeddings ``(n, dim)`` float32 with the current weights, no gradient."""
        states = self.bottom(texts, batch_size)
        order = np.argsort([len(s) for s in states], kind="stable")
        out = np.zeros((len(texts), 0), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            parts = [self.top([states[i] for i in order[s:s + batch_size]]).float().numpy()
                     for s in range(0, len(order), batch_size)]
        self.model.train(was_training)
        if parts:
            out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
            out[order] = np.concatenate(parts)
        return out

    def check_matches_model(self, texts: Sequence[str], atol: float = 1e-4) -> None:
        """Raise if the split forward differs from the model's own ``encode`` on ``texts``."""
        ours = self.embed(texts)
        theirs = self.model.encode(list(texts), convert_to_numpy=True, show_progress_bar=False)
        gap = float(np.abs(ours - np.asarray(theirs, dtype=np.float32)).max())
        if gap > atol:
            raise BackboneUnavailableError(
                f"The split forward of {type(self.bert).__name__} differs from the model's own "
                f"encode by {gap:.2g} (> {atol}); this encoder cannot be fine-tuned here. "
                "Use --backbone minilm.")
