"""Logistic regression on standardized embeddings.

Standardizing divides each feature by its spread on the training embeddings. A feature that
barely moves there (an almost dead channel: std 1e-6 where the median feature's is 0.03) would
be blown up a thousandfold, so a new image (or an augmented crop, in fine-tuning) that moves it
a little gets a huge, meaningless score. Each spread is therefore floored at ``SCALE_FLOOR``
times the median spread (``base.feature_scale``, which the MLP head uses too): on EfficientNet-Lite0
features this takes the linear probe's loss on
augmented crops of its training images from 1.1-1.5 to 0.01-0.2 and, at 5 images per class,
raises test accuracy (flowers5 43% -> 52%, hymenoptera 81% -> 90%); with all the images it
changes accuracy by at most 0.3 points.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from .base import SCALE_FLOOR, HeadMixin, feature_scale, l2_normalize, softmax
from .params import one_of, positive, whole_at_least

__all__ = ["SCALE_FLOOR", "LogisticHead", "feature_scale"]

class LogisticHead(HeadMixin, BaseEstimator):
    """Multinomial logistic regression (L2) on embeddings.

    ``normalize="standard"`` standardizes each feature (the classic recipe);
    ``"l2"`` scales each row to unit length first, which is steadier at very small K.

    Example:
        >>> head = LogisticHead(C=1.0).fit(X_train, y_train)
    """

    _state_attrs = ("mean_", "scale_", "coef_", "intercept_")
    _param_rules = {"C": positive(), "normalize": one_of("standard", "l2"), "max_iter": whole_at_least(1)}

    def __init__(self, C: float = 1.0, normalize: str = "standard", max_iter: int = 2000):
        self.C = C
        self.normalize = normalize
        self.max_iter = max_iter

    def _transform(self, X: np.ndarray) -> np.ndarray:
        if self.normalize == "l2":
            X = l2_normalize(X)
        return (X - self.mean_) / self.scale_

    def fit(self, X, y) -> LogisticHead:
        X, y_idx = self._validate_fit(X, y)
        Xn = l2_normalize(X) if self.normalize == "l2" else X
        self.mean_ = Xn.mean(axis=0)
        self.scale_ = feature_scale(Xn)
        model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        model.fit((Xn - self.mean_) / self.scale_, y_idx)
        self.coef_, self.intercept_ = model.coef_, model.intercept_
        self.n_iter_ = model.n_iter_
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes) in ``classes_`` order."""
        X = self._validate_predict(X)
        scores = self._transform(X) @ self.coef_.T + self.intercept_
        if self.coef_.shape[0] == 1:  # binary: one logit for the second class
            scores = np.hstack([np.zeros_like(scores), scores])
        return self._calibrated(softmax(scores))
