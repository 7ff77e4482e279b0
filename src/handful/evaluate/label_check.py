"""Labels worth a second look: examples that heads trained without them call another class,
least likely under their own label first (the ranking of Confident Learning, Northcutt, Jiang &
Chuang, JAIR 2021).

With a handful of examples per class, one wrong label is a large share of its class. Model
selection already scores every example with heads fit without it (the out-of-fold answers of
the winning row); this reads them. The examples whose held-out answer is another class are
listed by the probability of their own label, lowest first ("self-confidence", the paper's best
ranking). Each is also marked ``confident`` by the paper's per-class thresholds: class ``j``'s
threshold ``t_j`` is the mean probability of ``j`` over the examples labeled ``j``, and an
example is confidently another class when that class reaches its threshold on it. The mark is
strict where a head's probabilities are compressed (a prototype head on e5-small, 63% sure on
average, gave two flipped Yelp reviews 0.57 and 0.62 against thresholds of 0.61 and 0.62), so
the list keeps every held-out mistake and the ranking decides what comes first.

``benchmarks/label_check.py`` flips 5% or 10% of the labels of hymenoptera, flowers5 (60 per
class) and 100 Yelp reviews and measures how many flips the list holds and puts first
(BENCHMARKS.md). The list is advice: a listed example may be labeled right and merely ambiguous
or unusual; nothing is removed or relabeled.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

METHOD = ("held-out mistakes of the out-of-fold answers, ranked by the probability of the given label; "
          "confident by per-class thresholds (Confident Learning, Northcutt et al. 2021)")
MAX_LISTED = 50  # in report.json / --json (train's label_check.csv has all); the console shows fewer
LABEL_CHECK_CSV = "label_check.csv"


def out_of_fold_mean(proba: np.ndarray, index: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each example's mean out-of-fold probabilities ``(n, n_classes)`` over the repeats that
    held it out, and whether any did (``(n,)`` bool); rows never held out are 0."""
    total = np.zeros((n, proba.shape[1]))
    times = np.zeros(n)
    np.add.at(total, index, proba)
    np.add.at(times, index, 1.0)
    seen = times > 0
    total[seen] /= times[seen, None]
    return total, seen


def doubtful_examples(P: np.ndarray, labels: np.ndarray, seen: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The held-out mistakes, least likely under their own label first: their indices, the class
    each was called (index), and whether that call is confident (per-class thresholds).

    ``P`` (n, n_classes): out-of-fold probabilities; ``labels`` (n,): given class indices;
    ``seen``: rows that have out-of-fold answers (others are never listed).
    """
    n, n_classes = P.shape
    seen = np.ones(n, bool) if seen is None else seen
    thresholds = np.array([P[seen & (labels == j), j].mean() if np.any(seen & (labels == j)) else np.inf
                           for j in range(n_classes)])
    called = P.argmax(axis=1)
    wrong = np.flatnonzero(seen & (called != labels))
    above = P[wrong] >= thresholds[None, :]
    above[np.arange(len(wrong)), labels[wrong]] = False
    order = np.argsort(P[wrong, labels[wrong]], kind="stable")
    return wrong[order], called[wrong][order], above.any(axis=1)[order]


def label_check(proba: np.ndarray, y_idx: np.ndarray, index: np.ndarray, ids: Sequence[str],
                classes: Sequence[str], texts: Sequence[str] | None = None,
                limit: int | None = MAX_LISTED) -> dict:
    """The report: how many examples were checked, how many were called another class when held
    out (``n_mistakes``) and how many of those confidently (``n_confident``), and up to
    ``limit`` of them (all with None; ``example``, ``label``, ``called``, ``p_label``, ``p_called``,
    ``confident``, and ``text`` for texts), least likely under their own label first.
    ``proba``/``y_idx``/``index``: the out-of-fold rows, their labels and example indices
    (repeated CV holds an example out more than once: its answers are averaged); ``ids``: the
    examples' display names."""
    n = len(ids)
    P, seen = out_of_fold_mean(proba, index, n)
    labels = np.zeros(n, dtype=np.int64)
    labels[index] = y_idx
    rows, called, confident = doubtful_examples(P, labels, seen)
    listed = [{"example": ids[i], "label": str(classes[labels[i]]), "called": str(classes[j]),
               "p_label": round(float(P[i, labels[i]]), 6), "p_called": round(float(P[i, j]), 6),
               "confident": bool(sure), **({"text": texts[i]} if texts is not None else {})}
              for i, j, sure in zip(rows[:limit], called[:limit], confident[:limit])]
    return {"method": METHOD, "n_checked": int(seen.sum()), "n_mistakes": int(len(rows)),
            "n_confident": int(confident.sum()), "listed": listed}


def first_listed(check: dict | None, limit: int = MAX_LISTED) -> dict | None:
    """``check`` with only its first ``limit`` listed examples (for report.json and --json)."""
    return None if check is None else {**check, "listed": check["listed"][:limit]}


CSV_COLUMNS = ("example", "label", "called", "p_label", "p_called", "confident", "text")


def write_label_check_csv(check: dict, path: Path) -> Path:
    """Every listed example, one row each, in the list's order (``text`` only for texts)."""
    columns = [c for c in CSV_COLUMNS if c != "text" or any("text" in row for row in check["listed"])]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**row, "confident": str(row["confident"]).lower()} for row in check["listed"])
    return path
