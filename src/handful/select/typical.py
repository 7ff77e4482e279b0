"""Which examples to label first while a model has few labels: typical ones of uncovered clusters.

With a label or two per class a model's uncertainty says little (its boundary is a guess), and
uncertain items are often odd ones. TypiClust (Hacohen, Dekel & Weinshall, ICML 2022, "Active
learning on a budget") picks what a small labeled set most lacks instead: k-means the items into
``n_labeled + n`` clusters and take, from each of the largest clusters holding no labeled example,
its most *typical* member, the one with the smallest mean distance to its ``K_NEIGHBOURS`` nearest
neighbours in the cluster. Clusters under ``MIN_CLUSTER`` items (outliers) are passed over while
bigger ones are left. When the labeled examples' embeddings are not known (a model keeps them from
20 examples, ``evaluate.familiarity``), every cluster counts as uncovered.
"""

from __future__ import annotations

import warnings

import numpy as np

K_NEIGHBOURS = 20  # the authors' choice
MIN_CLUSTER = 5  # smaller clusters are outliers: their "typical" member is not typical of much
CHUNK = 1024  # rows of the distance matrix computed at a time
MAX_CLUSTERED = 10_000  # items clustered at most (a seeded draw), to keep k-means to seconds


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def typicality(Z: np.ndarray, k: int = K_NEIGHBOURS) -> np.ndarray:
    """Inverse mean distance of each unit row of ``Z`` (m, dim) to its ``k`` nearest other rows;
    a lone row gets 0."""
    if len(Z) < 2:
        return np.zeros(len(Z))
    k = min(k, len(Z) - 1)
    out = np.empty(len(Z))
    for start in range(0, len(Z), CHUNK):  # a cluster of 10,000 would be a 400 MB matrix at once
        d = np.sqrt(np.maximum(2.0 - 2.0 * Z[start:start + CHUNK] @ Z.T, 0.0))  # euclidean, unit rows
        nearest = np.partition(d, k, axis=1)[:, :k + 1]  # itself (0) and its k nearest
        out[start:start + CHUNK] = 1.0 / ((nearest.sum(axis=1) - nearest.min(axis=1)) / k + 1e-8)
    return out


def rank_typical(embeddings: np.ndarray, n: int, n_labeled: int = 0, labeled: np.ndarray | None = None,
                 seed: int = 0, n_clusters: int | None = None) -> list[int]:
    """Indices of up to ``n`` rows of ``embeddings`` to label next, best first (TypiClust).

    Args:
        embeddings: (m, dim) embeddings of the unlabeled items.
        n: how many to pick.
        n_labeled: how many examples are labeled already (the clusters are ``n_labeled + n``).
        labeled: (k, dim) their embeddings where known: clusters holding one come last.
        seed: k-means seed.
        n_clusters: None: ``n_labeled + n``; with more picks than clusters, each cluster gives its
            next most typical member in turn.

    Example:
        >>> rank_typical(X_unlabeled, 10, n_labeled=clf.training_["n"])
    """
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    rows = np.arange(len(embeddings))
    if len(rows) > MAX_CLUSTERED:
        rows = np.sort(rng.choice(rows, MAX_CLUSTERED, replace=False))
    Z = _unit(embeddings[rows])
    known = np.zeros((0, Z.shape[1]), np.float32) if labeled is None else _unit(labeled)
    points = np.concatenate([Z, known])
    # no more clusters than distinct points: copies among the inputs made k-means warn "Number of
    # distinct clusters (15) found smaller than n_clusters (18)" on the terminal of `suggest --n 18`
    n_distinct = len(np.unique(points, axis=0)) if len(points) else 0
    n_clusters = min(n_clusters or n_labeled + n, n_distinct)
    if n_clusters < 1 or not len(Z):
        return []
    with warnings.catch_warnings():  # points a float apart can still share a cluster: no news to the user
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        model = KMeans(n_clusters, n_init=1, random_state=seed).fit(points)
    assign = model.labels_[:len(Z)]
    sizes = np.bincount(model.labels_, minlength=n_clusters)
    covered = np.bincount(model.labels_[len(Z):], minlength=n_clusters)
    left = [np.flatnonzero(assign == c) for c in range(n_clusters)]  # positions in Z, best first
    left = [members[np.argsort(-typicality(Z[members]), kind="stable")] for members in left]
    picked: list[int] = []
    while len(picked) < n:
        open_ = [c for c in range(n_clusters) if len(left[c])]
        if not open_:
            break
        # proper clusters before outliers (the authors skip them), the least covered, the largest
        c = min(open_, key=lambda c: (sizes[c] < MIN_CLUSTER, covered[c], -sizes[c], c))
        picked.append(int(rows[left[c][0]]))
        left[c] = left[c][1:]
        covered[c] += 1
    return picked
