"""Logistic regression on standardized embeddings."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from ..errors import DataError
from .base import HeadMixin, l2_normalize, softmax


class LogisticHead(HeadMixin, BaseEstimator):
    """Multinomial logistic regression (L2) on embeddings.

    ``normalize="standard"`` standardizes each feature (the classic recipe);
    ``"l2"`` scales each row to unit length first, which is steadier at very small K.

    Example:
        >>> head = LogisticHead(C=1.0).fit(X_train, y_train)
    """

    _state_attrs = ("mean_", "scale_", "coef_", "intercept_")

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
        if self.normalize not in ("standard", "l2"):
            raise DataError(f"The 'normalize' parameter of LogisticHead must be 'standard' or "
                             f"'l2'. Got {self.normalize!r} instead.")
        Xn = l2_normalize(X) if self.normalize == "l2" else X
        self.mean_ = Xn.mean(axis=0)
        std = Xn.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)
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
        return softmax(scores)
