"""Is transfer helping? The majority-class baseline on the same folds, and the warning."""

from __future__ import annotations

import numpy as np

from .search import METRIC_NAMES, fold_score

NO_BETTER_MARGIN = 0.02  # at least 2 points above the baseline, and ...
N_STANDARD_ERRORS = 2.0  # ... 2 standard errors of the best's fold scores (the best of many
# candidates is lucky on noise features, so a bare margin would never fire)


def majority_baseline(y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
                      metric: str = "accuracy") -> dict:
    """CV score (``metric``, as the search's) of always answering the most frequent class of the
    data, on the same folds.

    The class is the whole data's most frequent (ties: the average over the tied classes), not
    each training fold's: on stratified folds a training fold's majority is the class its test
    fold is short of, so 8 + 8 examples scored 36.7%, below the 50% that "always say one class"
    gets, and every model looked like it beat it. The class counts are the one thing this
    baseline learns, and knowing them is what "the most frequent class" means, so the score is
    the largest class's share on each test fold: 50% on 8 + 8, 75% on 12 + 4. In balanced
    accuracy it is one class's recall of 1 among the fold's classes: 1/n_classes, 50% on 12 + 4.
    """
    y = np.asarray(y)
    labels, counts = np.unique(y, return_counts=True)
    majority = labels[counts == counts.max()]  # (n_tied,)
    scores = [float(np.mean([fold_score(y[test_idx], np.full(len(test_idx), label, dtype=y.dtype), metric)
                             for label in majority]))
              for _, test_idx in splits]
    n_repeats = max(1, round(sum(len(test_idx) for _, test_idx in splits) / max(1, len(y))))
    return {"backbone": "-", "head": "majority", "params": {}, "label": "majority class (baseline)",
            "mean": float(np.mean(scores)), "std": float(np.std(scores)), "n_folds": len(scores),
            "n_repeats": n_repeats}


def transfer_warning(leaderboard) -> str | None:
    """A sentence when the best candidate is not clearly better than the majority-class
    baseline: within 2 points of it, or within 2 standard errors of its fold scores."""
    if leaderboard is None or leaderboard.baseline is None or leaderboard.best["mean"] is None:
        return None
    best, base = leaderboard.best["mean"], leaderboard.baseline["mean"]
    stderr = fold_standard_error(leaderboard.best, leaderboard.baseline)
    noise = max(NO_BETTER_MARGIN, N_STANDARD_ERRORS * stderr)
    if best > base + noise:
        return None
    metric = METRIC_NAMES[getattr(leaderboard, "metric", "accuracy")]
    # above the baseline but within the noise, "no better than" read as false (63.3% vs 50.0%)
    compared = ("no better than" if best <= base else
                f"{100 * (best - base):.1f} points above, within the noise of its folds "
                f"({100 * noise:.1f} points), so not clearly better than")
    return (f"Negative transfer: the best model's cross-validated {metric} ({100 * best:.1f}%) is "
            f"{compared} always predicting the most frequent class ({100 * base:.1f}%). The "
            "pretrained features do not separate these classes; try another backbone "
            "(`handful backbones`), fine-tuning, or check the labels.")


def fold_standard_error(row: dict, baseline: dict) -> float:
    """The standard error of a CV mean: the fold scores' sample standard deviation (ddof=1) over
    the square root of the folds of one repeat. Repeats of k-fold CV re-split the same examples,
    so their folds are not independent scores; counting them all would shrink the error (and a
    ddof=0 spread of 5 folds made 13.0 points of 14.6)."""
    n_folds = int(baseline.get("n_folds", 1))
    if n_folds < 2:
        return 0.0
    scores = row.get("fold_scores")
    std = (float(np.std(scores, ddof=1)) if scores is not None and len(scores) > 1
           else float(row.get("std") or 0.0) * np.sqrt(n_folds / (n_folds - 1)))
    return std / np.sqrt(max(1, n_folds // int(baseline.get("n_repeats", 1))))
