"""Head selection on imbalanced classes scores folds by balanced accuracy (mean per-class recall):
accuracy rewards a head that ignores a small class, so ``--head auto`` picked it and the small
class's recall collapsed. Balanced data keeps plain accuracy and today's leaderboard."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from handful.heads import create_head
from handful.select import Leaderboard, majority_baseline, search_heads, search_models, transfer_warning
from handful.select.search import cv_splits, selection_metric

# a heavily regularised logistic head answers the large class; prototypes weigh classes alike
CANDIDATES = (("logistic", {"C": 0.1}), ("prototype", {}))


def overlapping(n_big: int, n_small: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes in 4-d, the small one shifted along one axis: they overlap, so a head can buy
    accuracy by answering the large class."""
    rng = np.random.default_rng(seed)
    y = np.array(["big"] * n_big + ["small"] * n_small, dtype=object)
    X = rng.normal(0, 1, (len(y), 4))
    X[y == "small", 0] += 1.5
    return X, y


@pytest.mark.parametrize("counts, metric", [
    ((10, 10), "accuracy"), ((14, 10), "accuracy"), ((124, 121), "accuracy"),
    ((15, 10), "balanced_accuracy"), ((50, 10), "balanced_accuracy"), ((20, 20, 12), "balanced_accuracy"),
])
def test_the_metric_turns_balanced_once_the_largest_class_has_one_and_a_half_times_the_smallest(counts, metric):
    y = np.concatenate([[f"c{i}"] * n for i, n in enumerate(counts)]).astype(object)
    assert selection_metric(y) == metric


def test_on_imbalanced_classes_the_search_picks_by_balanced_accuracy_and_says_so():
    X, y = overlapping(40, 10)
    by_accuracy = search_heads(X, y, CANDIDATES, metric="accuracy")
    board = search_heads(X, y, CANDIDATES)
    # the two metrics disagree on these data: accuracy prefers the head that answers "big"
    assert by_accuracy.best["head"] == "logistic"
    assert board.metric == "balanced_accuracy" and board.best["head"] == "prototype"
    doc = board.to_json()
    assert doc["metric"] == "balanced_accuracy"
    assert doc["selection"]["metric"] == "balanced_accuracy" and doc["selection"]["class_sizes"] == [10, 40]
    assert "cv_accuracy" not in doc["selection"], "a key named accuracy must not hold balanced accuracy"
    assert doc["selection"]["cv_balanced_accuracy"] == board.best["mean"]
    # out-of-fold answers stay for calibration, whatever the metric
    proba, truth = board.best["_oof"]
    assert proba.shape == (len(y), 2) and sorted(truth) == sorted(np.unique(y, return_inverse=True)[1])


def balanced_fold_scores(X: np.ndarray, y: np.ndarray, row: dict) -> list[float]:
    """The row's head refit on each fold, scored by the mean recall over the fold's classes."""
    scores = []
    for train, test in cv_splits(y)[0]:
        head = clone(create_head(row["head"], **row["params"])).fit(X[train], y[train])
        predicted = head.predict(X[test])
        scores.append(float(np.mean([(predicted[y[test] == c] == c).mean() for c in np.unique(y[test])])))
    return scores


def test_balanced_accuracy_fold_scores_are_the_mean_recall_of_each_test_fold():
    X, y = overlapping(40, 10)
    for row in search_heads(X, y, CANDIDATES).rows:
        assert row["fold_scores"] == pytest.approx(balanced_fold_scores(X, y, row))


def test_nearly_balanced_data_keeps_plain_accuracy_fold_for_fold():
    # 12 + 10 is below the 1.5x rule: each fold's score is the share answered right, as before
    X, y = overlapping(12, 10, seed=2)
    board = search_heads(X, y, CANDIDATES)
    assert board.metric == "accuracy" and "cv_accuracy" in board.selection()
    splits, _ = cv_splits(y)
    differs = False
    for row in board.rows:
        head = create_head(row["head"], **row["params"])
        predicted = [clone(head).fit(X[tr], y[tr]).predict(X[te]) for tr, te in splits]
        accuracy = [float((p == y[te]).mean()) for p, (_, te) in zip(predicted, splits)]
        balanced = [np.mean([(p[y[te] == c] == c).mean() for c in ("big", "small")])
                    for p, (_, te) in zip(predicted, splits)]
        assert row["fold_scores"] == accuracy
        differs |= not np.allclose(accuracy, balanced)
    assert differs, "the folds must tell the two metrics apart, or this test proves nothing"
    assert board.baseline["mean"] == pytest.approx(12 / 22, abs=0.02), "the largest class's share"


def test_the_majority_baseline_in_balanced_accuracy_is_one_over_the_number_of_classes():
    y = np.array(["a"] * 30 + ["b"] * 10 + ["c"] * 10, dtype=object)
    splits, _ = cv_splits(y)
    assert majority_baseline(y, splits)["mean"] == pytest.approx(0.6), "accuracy: the largest share"
    base = majority_baseline(y, splits, "balanced_accuracy")
    assert base["mean"] == pytest.approx(1 / 3) and base["std"] == pytest.approx(0.0), \
        "one class recalled fully, the other two never"


def test_a_search_on_imbalanced_classes_scores_its_baseline_in_balanced_accuracy_too():
    rng = np.random.default_rng(5)
    y = np.array(["a"] * 30 + ["b"] * 8, dtype=object)
    board = search_heads(rng.normal(0, 1, (38, 6)), y, CANDIDATES)
    assert board.baseline["mean"] == pytest.approx(0.5), "always answering 'a' recalls one of two classes"
    warning = transfer_warning(board)  # noise features: no better than the baseline
    assert warning is not None and "cross-validated balanced accuracy" in warning


def test_the_selection_adjustment_uses_the_fold_scores_of_the_leaderboards_metric():
    rows = [{"mean": 0.75, "fold_scores": [1.0, 0.5]}, {"mean": 0.75, "fold_scores": [0.5, 1.0]}]
    selection = Leaderboard(rows, "1x2-fold", metric="balanced_accuracy", class_sizes=(4, 12)).selection()
    # each fold's best scored 1.0, the chosen one 0.75 on average: a bias of 0.25
    assert selection["cv_balanced_accuracy"] == 0.75 and selection["adjusted_balanced_accuracy"] == 0.5
    assert selection["selection_bias"] == 0.25 and "adjusted_accuracy" not in selection


def test_search_models_scores_every_backbone_in_one_metric():
    X, y = overlapping(40, 10)
    noise = np.random.default_rng(9).normal(0, 1, X.shape)
    board = search_models({"signal": X, "noise": noise}, y, ["signal", "noise", "signal+noise"],
                          (*CANDIDATES, ("mlp", {})))
    assert board.metric == "balanced_accuracy" and board.to_json()["metric"] == "balanced_accuracy"
    assert board.baseline["mean"] == pytest.approx(0.5)
    assert board.best["backbone"] != "noise" and board.best["head"] != "logistic", \
        "the head that answers 'big' is 50% in balanced accuracy"
    # every backbone's rows, the slow head's (scored apart, on the leader) included, are in
    # balanced accuracy on the same folds
    embeddings = {"signal": X, "noise": noise, "signal+noise": np.hstack([X, noise])}
    assert {row["head"] for row in board.rows} == {"logistic", "prototype", "mlp"}
    for row in board.rows:
        assert row["fold_scores"] == pytest.approx(balanced_fold_scores(embeddings[row["backbone"]], y, row))
    assert board.selection()["class_sizes"] == [10, 40]
