"""Measure a learning curve on cached embeddings: accuracy at sub-sample sizes per class.

Repeat ``r`` holds out a stratified test part (``test_fraction`` of each class, at least one
example), then for every size ``n`` draws ``n`` examples per class from the rest, fits and
scores on the held-out part. With a fixed test set (``X_test``) nothing is held out. The
x-value of a point is the mean number of training examples per class actually drawn, so
small classes that run out are accounted for.

With copies (``groups``: byte-identical files, or an augmented original with its copies), a
group is one example: it is held out, drawn and counted per class as one, so sizes and "more per
class" count originals, not copies.

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
from ..select.search import fold_score
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


def _holdout(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of held-out rows: ``fraction`` of each class, at least 1, never all."""
    held = np.zeros(len(y), dtype=bool)
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        k = min(len(members) - 1, max(1, round(fraction * len(members))))
        held[rng.choice(members, size=k, replace=False)] = True
    return held


def example_units(y: np.ndarray, groups: np.ndarray | None) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """The label of each example counted once (a group of copies is one), and the rows of each
    (None without copies: a row is its own unit)."""
    y = np.asarray(y, dtype=object)
    if not has_copies(groups):
        return y, None
    members = group_members(groups)
    return y[representatives(members)], members


def holdout_problem(y: np.ndarray, groups: np.ndarray | None = None) -> str | None:
    """Why a learning curve cannot be measured by hold-out on ``y`` (None when it can): a class
    with fewer than 2 different examples has none to hold out (its copies go together)."""
    unit_y, members = example_units(y, groups)
    labels, counts = np.unique(unit_y, return_counts=True)
    if counts.min() >= 2:
        return None
    rows = dict(zip(*np.unique(np.asarray(y, dtype=object), return_counts=True)))
    lone = [str(c) for c, k in zip(labels, counts) if k < 2 and rows[c] > 1]
    if not lone:
        return (f"Class '{labels[np.argmin(counts)]}' has 1 example; a learning curve needs at least "
                "2 per class (one to train, one to test). Add examples.")
    which = ("Every class's examples are" if len(lone) == len(labels) else
             f"Class '{lone[0]}'{f' (and {len(lone) - 1} more)' if len(lone) > 1 else ''} has examples that are")
    return (f"{which} copies of one example ('{lone[0]}': {rows[lone[0]]} copies), so no example of it "
            "can be held out to measure a learning curve; it needs at least 2 different examples per "
            "class. Add different examples.")


def measure_learning_curve(
    X: np.ndarray, y: np.ndarray, fit_predict: FitPredict, sizes: list[int] | None = None,
    repeats: int = 10, test_fraction: float = 0.25, seed: int = 0,
    X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
    on_fit: Callable[[], None] | None = None, groups: np.ndarray | None = None,
    draw_budget: int = DRAW_BUDGET, workers: int | None = None, metric: str = "accuracy",
) -> dict:
    """Accuracy at each size: ``{"points": [{"size", "n", "mean", "std", "runs"}], ...}``.

    Args:
        X, y: the labeled pool (n, dim), (n,).
        fit_predict: ``(X_train, y_train, X_eval) -> predicted labels``.
        sizes: examples per class to draw (default: a grid up to the largest pool class).
        repeats: draws per size (and held-out splits, without a fixed test set).
        X_test, y_test: a fixed test set; without it each repeat holds out ``test_fraction``.
        groups: (n,) copies of one example share a group: held out, drawn and counted together.
        draw_budget: a repeat averages ``draws_at(size, draw_budget)`` training draws
            (1: one draw per repeat at every size).
        workers: fits run at once, in threads (``heads.threads.map_in_threads``);
            ``fit_predict`` must be thread-safe. The draws, so the scores, do not depend on it.
        metric: "accuracy" or "balanced_accuracy" (``select.search.selection_metric``: the
            model search's on imbalanced classes), the score of each held-out part.

    Raises:
        DataError: a class with fewer than 2 different examples (nothing to hold out).
    """
    y = np.asarray(y, dtype=object)
    unit_y, members = example_units(y, groups)  # draws and hold-outs are of units, fits of rows
    labels, counts = np.unique(unit_y, return_counts=True)
    fixed = X_test is not None
    problem = None if fixed else holdout_problem(y, groups)
    if problem:
        raise DataError(problem)
    pool_max = int(counts.max()) if fixed else int(max(c - max(1, round(test_fraction * c))
                                                       for c in counts))
    sizes = sorted(set(sizes or default_sizes(pool_max)))
    fits = []  # (repeat, size, units drawn, training rows), drawn in the order they always were: a seed's draws stay
    evals = []
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        if fixed:
            pool, evals_r = np.arange(len(unit_y)), (X_test, np.asarray(y_test, dtype=object))
        else:
            held = _holdout(unit_y, test_fraction, rng)
            pool, held_rows = np.flatnonzero(~held), _rows(np.flatnonzero(held), members)
            evals_r = (X[held_rows], y[held_rows])
        evals.append(evals_r)
        for s in sizes:
            for _ in range(draws_at(s, pool_max, draw_budget)):
                units = pool[draw_kshot(unit_y[pool], s, rng)]
                fits.append((r, s, len(units), _rows(units, members)))

    def score(fit) -> float:
        r, _, _, idx = fit
        X_eval, y_eval = evals[r]
        return fold_score(y_eval, np.asarray(fit_predict(X[idx], y[idx], X_eval), dtype=object), metric)

    scores = map_in_threads(score, fits, workers, on_fit and (lambda _: on_fit()), cost=lambda fit: len(fit[3]))
    by_cell: dict[tuple[int, int], list[int]] = {}  # (repeat, size) -> its fits
    for k, (r, s, _, _) in enumerate(fits):
        by_cell.setdefault((r, s), []).append(k)
    runs = {s: [float(np.mean([scores[k] for k in by_cell[r, s]])) for r in range(repeats)] for s in sizes}
    drawn = {s: [float(np.mean([fits[k][2] / len(labels) for k in by_cell[r, s]])) for r in range(repeats)]
             for s in sizes}
    points = [{"size": s, "n": float(np.mean(drawn[s])), "mean": float(np.mean(runs[s])),
               "std": float(np.std(runs[s])), "runs": runs[s]} for s in sizes]
    return {"points": points, "repeats": repeats, "n_classes": len(labels),
            "test": "fixed test set" if fixed else f"{test_fraction:.0%} held out per repeat",
            "n_per_class": float(len(unit_y) / len(labels)), "metric": metric,
            "class_sizes": [int(counts.min()), int(counts.max())]}


def _rows(units: np.ndarray, members: list[np.ndarray] | None) -> np.ndarray:
    """The example rows of ``units`` (themselves without copies), sorted."""
    return units if members is None else members_of(units, members)
