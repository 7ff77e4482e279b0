"""The zero-shot prior's weight is chosen in the model search's metric: balanced accuracy on
imbalanced classes (plain accuracy there buys the big class's hits with the small class's recall),
plain accuracy, exactly as before, otherwise."""

import json

import numpy as np
import pytest

import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
from conftest import make_color_tree
from handful.cli import main
from handful.heads import create_head
from handful.heads.base import softmax
from handful.select import cv_splits, search
from handful.zeroshot import ZeroShotMap, scorer
from handful.zeroshot.prior import TEMPERATURE, WEIGHT_GRID, ZeroShotPriorHead, choose_weight

DIM = 16


def _problem(seed: int, n_big: int, n_small: int):
    """Two overlapping classes told apart by dim 0 only, ``n_big`` of one and ``n_small`` of the other."""
    rng = np.random.default_rng(seed)
    y = np.array(["big"] * n_big + ["small"] * n_small)
    X = rng.normal(0, 1, (len(y), DIM))
    X[:, 0] += np.where(y == "big", 1.0, -1.0)
    return X, y


def _map_leaning_to_big() -> ZeroShotMap:
    """A ConSE map whose ImageNet classifier sees nothing: every example gets the same scores,
    a little higher for "big" (a class name the zero-shot model simply likes more). Any weight
    on it only moves answers from "small" to "big"."""
    labels = np.zeros((1000, 2), dtype=np.float32)
    labels[:, 0] = 1.0
    names = np.array([[0.02, np.sqrt(1 - 0.02 ** 2)], [0.0, 1.0]], dtype=np.float32)
    return ZeroShotMap(("big", "small"), names, np.zeros((1000, DIM), dtype=np.float32),
                       np.zeros(1000, dtype=np.float32), labels)


def _recall(head, X, y) -> dict[str, float]:
    predicted = head.predict(X)
    return {c: float((predicted[y == c] == c).mean()) for c in ("big", "small")}


def test_on_imbalanced_classes_the_weight_is_chosen_by_balanced_accuracy_and_keeps_the_small_class(monkeypatch):
    X, y = _problem(2, 40, 8)  # 5x: the search scores by balanced accuracy here
    Xq, yq = _problem(100, 500, 500)
    head = ZeroShotPriorHead("prototype").with_zero_shot(_map_leaning_to_big()).fit(X, y)
    # what plain accuracy would choose (the behaviour before): the search's metric forced to accuracy
    monkeypatch.setattr(search, "selection_metric", lambda labels: "accuracy")
    by_accuracy = ZeroShotPriorHead("prototype").with_zero_shot(_map_leaning_to_big()).fit(X, y)
    assert head.cv_accuracy_["metric"] == "balanced_accuracy"
    assert by_accuracy.cv_accuracy_["metric"] == "accuracy"
    # accuracy rewards pushing every doubtful example into the big class: a larger weight
    assert head.weight_[0] < by_accuracy.weight_[0], (head.weight_, by_accuracy.weight_)
    recall, recall_by_accuracy = _recall(head, Xq, yq), _recall(by_accuracy, Xq, yq)
    # the prior only moves answers to "big", so the smaller weight can only keep more of "small"
    assert recall["small"] >= recall_by_accuracy["small"], (recall, recall_by_accuracy)
    assert recall["small"] > 0.3, f"the small class kept: {recall}"


