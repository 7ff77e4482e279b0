"""Pick the best head (and its parameters) by stratified cross-validation on embeddings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold

from ..data.duplicates import group_members, has_copies, members_of, representatives
from ..heads import create_head
from ..heads.threads import map_in_threads, single_threaded

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
SEEDS_TORCH = ("mlp",)  # heads whose fit seeds torch's global generator: fitted one at a time
# Scored by balanced accuracy once the largest class has this many times the smallest's examples:
# accuracy then rewards a head for ignoring the small class (flowers5, 50 images a class and 10 of
# one: its held-out recall was 20% under the head picked by accuracy, 37% under the one picked by
# balanced accuracy; BENCHMARKS.md). Below it the two metrics nearly agree, balanced accuracy is
# only noisier, and near-ties (124 ants, 121 bees) keep plain accuracy.
IMBALANCE_RATIO = 1.5
METRIC_NAMES = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy"}

# Called after each fold fit of a candidate: (fits done, fits in all, candidate label). It may raise
# to stop the search (a cancelled job), so the remaining fits never run.
FitProgress = Callable[[int, int, str], None]


def selection_metric(y: np.ndarray) -> str:
    """What the search scores folds by: "balanced_accuracy" (mean per-class recall) when the
    largest class has ``IMBALANCE_RATIO`` times the smallest's examples, else "accuracy"."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return "balanced_accuracy" if counts.max() >= IMBALANCE_RATIO * counts.min() else "accuracy"


def fold_score(truth: np.ndarray, predicted: np.ndarray, metric: str) -> float:
    """``metric`` of one test fold; balanced accuracy averages recall over the classes the fold has."""
    if metric == "accuracy":
        return float((predicted == truth).mean())
    return float(np.mean([(predicted[truth == label] == label).mean() for label in np.unique(truth)]))


def head_candidates(head: str, params: dict | None) -> tuple[tuple[str, dict], ...]:
    """What a search scores for ``Classifier(head=...)``: every default candidate for "auto",
    else the one head given (scored alone, so its accuracy is still reported)."""
    return DEFAULT_CANDIDATES if head == "auto" else ((head, dict(params or {})),)


@dataclass
class Leaderboard:
    """Cross-validated score of each candidate, best first, in ``metric`` ("accuracy" or
    "balanced_accuracy", ``selection_metric``): each row's ``mean``, ``std`` and fold scores."""

    rows: list[dict] = field(default_factory=list)
    scheme: str = ""
    baseline: dict | None = None  # the majority-class predictor's CV score, same folds
    metric: str = "accuracy"
    class_sizes: tuple[int, int] | None = None  # (smallest, largest) class count: why the metric

    @property
    def best(self) -> dict:
        return self.rows[0]

    def selection(self) -> dict | None:
        """The best row's CV score, and what is left of it once picking the best is allowed for.

        The best of many candidates' CV scores is biased upwards: some of its lead is luck on
        these folds. Tibshirani & Tibshirani (2009, Ann. Appl. Stat. 3(2)) estimate the bias
        from the scores already computed: on each fold, how far the fold's own best candidate
        scored above the chosen one; averaged over the folds, in the leaderboard's metric. ``None``
        without CV scores; a bias of 0 with one candidate. The keys name the metric:
        ``cv_accuracy`` and ``adjusted_accuracy``, or ``cv_balanced_accuracy`` and
        ``adjusted_balanced_accuracy`` with ``class_sizes`` (smallest, largest), the reason.
        """
        scored = [row["fold_scores"] for row in self.rows if row.get("fold_scores")]
        if not scored or not self.best.get("fold_scores"):
            return None
        folds = np.asarray(scored, dtype=float)
        bias = float(np.mean(folds.max(axis=0) - np.asarray(self.best["fold_scores"], dtype=float)))
        out = {"metric": self.metric, f"cv_{self.metric}": self.best["mean"], "selection_bias": bias,
               f"adjusted_{self.metric}": self.best["mean"] - bias, "candidates": len(scored),
               "method": "Tibshirani & Tibshirani (2009)"}
        if self.metric != "accuracy" and self.class_sizes:
            out["class_sizes"] = list(self.class_sizes)
        return out

    def calibration(self) -> dict | None:
        """The temperature that calibrates the best row's probabilities, fitted on its
        out-of-fold answers (``evaluate.calibration``); ``None`` without CV scores."""
        oof = self.best.get("_oof")
        if oof is None:
            return None
        from ..evaluate.calibration import calibration_summary

        # repeated CV answers an example more than once: the evidence is that of the examples
        index = self.best.get("_oof_index")
        return calibration_summary(*oof, n_examples=None if index is None else len(np.unique(index)))

    def to_json(self) -> dict:
        rows = [{k: v for k, v in row.items() if k != "fold_scores" and not k.startswith("_")}
                for row in self.rows]
        return {"scheme": self.scheme, "metric": self.metric, "rows": rows, "baseline": self.baseline,
                "selection": self.selection()}


