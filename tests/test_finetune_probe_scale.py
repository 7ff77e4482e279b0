"""The logistic head's standardization floors each feature's spread, so a feature that barely
moves on the training embeddings is not blown up into huge scores on new or augmented images."""

import numpy as np

from handful.heads import LogisticHead
from handful.heads.logistic import SCALE_FLOOR, feature_scale


def nearly_dead_feature_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(40, 8) embeddings: features 0-1 separate the classes, 2-6 are unit noise, and feature 7
    is a nearly dead channel (std 1e-6, as some EfficientNet channels are on a few images)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 8))
    y = np.repeat(["ant", "bee"], 20)
    X[y == "bee", :2] += 2.0
    X[:, 7] = 0.5 + 1e-6 * rng.normal(size=40)
    return X, y


def test_logistic_head_floors_the_scale_of_a_nearly_constant_feature():
    X, y = nearly_dead_feature_data()
    head = LogisticHead().fit(X, y)
    median = np.median(X.std(axis=0)[:7])
    assert head.scale_[7] >= SCALE_FLOOR * median * 0.99  # not 1e-6
    np.testing.assert_allclose(head.scale_[:7], X.std(axis=0)[:7])  # the others: plain std


def test_a_tiny_move_of_a_nearly_dead_feature_does_not_flip_the_prediction():
    # A new image (or an augmented crop) that moves the dead channel by 1e-3, a thousandth of a
    # typical feature's spread, is the same image to every other feature: its probabilities must
    # stay put. Divided by its std of 1e-6 that move was a 1000-sigma outlier.
    X, y = nearly_dead_feature_data()
    head = LogisticHead().fit(X, y)
    moved = X.copy()
    moved[:, 7] += 1e-3
    shift = np.abs(head.predict_proba(moved) - head.predict_proba(X)).max()
    assert shift < 0.01


def test_feature_scale_of_constant_columns():
    X = np.ones((5, 3))
    np.testing.assert_array_equal(feature_scale(X), [1.0, 1.0, 1.0])  # nothing varies: no scaling
    X[:, 0] = np.arange(5)
    scale = feature_scale(X)  # the constant columns get the floor; centred they are 0 anyway
    np.testing.assert_allclose(scale, [np.std(np.arange(5)), *[SCALE_FLOOR * np.std(np.arange(5))] * 2])
