"""Nearest prototype in the SimpleShot style (Wang et al. 2019): center, L2-normalize, cosine."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from .base import HeadMixin, l2_normalize, softmax, squared_distances
from .params import one_of, positive


class PrototypeHead(HeadMixin, BaseEstimator):
    """Each class is the mean of its centered, L2-normalized embeddings; cosine to the means.

    Args:
        temperature: softmax temperature on the cosine similarities (smaller = sharper).
        center: subtract the training mean before normalizing (SimpleShot's "CL2N"). Off by
            default: with 1-2 examples per class the training mean is a poor center (on
            hymenoptera 1-shot: 69.3% centered vs 75.4% not; equal from K=5 on). Model
            selection tries both when there are enough examples to cross-validate.
        metric: ``"cosine"`` (the above) or ``"euclidean"``: plain class means and softmax of
            minus the squared distance / temperature, the metric a prototypical network
            (``handful protonet train``) is trained for.

    Example:
        >>> head = PrototypeHead().fit(X_support, y_support)   # works from 1 example per class
    """

    _state_attrs = ("mean_", "prototypes_")
    _param_rules = {"temperature": positive(), "metric": one_of("cosine", "euclidean")}

    def __init__(self, temperature: float = 0.05, center: bool = False, metric: str = "cosine"):
        self.temperature = temperature
        self.center = center
        self.metric = metric

    def _normalize(self, X: np.ndarray) -> np.ndarray:
        return l2_normalize(X - self.mean_)

    def fit(self, X, y) -> PrototypeHead:
        X, y_idx = self._validate_fit(X, y)
        self.counts_ = np.bincount(y_idx, minlength=len(self.classes_))  # not saved; transduction reads it
        if self.metric == "euclidean":
            self.mean_ = np.zeros(X.shape[1])
            self.prototypes_ = np.stack([X[y_idx == k].mean(axis=0) for k in range(len(self.classes_))])
            return self
        self.mean_ = X.mean(axis=0) if self.center else np.zeros(X.shape[1])
        Z = self._normalize(X)
        means = np.stack([Z[y_idx == k].mean(axis=0) for k in range(len(self.classes_))])
        self.prototypes_ = l2_normalize(means)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Softmax of cosine similarity to each prototype / temperature."""
        X = self._validate_predict(X)
        if self.metric == "euclidean":
            return self._calibrated(softmax(-squared_distances(X, self.prototypes_) / self.temperature))
        return self._calibrated(softmax(self._normalize(X) @ self.prototypes_.T / self.temperature))
