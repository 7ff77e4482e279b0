"""Contrastive fine-tuning of a sentence encoder from a few labels, in the SetFit manner.

SetFit (Tunstall et al., 2022): build pairs of labeled sentences, target cosine similarity 1
for a pair with the same label and 0 for different labels, tune the encoder with the squared
error on the cosine, then fit an ordinary head on the tuned embeddings. Pairs are drawn as
SetFit does (each round pairs every sentence with one same-label and one other-label partner)
and their number is bounded by ``max_pairs``, so the cost on a CPU stays known in advance.

Example:
    >>> backbone = create_backbone("minilm")
    >>> report = finetune_backbone(backbone, texts, labels, SetFitConfig(max_pairs=320))
    >>> report.seconds, backbone.fingerprint   # a new fingerprint: the tuned weights
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..backbones.base import Backbone
from ..backbones.tuned import mark_tuned
from ..errors import BackboneUnavailableError, DataError
from .encoder import SplitSentenceEncoder

OnStep = Callable[[int, float], None]  # (step, loss)


@dataclass(frozen=True)
class SetFitConfig:
    """How to tune. ``max_pairs`` bounds the work; ``n_tuned_layers`` the depth tuned."""

    n_iterations: int = 20  # SetFit's default: rounds of one positive + one negative pair
    max_pairs: int = 640
    batch_pairs: int = 32
    epochs: int = 1
    learning_rate: float = 5e-5
    n_tuned_layers: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_iterations", "max_pairs", "batch_pairs", "epochs", "n_tuned_layers"):
            if int(getattr(self, name)) < 1:
                raise DataError(f"The '{name}' setting of contrastive fine-tuning must be an "
                                f"integer >= 1. Got {getattr(self, name)!r} instead.")
        if not self.learning_rate > 0:
            raise DataError("The 'learning_rate' of contrastive fine-tuning must be > 0. "
                            f"Got {self.learning_rate!r} instead.")


@dataclass
class FinetuneReport:
    """What tuning did: pairs, steps, seconds and the loss per step."""

    n_pairs: int
    n_positive: int
    n_steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)
    config: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = asdict(self)
        out["loss_first"] = self.losses[0] if self.losses else None
        out["loss_last"] = self.losses[-1] if self.losses else None
        out.pop("losses")
        out["seconds"] = round(self.seconds, 2)
        return out


def make_pairs(labels: Sequence[str], n_iterations: int, max_pairs: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, target)``: index pairs and 1.0/0.0 targets (same / different label).

    Each round gives every sentence one same-label partner (when its class has another
    member) and one other-label partner, as SetFit's pair generation does; rounds stop once
    ``max_pairs`` pairs exist, and the pairs are shuffled.
    """
    y = np.asarray(labels)
    members = {c: np.flatnonzero(y == c) for c in np.unique(y)}
    a, b, target = [], [], []
    for _ in range(n_iterations):
        for i in rng.permutation(len(y)):
            same = members[y[i]][members[y[i]] != i]
            if len(same):
                a.append(i), b.append(int(rng.choice(same))), target.append(1.0)
            others = np.flatnonzero(y != y[i])
            a.append(i), b.append(int(rng.choice(others))), target.append(0.0)
        if len(a) >= max_pairs:
            break
    order = rng.permutation(len(a))[:max_pairs]
    return np.asarray(a)[order], np.asarray(b)[order], np.asarray(target, dtype=np.float32)[order]


def contrastive_finetune(encoder: SplitSentenceEncoder, texts: Sequence[str],
                         labels: Sequence[str], config: SetFitConfig = SetFitConfig(),
                         on_step: OnStep | None = None) -> FinetuneReport:
    """Tune ``encoder``'s top layers in place on pairs of ``texts``; returns the report.

    Each step embeds the distinct sentences of a batch of pairs once (the bottom layers are
    memoized), so the cost grows with the sentences per batch, not with the pairs.
    """
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    a, b, target = make_pairs(labels, config.n_iterations, config.max_pairs, rng)
    states = encoder.bottom(list(texts))
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=config.learning_rate)
    n_steps_total = config.epochs * int(np.ceil(len(a) / config.batch_pairs))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: max(0.0, 1.0 - s / max(1, n_steps_total)))  # linear decay
    losses: list[float] = []
    encoder.model.train()
    for _ in range(config.epochs):
        order = rng.permutation(len(a))
        for start in range(0, len(order), config.batch_pairs):
            batch = order[start:start + config.batch_pairs]
            loss = _pair_loss(encoder, states, a[batch], b[batch], target[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            if on_step:
                on_step(len(losses), losses[-1])
    encoder.model.eval()
    return FinetuneReport(len(a), int(target.sum()), len(losses), time.perf_counter() - started,
                          losses, asdict(config))


def _pair_loss(encoder, states, a, b, target) -> torch.Tensor:
    """Mean squared error between cos(u, v) and the 1/0 target over a batch of pairs."""
    distinct = np.unique(np.concatenate([a, b]))
    where = {int(i): j for j, i in enumerate(distinct)}
    embeddings = encoder.top([states[i] for i in distinct])
    embeddings = torch.nn.functional.normalize(embeddings, dim=-1)
    u = embeddings[[where[int(i)] for i in a]]
    v = embeddings[[where[int(i)] for i in b]]
    return torch.mean(((u * v).sum(dim=-1) - torch.from_numpy(target)) ** 2)


def split_encoder(backbone: Backbone, n_tuned_layers: int) -> SplitSentenceEncoder:
    """The trainable encoder behind ``backbone`` (a sentence-transformers text backbone)."""
    get_module = getattr(backbone, "tunable_module", None)
    if backbone.modality != "text" or get_module is None:
        raise BackboneUnavailableError(
            f"--finetune tunes a sentence encoder; backbone '{backbone.name}' cannot be tuned. "
            "Use --backbone minilm (the default for texts).")
    return SplitSentenceEncoder(get_module(), n_tuned_layers)


def finetune_backbone(backbone: Backbone, texts: Sequence[str], labels: Sequence[str],
                      config: SetFitConfig = SetFitConfig(), on_step: OnStep | None = None,
                      encoder: SplitSentenceEncoder | None = None) -> FinetuneReport:
    """Tune ``backbone`` in place and give it a new fingerprint (cached embeddings of the
    original weights are never reused for it)."""
    if len(set(labels)) < 2:
        raise DataError("Contrastive fine-tuning needs at least 2 classes; got "
                        f"{sorted(set(labels))}.")
    warn_long_texts(backbone, texts)
    encoder = encoder or split_encoder(backbone, config.n_tuned_layers)
    report = contrastive_finetune(encoder, texts, labels, config, on_step)
    mark_tuned(backbone)
    return report


def warn_long_texts(backbone: Backbone, texts: Sequence[str]) -> None:
    """Say how many ``texts`` are past ``backbone``'s token window (``TokenWindow``: MiniLM and
    ``st:`` models), as embedding them says: the encoder tuned on them, and the embeddings after
    tuning, read only their first tokens. A backbone that reads texts whole says nothing."""
    check = getattr(backbone, "warn_long_texts", None)
    if check is not None:
        check(list(texts), stacklevel=3)  # the warning names the caller of this function's caller
