"""A quick learning curve on cached embeddings: held-out accuracy at growing examples per class.

Used for the version report when ``handful.advise`` (the fitted data-need estimate) is not
installed; it measures, it does not extrapolate.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedShuffleSplit

from ..classifier import Classifier
from ..data import Examples
from ..data.duplicates import duplicate_groups, group_members, has_copies, members_of, representatives
from ..evaluate.kshot import draw_kshot


def curve_sizes(largest: int) -> list[int]:
    """1, 2, 3, 5, 8, ... up to and including ``largest``."""
    sizes, a, b = [], 1, 2
    while a < largest:
        sizes.append(a)
        a, b = b, a + b
    return sizes + [largest]


def learning_curve(clf: Classifier, X: np.ndarray, examples: Examples, repeats: int = 5) -> dict | None:
    """Mean held-out accuracy at each size per class (None with < 3 examples in some class)."""
    y = np.asarray(examples.labels, dtype=object)
    counts = np.unique(y, return_counts=True)[1]
    n_classes = len(counts)
    if counts.min() < 3:
        return None
    splits = _holdout_splits(y, duplicate_groups(examples), n_classes, repeats, clf.random_state)
    if splits is None:
        return None
    largest = min(int(np.unique(y[train], return_counts=True)[1].min()) for train, _ in splits)
    sizes = curve_sizes(max(1, largest))
    scores = np.zeros((len(sizes), repeats))
    for r, (pool, test) in enumerate(splits):
        for s, k in enumerate(sizes):
            idx = pool[draw_kshot(y[pool], k, np.random.default_rng([clf.random_state, k, r]))]
            if len(np.unique(y[idx])) < 2:
                continue
            head = clone(clf.head_).fit(X[idx], y[idx])
            scores[s, r] = float((head.predict(X[test]) == y[test]).mean())
    means = scores.mean(axis=1)
    return {"sizes": sizes, "accuracy": means.tolist(), "std": scores.std(axis=1).tolist(),
            "repeats": repeats, "n_test": len(splits[0][1]), "advice": _advice(sizes, means),
            "source": "measured (held-out split per repeat)"}


def _holdout_splits(y: np.ndarray, groups: np.ndarray, n_classes: int, repeats: int,
                    seed: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """``repeats`` stratified (pool, test) splits, 30% tested; copies of one example (a group)
    are split as one, so no test example has a copy in the pool. None: too few to split."""
    members = group_members(groups)
    first = representatives(members)
    test_size = max(n_classes, int(round(0.3 * len(first))))
    if has_copies(groups) and (np.unique(y[first], return_counts=True)[1].min() < 2
                               or len(np.unique(y[first])) < n_classes
                               or test_size > len(first) - n_classes):
        return None
    splitter = StratifiedShuffleSplit(n_splits=repeats, test_size=test_size, random_state=seed)
    splits = splitter.split(np.zeros(len(first)), y[first])
    if not has_copies(groups):  # the groups are the examples: the splits as they were
        return list(splits)
    return [(members_of(pool, members), members_of(test, members)) for pool, test in splits]


def _advice(sizes: list[int], means: np.ndarray) -> str:
    if len(sizes) < 2:
        return "Add more examples per class to see how accuracy grows."
    gain = float(means[-1] - means[-2])
    step = sizes[-1] - sizes[-2]
    if means[-1] >= 0.99:
        return "Accuracy is already near 100% on held-out examples."
    if gain > 0.02:
        return (f"Accuracy is still rising (+{100 * gain:.0f} points from {sizes[-2]} to "
                f"{sizes[-1]} per class): more examples per class should help.")
    return (f"Accuracy has leveled off (+{100 * gain:.0f} points for {step} more per class): "
            "more of the same examples will help little; add harder or more varied ones.")
