"""K-shot evaluation: draw K examples per class from a pool, fit, score on a fixed test set.

Draws are exact and reproducible: repeat r of shot K uses ``default_rng([seed, K, r])``, so
the same seed gives the same draws whatever other K values are asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .metrics import mean_ci

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def draw_kshot(labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` examples per class (all of a class that has fewer), sorted."""
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        chosen.append(rng.choice(members, size=min(k, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def _pool_note(k: int, smallest: int, largest: int, repeats: int) -> str:
    """What a draw of ``k`` per class cannot do with these class sizes ('' when nothing)."""
    note = (f"K={k} exceeds the smallest pool class ({smallest}); that class contributes all its "
            "examples." if k > smallest else "")
    if k < largest:
        return note
    spread = (", so the spread shown for it (std 0, a zero-width interval) measures nothing"
              if repeats > 1 else "")
    whole = (f"each of the {repeats} draws at K={k} is the whole pool{spread}. Use K below {largest}, "
             "or a larger pool, to see how draws vary.")
    if note:  # every class gives all it has: the draws are all the same
        return f"{note} So does every class (the largest has {largest}): {whole}"
    return f"K={k} is the size of every pool class ({largest}): {whole}"


def run_kshot(
    X_pool: np.ndarray, y_pool: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
    shots: list[int], repeats: int, fit_predict: FitPredict, seed: int = 0,
    on_repeat: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Accuracy per K over ``repeats`` draws: mean, std, 95% CI (t) and every run's score
    (std and CI None for a single draw).

    ``fit_predict(X_train, y_train, X_test)`` returns predicted labels for ``X_test``.
    """
    y_pool, y_test = np.asarray(y_pool), np.asarray(y_test)
    counts = np.unique(y_pool, return_counts=True)[1]
    smallest, largest = int(counts.min()), int(counts.max())
    results: dict[str, dict] = {}
    for k in shots:
        note = _pool_note(k, smallest, largest, repeats)
        if note:
            warnings.warn(note, stacklevel=2)
        scores = []
        for r in range(repeats):
            idx = draw_kshot(y_pool, k, np.random.default_rng([seed, k, r]))
            predicted = fit_predict(X_pool[idx], y_pool[idx], X_test)
            scores.append(float((np.asarray(predicted) == y_test).mean()))
            if on_repeat:
                on_repeat(k, r, scores[-1])
        mean, std, ci = mean_ci(scores)
        if len(scores) < 2:  # one draw has no spread to tell: no std, no interval (not a 0-wide one)
            results[str(k)] = {"mean": mean, "std": None, "ci95": None, "runs": scores}
            continue
        results[str(k)] = {"mean": mean, "std": std, "ci95": [max(0.0, ci[0]), min(1.0, ci[1])],
                           "runs": scores}  # the interval of an accuracy stays within [0, 1]
    return {"shots": results, "repeats": repeats, "seed": seed, "n_test": int(len(y_test))}
