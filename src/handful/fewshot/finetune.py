"""Fine-tune on the support set at test time (the P>M>F idea, Hu et al. 2022).

A copy of the encoder takes a few Adam steps on pseudo-episodes built from the support set
alone: one jittered view of each support image makes the prototypes, another is the query.
Batch-norm statistics stay frozen (a 5-image batch would wreck them). The original encoder
is untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .protonet import jitter, prototype_logits


def finetuned_copy(module: torch.nn.Module, encode: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
                   support: torch.Tensor, support_y: np.ndarray, n_way: int, steps: int = 20,
                   lr: float = 1e-4, seed: int = 0) -> torch.nn.Module:
    """A copy of ``module`` tuned for ``steps`` on the support images (n_s, c, h, w).

    ``encode(module, x)`` returns the embeddings (n, d) the prototypes are made of.
    """
    tuned = copy.deepcopy(module).eval()  # eval: batch-norm uses its running statistics
    optimizer = torch.optim.Adam(tuned.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    y = torch.as_tensor(support_y, dtype=torch.long)
    with torch.enable_grad():
        for _ in range(steps):
            views = jitter(torch.cat([support, support]), gen)
            emb = encode(tuned, views)
            logits = prototype_logits(emb[:len(support)], y, emb[len(support):], n_way)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return tuned.eval()
