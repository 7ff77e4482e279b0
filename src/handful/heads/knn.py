"""k nearest neighbours by cosine similarity on centered, L2-normalized embeddings."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from .base import HeadMixin, l2_normalize
from .params import positive, whole_at_least


class KNNHead(HeadMixin, BaseEstimator):
    """Similarity-weighted vote of the ``n_neighbors`` most similar training examples.

    The training embeddings are part of the saved model (they are the model).
    """

    _state_attrs = ("mean_", "X_", "y_")
    _param_rules = {"n_neighbors": whole_at_least(1), "temperature": positive()}

    def __init__(self, n_neighbors: int = 5, temperature: float = 0.05):
        self.n_neighbors = n_neighbors
        self.temperature = temperature

    def fit(self, X, y) -> KNNHead:
        X, y_idx = self._validate_fit(X, y)
        self.mean_ = X.mean(axis=0)
        self.X_ = l2_normalize(X - self.mean_)
        self.y_ = y_idx.astype(np.int64)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Votes weighted by exp(similarity / temperature), normalized; ties smoothed slightly."""
        X = self._validate_predict(X)
        sims = l2_normalize(X - self.mean_) @ self.X_.T  # (n, n_train)
        k = min(int(self.n_neighbors), self.X_.shape[0])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.exp((np.take_along_axis(sims, top, axis=1) - 1.0) / self.temperature)
        proba = np.full((X.shape[0], len(self.classes_)), 1e-6)
        np.add.at(proba, (np.repeat(np.arange(X.shape[0]), k), self.y_[top].ravel()), weights.ravel())
        return self._calibrated(proba / proba.sum(axis=1, keepdims=True))
