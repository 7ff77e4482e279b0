"""Is transfer helping? The majority-class baseline on the same folds, and the warning."""

from __future__ import annotations

import numpy as np

NO_BETTER_MARGIN = 0.02  # best CV accuracy within 2 points of the baseline: "no better"


def majority_baseline(y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """CV accuracy of always predicting the training fold's most frequent class."""
    y = np.asarray(y)
    scores = []
    for train_idx, test_idx in splits:
        labels, counts = np.unique(y[train_idx], return_counts=True)
        scores.append(float((y[test_idx] == labels[np.argmax(counts)]).mean()))
    return {"backbone": "-", "head": "majority", "params": {}, "label": "majority class (baseline)",
            "mean": float(np.mean(scores)), "std": float(np.std(scores))}


def transfer_warning(leaderboard) -> str | None:
    """A sentence when the best candidate is no better than the majority-class baseline."""
    if leaderboard is None or leaderboard.baseline is None or leaderboard.best["mean"] is None:
        return None
    best, base = leaderboard.best["mean"], leaderboard.baseline["mean"]
    if best > base + NO_BETTER_MARGIN:
        return None
    return (f"Negative transfer: the best model's cross-validated accuracy ({100 * best:.1f}%) is "
            f"no better than always predicting the most frequent class ({100 * base:.1f}%). The "
            "pretrained features do not separate these classes; try another backbone "
            "(`handful backbones`), fine-tuning, or check the labels.")
