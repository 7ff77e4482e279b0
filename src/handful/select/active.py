"""Which examples to label next: uncertain ones, spread out so they are not near-duplicates.

Uncertainty is ``1 - (p_top1 - p_top2)``: the margin between the two likeliest classes is
where one more label moves the decision boundary most. Picking the top ``n`` by
uncertainty alone tends to return ``n`` views of the same confusing thing, so the most
uncertain candidates are chosen greedily with diversity: each step takes the candidate that
maximizes ``uncertainty * distance to the nearest one already picked`` (a k-center greedy
weighted by uncertainty), and near-duplicates of a picked item are never taken.
"""

from __future__ import annotations

import numpy as np

POOL_FACTOR = 5  # candidates considered: the POOL_FACTOR * n most uncertain (at least 50)
DUPLICATE_DISTANCE = 0.02  # cosine distance under which two items count as the same picture


def margin_uncertainty(proba: np.ndarray) -> np.ndarray:
    """``1 - (p1 - p2)`` per row of ``proba`` (n, n_classes): 1 = a coin toss, 0 = certain."""
    top2 = -np.sort(-proba, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def rank_for_labeling(embeddings: np.ndarray, proba: np.ndarray, n: int) -> list[int]:
    """Indices of up to ``n`` items to label next, best first.

    Args:
        embeddings: (m, dim) embeddings of the unlabeled items.
        proba: (m, n_classes) the model's probabilities for them.
        n: how many to pick.

    Example:
        >>> rank_for_labeling(X_unlabeled, clf.head_.predict_proba(X_unlabeled), 20)
    """
    uncertainty = margin_uncertainty(proba)
    order = np.argsort(-uncertainty, kind="stable")
    pool = order[: max(POOL_FACTOR * n, 50)]
    Z = embeddings[pool] - embeddings[pool].mean(axis=0)
    Z = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
    u = uncertainty[pool] + 1e-6  # a certain item can still be picked for coverage
    nearest = np.full(len(pool), 2.0)  # cosine distance to the nearest pick (max 2)
    picked: list[int] = []
    for _ in range(min(n, len(pool))):
        score = np.where(nearest > DUPLICATE_DISTANCE, u * nearest, -np.inf)
        score[picked] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        picked.append(best)
        nearest = np.minimum(nearest, 1.0 - Z @ Z[best])
    return [int(pool[i]) for i in picked]
