"""Every registered head is a scikit-learn classifier and handles handful's small-data cases."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from handful.heads import HEADS, create_head

FAST = {"mlp": {"max_epochs": 30}}


def _heads():
    return [cls(**FAST.get(name, {})) for name, cls in HEADS.items()]


@parametrize_with_checks(_heads())
def test_head_passes_sklearn_checks(estimator, check):
    check(estimator)


def _blobs(n_per_class, n_classes=3, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 5, (n_classes, dim))
    X = np.concatenate([c + rng.normal(0, 0.5, (n_per_class, dim)) for c in centers])
    y = np.repeat([f"class {chr(65 + k)}" for k in range(n_classes)], n_per_class)
    return X, y


@pytest.mark.parametrize("name", list(HEADS))
def test_head_fits_one_shot_string_labels_and_separates_blobs(name):
    # Blobs 10 sigma apart: one example per class is enough for every head.
    X, y = _blobs(1)
    Xq, yq = _blobs(20, seed=0)
    head = create_head(name, **FAST.get(name, {})).fit(X, y)
    assert list(head.classes_) == ["class A", "class B", "class C"]
    assert (head.predict(Xq) == yq).mean() == 1.0


@pytest.mark.parametrize("name", list(HEADS))
def test_head_probabilities_sum_to_one_and_argmax_is_predict(name):
    X, y = _blobs(8, n_classes=2)
    head = create_head(name, **FAST.get(name, {})).fit(X, y)
    proba = head.predict_proba(X)
    assert proba.shape == (16, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(head.classes_[proba.argmax(axis=1)], head.predict(X))


@pytest.mark.parametrize("name", [n for n in HEADS if n in ("logistic", "mlp")])
def test_standardizing_heads_do_not_blow_up_a_feature_that_barely_moves(name):
    # 5 examples per class: feature 7 is almost dead on them (spread 1e-6, as hundreds of
    # EfficientNet features are at 1-5 images per class). Dividing by that spread made a new
    # example that moves it by 1e-3 a thousand standard deviations out, and flipped its class.
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 5)
    X = rng.normal(0, 1, (10, 8)) + np.where(y == "a", 2.0, -2.0)[:, None] * (np.arange(8) < 4)
    X[:, 7] = 1e-6 * rng.normal(size=10)
    head = create_head(name).fit(X, y)
    moved = X[:2].copy()
    moved[:, 7] += 1e-3
    shift = np.abs(head.predict_proba(moved) - head.predict_proba(X[:2])).max()
    assert head.scale_[7] > 1e-3 and shift < 0.05