def _choose_weight_by_accuracy(X, y_idx, scores, base, params, random_state=0):
    """choose_weight as it was before balanced accuracy: the oracle for data that is not imbalanced."""
    splits, _ = cv_splits(y_idx, random_state)
    accuracy, loglik = np.zeros(len(WEIGHT_GRID)), np.zeros(len(WEIGHT_GRID))
    for train, test in splits:
        head = create_head(base, **params).fit(X[train], y_idx[train])
        proba = np.zeros((len(test), scores.shape[1]))
        proba[:, head.classes_.astype(int)] = head.predict_proba(X[test])
        log_head = np.log(np.clip(proba, 1e-12, None))
        for j, w in enumerate(WEIGHT_GRID):
            p = softmax(log_head + w * scores[test] / TEMPERATURE)
            accuracy[j] += float((p.argmax(axis=1) == y_idx[test]).mean())
            loglik[j] += float(np.log(p[np.arange(len(test)), y_idx[test]] + 1e-12).mean())
    best = int(np.argmax(accuracy + 1e-3 * loglik / len(splits)))
    return float(WEIGHT_GRID[best]), accuracy[0] / len(splits), accuracy[best] / len(splits)


@pytest.mark.parametrize("n_big, n_small", [(20, 20), (14, 10)], ids=["balanced", "below-1.5x"])
@pytest.mark.parametrize("base", ["prototype", "logistic"])
def test_without_imbalance_the_weight_and_cv_scores_are_exactly_those_of_plain_accuracy(n_big, n_small, base):
    X, y = _problem(3, n_big, n_small)
    y_idx = (y == "small").astype(int)
    rng = np.random.default_rng(4)  # informative scores: three of the four cases choose a weight > 0
    scores = np.stack([X[:, 0], -X[:, 0]], axis=1) * 0.01 + rng.normal(0, 0.005, (len(y), 2))
    weight, how, cv = choose_weight(X, y_idx, scores, base, {})
    expected = _choose_weight_by_accuracy(X, y_idx, scores, base, {})
    assert (weight, cv["without_prior"], cv["with_prior"]) == expected  # identical, not just close
    assert cv["metric"] == "accuracy" and how == "cross-validation"


def test_train_with_the_prior_on_imbalanced_classes_names_balanced_accuracy(tmp_path, capsys, monkeypatch):
    # the report's key says what its numbers are, as the search's cv_balanced_accuracy does
    monkeypatch.setattr(scorer, "DEFAULT_TEXT_BACKBONE", "test_tiny_text")
    root = tmp_path / "lopsided"
    make_color_tree(root, 8, ("red", "blue"))
    make_color_tree(root, 3, ("green",), seed=1)
    assert main(["train", str(root), "--out", str(tmp_path / "m"), "--backbone", "test_imagenet_colors",
                 "--head", "prototype", "--zero-shot-prior", "--classes", "orange,broccoli,strawberry",
                 "--no-advise", "--json"]) == 0
    prior = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["zero_shot_prior"]
    assert "cv_accuracy" not in prior, prior
    assert prior["cv_balanced_accuracy"]["metric"] == "balanced_accuracy"
    assert 0.0 <= prior["cv_balanced_accuracy"]["with_prior"] <= 1.0


def test_the_prior_lines_name_balanced_accuracy_when_it_scored_the_weight(capsys):
    from handful.cli.core import print_cv_accuracy
    from handful.cli.output import Output
    from handful.cli.zeroshot import print_selection

    cv = {"metric": "balanced_accuracy", "without_prior": 0.6, "with_prior": 0.7}
    prior = {"method": "conse", "weight": 2.0, "chosen_by": "cross-validation", "cv_balanced_accuracy": cv}
    print_selection(Output(False), {"zero_shot_prior": prior})
    assert "CV balanced accuracy 60.0% without, 70.0% with" in " ".join(capsys.readouterr().out.split())
    selection = {"metric": "balanced_accuracy", "cv_balanced_accuracy": 0.6, "adjusted_balanced_accuracy": 0.6,
                 "class_sizes": [3, 8], "candidates": 1, "selection_bias": 0.0}
    print_cv_accuracy(Output(False), selection, prior)
    line = " ".join(capsys.readouterr().out.split())
    # both figures are balanced accuracy: the prior's is not called plain "accuracy" any more
    assert "the zero-shot prior, 70.0% cross-validated (its weight" in line, line
