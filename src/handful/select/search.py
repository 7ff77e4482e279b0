"""Pick the best head (and its parameters) by stratified cross-validation on embeddings."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold

from ..heads import create_head
from ..heads.threads import single_threaded

# (head name, params): ordered simplest first; ties go to the earlier candidate.
DEFAULT_CANDIDATES: tuple[tuple[str, dict], ...] = (
    ("prototype", {}),
    ("prototype", {"center": True}),
    ("logistic", {"C": 0.1}),
    ("logistic", {"C": 1.0}),
    ("logistic", {"normalize": "l2", "C": 10.0}),
    ("knn", {"n_neighbors": 5}),
    ("mlp", {}),
)
FALLBACK = ("prototype", {})  # used when there are too few examples to cross-validate


@dataclass
class Leaderboard:
    """Cross-validated score of each candidate, best first."""

    rows: list[dict] = field(default_factory=list)
    scheme: str = ""
    baseline: dict | None = None  # the majority-class predictor's CV score, same folds

    @property
    def best(self) -> dict:
        return self.rows[0]

    def to_json(self) -> dict:
        return {"scheme": self.scheme, "rows": self.rows, "baseline": self.baseline}


def cv_splits(y: np.ndarray, random_state: int = 0, max_folds: int = 5):
    """Stratified folds; with very few examples per class, leave-one-per-class-out, repeated."""
    _, counts = np.unique(y, return_counts=True)
    min_count = int(counts.min())
    if min_count < 2:
        return None, f"no cross-validation: a class has {min_count} example"
    n_splits = min(max_folds, min_count)
    n_repeats = 1 if min_count >= max_folds else max(2, 10 // n_splits)
    splitter = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats,
                                       random_state=random_state)
    return list(splitter.split(np.zeros(len(y)), y)), f"{n_repeats}x{n_splits}-fold stratified CV"


def candidate_label(name: str, params: dict) -> str:
    inner = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{name}({inner})"


@single_threaded
def search_heads(
    X: np.ndarray, y: np.ndarray, candidates=DEFAULT_CANDIDATES, random_state: int = 0,
    backbone: str = "",
) -> Leaderboard:
    """Score every candidate head by CV accuracy; best first (ties keep the simpler one)."""
    y = np.asarray(y)
    splits, scheme = cv_splits(y, random_state)
    if splits is None:
        name, params = FALLBACK
        row = {"backbone": backbone, "head": name, "params": params,
               "label": candidate_label(name, params), "mean": None, "std": None}
        return Leaderboard([row], scheme)
    rows = []
    for order, (name, params) in enumerate(candidates):
        base = create_head(name, **params)
        scores = []
        for train_idx, test_idx in splits:
            head = clone(base).fit(X[train_idx], y[train_idx])
            scores.append(float((head.predict(X[test_idx]) == y[test_idx]).mean()))
        rows.append({"backbone": backbone, "head": name, "params": params,
                     "label": candidate_label(name, params),
                     "mean": float(np.mean(scores)), "std": float(np.std(scores)),
                     "_order": order})
    rows.sort(key=lambda r: (-round(r["mean"], 6), r["_order"]))
    for row in rows:
        row.pop("_order")
    from .baseline import majority_baseline

    return Leaderboard(rows, scheme, majority_baseline(y, splits))
