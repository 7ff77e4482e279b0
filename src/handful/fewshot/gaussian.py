"""Gaussian prototypes (Fort 2017): each embedding carries a confidence; classes get a spread.

The encoder emits an embedding ``x`` and a raw value ``r`` per example; ``s = 1 + softplus(r)``
is that example's precision (inverse variance, one scalar: the "radius" variant). A class
prototype is the precision-weighted mean of its support embeddings and the class precision
is the sum of theirs, so a class seen through confident, consistent examples is tight and a
class seen through sloppy ones is broad. The score is minus the precision-scaled squared
distance, where plain prototypical networks use the unscaled one.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def gaussian_logits(support: torch.Tensor, support_raw: torch.Tensor, support_y: torch.Tensor,
                    query: torch.Tensor, n_way: int) -> torch.Tensor:
    """Logits (n_query, n_way) from support (n_s, d), raw confidences (n_s, k), queries (n_q, d).

    ``k`` is 1 (radius) or ``d`` (diagonal); both broadcast.
    """
    precision = 1.0 + F.softplus(support_raw)  # (n_s, k)
    onehot = F.one_hot(support_y, n_way).to(support.dtype)  # (n_s, n_way)
    class_precision = onehot.T @ precision  # (n_way, k)
    protos = (onehot.T @ (precision * support)) / class_precision  # (n_way, d)
    s = class_precision.expand_as(protos)  # (n_way, d)
    # sum_j s_cj (q_j - p_cj)^2 expanded into three matmuls: the (n_q, n_way, d) tensor of
    # differences cost ~2x the training time of a 60-way episode at d = 256 (memory traffic)
    return -(query.pow(2) @ s.T - 2 * query @ (s * protos).T + (s * protos.pow(2)).sum(1))


def gaussian_scorer(extra: int = 1):
    """An episode scorer for embeddings whose last ``extra`` columns are the raw confidences."""

    def score(support: np.ndarray, support_y: np.ndarray, query: np.ndarray, n_way: int) -> np.ndarray:
        s = torch.from_numpy(np.ascontiguousarray(support, dtype=np.float32))
        q = torch.from_numpy(np.ascontiguousarray(query[:, :-extra], dtype=np.float32))
        logits = gaussian_logits(s[:, :-extra], s[:, -extra:], torch.from_numpy(support_y).long(),
                                 q, n_way)
        return logits.argmax(1).numpy()

    return score
