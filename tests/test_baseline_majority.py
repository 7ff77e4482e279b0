"""The majority-class baseline reads as the largest class's share, never below it on balanced folds."""

import numpy as np
import pytest

from handful.select import majority_baseline, search_models, transfer_warning
from handful.select.search import cv_splits


def test_balanced_two_classes_baseline_is_fifty_percent_not_below_chance():
    # 8 + 8, stratified: each training fold's own majority is the class its test fold is short
    # of, which read 36.7%; always answering one class scores exactly half on every fold.
    y = np.array(["a"] * 8 + ["b"] * 8, dtype=object)
    splits, _ = cv_splits(y)
    base = majority_baseline(y, splits)
    assert base["mean"] == pytest.approx(0.5), "always answering one of two equal classes is 50%"
    assert base["std"] == pytest.approx(0.0), "ties average over the tied classes on every fold"
    assert base["n_folds"] == len(splits)


@pytest.mark.parametrize("counts", [(8, 8), (5, 5, 5), (6, 6, 3), (10, 9), (7, 7, 7, 6)])
def test_baseline_is_never_below_the_largest_class_share_on_stratified_folds(counts):
    # near-ties (10 vs 9) flipped each training fold's majority as exact ties did
    y = np.concatenate([[f"c{i}"] * n for i, n in enumerate(counts)]).astype(object)
    splits, _ = cv_splits(y)
    share = max(counts) / sum(counts)
    assert majority_baseline(y, splits)["mean"] >= share - 0.02, "stratified folds keep the shares"


def test_an_unbalanced_twelve_four_split_scores_about_three_quarters():
    y = np.array(["a"] * 12 + ["b"] * 4, dtype=object)
    splits, _ = cv_splits(y)
    assert majority_baseline(y, splits)["mean"] == pytest.approx(0.75), "the larger class is 12/16"


def test_random_features_on_balanced_data_still_raise_the_negative_transfer_warning():
    # the warning compares with the baseline: a below-chance baseline let noise features pass
    rng = np.random.default_rng(3)
    y = np.repeat(["a", "b"], 8)
    board = search_models({"noise": rng.normal(0, 1, (16, 16))}, y)
    assert board.baseline["mean"] == pytest.approx(0.5)
    assert "Negative transfer" in transfer_warning(board)


def test_separable_features_on_balanced_data_do_not_raise_the_warning():
    rng = np.random.default_rng(4)
    y = np.repeat(["a", "b"], 8)
    X = np.where((y == "a")[:, None], 5.0, -5.0) + rng.normal(0, 1, (16, 4))
    board = search_models({"good": X}, y)
    assert board.best["mean"] == 1.0 and transfer_warning(board) is None
