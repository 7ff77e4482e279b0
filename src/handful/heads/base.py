"""What every head shares: validation, probabilities -> labels, and the save format."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import DataError
from .params import Rule, check_params

SCALE_FLOOR = 0.1  # of the median feature's standard deviation (heads/logistic.py's docstring says why)


def feature_scale(X: np.ndarray) -> np.ndarray:
    """Each column's standard deviation, at least ``SCALE_FLOOR`` x the median one among the
    columns that vary (all 1 when none does), so no feature is divided by ~0. (n_features,)"""
    std = X.std(axis=0)
    varying = std[std > 1e-12]
    floor = SCALE_FLOOR * float(np.median(varying)) if varying.size else 1.0
    return np.maximum(std, floor)


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, 1e-12)


def squared_distances(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """(n, k) squared Euclidean distances of rows of ``x`` (n, d) to ``centers`` (k, d), >= 0."""
    sq = (x ** 2).sum(1)[:, None] - 2 * x @ centers.T + (centers ** 2).sum(1)[None]
    return np.maximum(sq, 0.0)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def temperature_scaled(proba: np.ndarray, temperature: float, logs: bool = False) -> np.ndarray:
    """``softmax(log p / temperature)`` row-wise: the same ranking of classes, sharper below 1 and
    softer above (``logs=True``: ``proba`` already holds log-probabilities). For a softmax head
    this equals dividing its logits by ``temperature`` (``evaluate.calibration`` fits it)."""
    log_p = proba if logs else np.log(np.clip(proba, np.finfo(np.float32).tiny, None))  # as ONNX
    return softmax(log_p / temperature)


class HeadMixin(ClassifierMixin):
    """Shared fit-time validation and ``predict`` from ``predict_proba``.

    Subclasses list their learned arrays in ``_state_attrs``: those, ``get_params()`` and
    ``classes_`` are the whole saved state (see ``handful.bundle``).
    """

    _state_attrs: tuple[str, ...] = ()
    _param_rules: dict[str, Rule] = {}  # checked at fit, before any work (heads/params.py)
    calibration_: float = 1.0  # the temperature on the probabilities; 1 = as the head computes them

    def calibrate(self, temperature: float):
        """Scale every later ``predict_proba`` as ``softmax(log p / temperature)`` (a fitted
        attribute, saved with the model; ``fit`` resets it to 1). Predictions do not change."""
        if not (np.isfinite(temperature) and temperature > 0):
            raise DataError(f"A calibration temperature must be a finite number > 0. Got {temperature!r}.")
        self.calibration_ = float(temperature)
        return self

    def _calibrated(self, proba: np.ndarray) -> np.ndarray:
        return proba if self.calibration_ == 1.0 else temperature_scaled(proba, self.calibration_)

    def _check_params(self) -> None:
        """Raise a DataError naming the first parameter that breaks ``_param_rules``."""
        check_params(self, self._param_rules)

    def _validate_fit(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        self._check_params()
        self.calibration_ = 1.0  # a new fit is not calibrated until told
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data; "
                f"got 1 class: {self.classes_[0]!r}."
            )
        return X, y_idx

    def _validate_predict(self, X) -> np.ndarray:
        check_is_fitted(self, "classes_")
        return validate_data(self, X, dtype=np.float64, reset=False)

    def predict(self, X) -> np.ndarray:
        """The class with the highest probability, for each row of ``X``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def decision_function(self, X) -> np.ndarray:
        """Log-probabilities, (n_samples, n_classes) (one column for two classes)."""
        proba = self.predict_proba(X)
        log_proba = np.log(np.clip(proba, 1e-300, None))
        if len(self.classes_) == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The learned numeric arrays, by attribute name."""
        return {name: np.asarray(getattr(self, name)) for name in self._state_attrs}
