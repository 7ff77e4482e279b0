"""Measure a learning curve on cached embeddings: accuracy at sub-sample sizes per class.

Repeat ``r`` holds out a stratified test part (``test_fraction`` of each class, at least one
example), then for every size ``n`` draws ``n`` examples per class from the rest, fits and
scores on the held-out part. With a fixed test set (``X_test``) nothing is held out. The
x-value of a point is the mean number of training examples per class actually drawn, so
small classes that run out are accounted for.

Which few examples are drawn moves the score at the smallest sizes far more than the
held-out part does (one image per class: 13 points of spread on hymenoptera), and the
extrapolation amplifies that noise, so small sizes are drawn several times per repeat and
averaged: ``draws_at(size)`` fits, about ``DRAW_BUDGET / size``. Those fits are the cheap ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..data.duplicates import group_members, has_copies, members_of, representatives
from ..errors import DataError
from ..heads.threads import map_in_threads
from .kshot import draw_kshot

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
DRAW_BUDGET = 20  # draws per repeat at 1 per class; ~budget / size at larger sizes
SIZE_GRID = (1, 2, 3, 5, 8, 10, 15, 20, 30, 50, 80, 120, 200, 300, 500, 800, 1200, 2000, 3000)


def default_sizes(max_per_class: int, limit: int | None = None) -> list[int]:
    """Sizes per class from the grid below ``max_per_class``, then ``max_per_class`` itself."""
    top = max_per_class if limit is None else min(limit, max_per_class)
    return [s for s in SIZE_GRID if s < top] + [top]


def draws_at(size: int, largest: int | None = None, budget: int = DRAW_BUDGET) -> int:
    """Training draws averaged per repeat at ``size`` examples per class (at least 1; 1 when
    ``size`` takes all of the ``largest`` class, so every draw would be the same)."""
    if largest is not None and size >= largest:
        return 1
    return max(1, round(budget / max(size, 1)))


def _holdout(y: np.ndarray, fraction: float, rng: np.random.Generator,
             groups: np.ndarray | None = None) -> np.ndarray:
    """A boolean mask of held-out rows: ``fraction`` of each class, at least 1, never all.

    With copies in ``groups``, whole groups are held out (drawn by their first example's label),
    so no held-out row has a copy in the pool.
    """
    if has_copies(groups):
        members = group_members(groups)
        first = representatives(members)
        held = np.zeros(len(y), dtype=bool)
        held[members_of(np.flatnonzero(_holdout(y[first], fraction, rng)), members)] = True
        return held
    held = np.zeros(len(y), dtype=bool)
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        k = min(len(members) - 1, max(1, round(fraction * len(members))))
        held[rng.choice(members, size=k, replace=False)] = True
    return held


def measure_learning_curve(
    X: np.ndarray, y: np.ndarray, fit_predict: FitPredict, sizes: list[int] | None = None,
    repeats: int = 10, test_fraction: float = 0.25, seed: int = 0,
    X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
    on_fit: Callable[[], None] | None = None, groups: np.ndarray | None = None,
    draw_budget: int = DRAW_BUDGET, workers: int | None = None,
) -> dict:
    """Accuracy at each size: ``{"points": [{"size", "n", "mean", "std", "runs"}], ...}``.

    Args:
        X, y: the labeled pool (n, dim), (n,).
        fit_predict: ``(X_train, y_train, X_eval) -> predicted labels``.
        sizes: examples per class to draw (default: a grid up to the largest pool class).
        repeats: draws per size (and held-out splits, without a fixed test set).
        X_test, y_test: a fixed test set; without it each repeat holds out ``test_fraction``.
        groups: (n,) copies of one example share a group, held out (or not) together.
        draw_budget: a repeat averages ``draws_at(size, draw_budget)`` training draws
            (1: one draw per repeat at every size).
        workers: fits run at once, in threads (``heads.threads.map_in_threads``);
            ``fit_predict`` must be thread-safe. The draws, so the scores, do not depend on it.

    Raises:
        DataError: a class with fewer than 2 examples (nothing to hold out).
    """
    y = np.asarray(y, dtype=object)
    labels, counts = np.unique(y, return_counts=True)
    fixed = X_test is not None
    if not fixed and counts.min() < 2:
        raise DataError(f"Class '{labels[np.argmin(counts)]}' has 1 example; a learning curve "
                        "needs at least 2 per class (one to train, one to test). Add examples.")
    pool_max = int(counts.max()) if fixed else int(max(c - max(1, round(test_fraction * c))
                                                       for c in counts))
    sizes = sorted(set(sizes or default_sizes(pool_max)))
    fits = []  # (repeat, size, training rows), drawn in the order they always were: a seed's draws stay
    evals = []
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        if fixed:
            pool, evals_r = np.arange(len(y)), (X_test, np.asarray(y_test, dtype=object))
        else:
            held = _holdout(y, test_fraction, rng, groups)
            pool, evals_r = np.flatnonzero(~held), (X[held], y[held])
        evals.append(evals_r)
        for s in sizes:
            fits += [(r, s, pool[draw_kshot(y[pool], s, rng)]) for _ in range(draws_at(s, pool_max, draw_budget))]

    def score(fit) -> float:
        r, _, idx = fit
        X_eval, y_eval = evals[r]
        return float((np.asarray(fit_predict(X[idx], y[idx], X_eval)) == y_eval).mean())

    scores = map_in_threads(score, fits, workers, on_fit and (lambda _: on_fit()), cost=lambda fit: len(fit[2]))
    by_cell: dict[tuple[int, int], list[int]] = {}  # (repeat, size) -> its fits
    for k, (r, s, _) in enumerate(fits):
        by_cell.setdefault((r, s), []).append(k)
    runs = {s: [float(np.mean([scores[k] for k in by_cell[r, s]])) for r in range(repeats)] for s in sizes}
    drawn = {s: [float(np.mean([len(fits[k][2]) / len(labels) for k in by_cell[r, s]])) for r in range(repeats)]
             for s in sizes}
    points = [{"size": s, "n": float(np.mean(drawn[s])), "mean": float(np.mean(runs[s])),
               "std": float(np.std(runs[s])), "runs": runs[s]} for s in sizes]
    return {"points": points, "repeats": repeats, "n_classes": len(labels),
            "test": "fixed test set" if fixed else f"{test_fraction:.0%} held out per repeat",
            "n_per_class": float(len(y) / len(labels))}