def cv_splits(y: np.ndarray, random_state: int = 0, max_folds: int = 5,
              groups: np.ndarray | None = None):
    """Stratified folds; with very few examples per class, leave-one-per-class-out, repeated.

    ``groups`` (n,): examples of one group (copies of one image or text) stay on one side of
    every fold; the folds are those of the groups' first examples, each group expanded. Without
    copies the folds are the plain stratified ones.
    """
    if has_copies(groups):
        return _group_splits(np.asarray(y), groups, random_state, max_folds)
    _, counts = np.unique(y, return_counts=True)
    min_count = int(counts.min())
    if min_count < 2:
        return None, f"no cross-validation: a class has {min_count} example"
    n_splits = min(max_folds, min_count)
    n_repeats = 1 if min_count >= max_folds else max(2, 10 // n_splits)
    splitter = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats,
                                       random_state=random_state)
    return list(splitter.split(np.zeros(len(y)), y)), f"{n_repeats}x{n_splits}-fold stratified CV"


def _group_splits(y: np.ndarray, groups: np.ndarray, random_state: int, max_folds: int):
    members = group_members(groups)
    splits, scheme = cv_splits(y[representatives(members)], random_state, max_folds)
    n_copies = len(y) - len(members)
    copies = f"{n_copies} cop{'y' if n_copies == 1 else 'ies'}"
    if splits is None:
        return None, f"{scheme.replace('example', 'distinct example')} ({copies} aside)"
    return ([(members_of(train, members), members_of(test, members)) for train, test in splits],
            f"{scheme}, {copies} kept together")


def first_repeat(splits: list[tuple[np.ndarray, np.ndarray]], n: int) -> list:
    """The leading folds of ``cv_splits`` that cover the ``n`` examples once."""
    covered = 0
    for k, (_, test) in enumerate(splits):
        covered += len(test)
        if covered >= n:
            return splits[:k + 1]
    return splits


def _columns_of(proba: np.ndarray, fitted: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``proba`` of a head fit on the classes ``fitted`` spread over all ``classes`` (0 elsewhere)."""
    if len(fitted) == len(classes):
        return proba
    out = np.zeros((len(proba), len(classes)))
    out[:, np.searchsorted(classes, fitted)] = proba
    return out


def candidate_label(name: str, params: dict) -> str:
    inner = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{name}({inner})"


@single_threaded
def search_heads(
    X: np.ndarray, y: np.ndarray, candidates=DEFAULT_CANDIDATES, random_state: int = 0,
    backbone: str = "", groups: np.ndarray | None = None, on_fit: FitProgress | None = None,
    metric: str | None = None,
) -> Leaderboard:
    """Score every candidate head by CV accuracy, or balanced accuracy when the classes are
    imbalanced (``metric``, default ``selection_metric(y)``); best first (ties keep the simpler one).

    ``groups`` (n,): copies of one example share a group and a side of every fold.
    ``on_fit(done, total, label)`` is called after each fit of a candidate on a fold (progress
    bars; an exception raised there stops the search before the next fit).

    Example:
        >>> board = search_heads(X, y, on_fit=lambda done, total, label: print(done, total, label))
        >>> board.best["label"]
    """
    y = np.asarray(y)
    metric = metric or selection_metric(y)
    counts = np.unique(y, return_counts=True)[1]
    sizes = (int(counts.min()), int(counts.max()))
    splits, scheme = cv_splits(y, random_state, groups=groups)
    if splits is None:
        name, params = candidates[0] if len(candidates) == 1 else FALLBACK  # a head given is kept
        row = {"backbone": backbone, "head": name, "params": params,
               "label": candidate_label(name, params), "mean": None, "std": None}
        return Leaderboard([row], scheme, metric=metric, class_sizes=sizes)
    classes, y_idx = np.unique(y, return_inverse=True)
    bases = [create_head(name, **params) for name, params in candidates]
    labels = [candidate_label(name, params) for name, params in candidates]

    def fold_answer(job: tuple[int, int]) -> np.ndarray:
        (train_idx, test_idx), base = splits[job[1]], bases[job[0]]
        head = clone(base).fit(X[train_idx], y[train_idx])
        return _columns_of(head.predict_proba(X[test_idx]), head.classes_, classes)

    jobs = [(order, k) for order in range(len(candidates)) for k in range(len(splits))]
    done, n_fits = 0, len(jobs)

    def count(job: tuple[int, int]) -> None:
        nonlocal done
        done += 1
        if on_fit:
            on_fit(done, n_fits, labels[job[0]])

    # fits side by side in threads, except heads that seed torch's global generator (mlp)
    threaded = [job for job in jobs if candidates[job[0]][0] not in SEEDS_TORCH]
    answers = dict(zip(threaded, map_in_threads(fold_answer, threaded, on_done=count)))
    for job in jobs:
        if job not in answers:
            answers[job] = fold_answer(job)
            count(job)
    rows = []
    for order, (name, params) in enumerate(candidates):
        oof = [answers[order, k] for k in range(len(splits))]
        scores = [fold_score(y_idx[test], proba.argmax(axis=1), metric) for (_, test), proba in zip(splits, oof)]
        rows.append({"backbone": backbone, "head": name, "params": params, "label": labels[order],
                     "mean": float(np.mean(scores)), "std": float(np.std(scores)),
                     "fold_scores": scores, "_order": order,
                     "_oof": (np.vstack(oof), np.concatenate([y_idx[test] for _, test in splits])),
                     "_oof_index": np.concatenate([test for _, test in splits])})
    rows.sort(key=lambda r: (-round(r["mean"], 6), r["_order"]))
    for row in rows:
        row.pop("_order")
    from .baseline import majority_baseline

    return Leaderboard(rows, scheme, majority_baseline(y, splits, metric), metric, sizes)
