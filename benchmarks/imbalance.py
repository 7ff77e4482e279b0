"""Model selection on imbalanced classes: the shipped search (balanced accuracy per fold once the
largest class has 1.5x the smallest's examples, `select/search.py`) against accuracy-only
selection (as before), same candidates, same folds.

For each data set, one class gets few training examples and the others many (50/50, 50/10, 30/5,
20/3 per class; the small class rotates over 5 draws). The head is chosen both ways by
`search_heads` on the draw, fitted on all of it, and scored on the whole held-out split: balanced
accuracy (mean per-class recall, as if the test set were balanced), the small class's recall, and
plain accuracy on the split as it is. Lite0 for images, MiniLM for texts. Run:
`HF_HUB_OFFLINE=1 HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/imbalance.py` ->
`benchmarks/results/imbalance.json`.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter

import numpy as np

from calibration import TASKS
from common import run_tasks
from handful.classifier import Classifier
from handful.heads import create_head
from handful.select import search_heads

NAMES = ("hymenoptera", "flowers5", "trec (text)")
SPLITS = ((50, 50), (50, 10), (30, 5), (20, 3))  # (examples of every other class, of the small one)
DRAWS = 5
WAYS = ("accuracy_select", "shipped")


def draw(y: np.ndarray, major: int, minor: int, small: str, rng: np.random.Generator) -> np.ndarray:
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), minor if c == small else major,
                                              replace=False) for c in np.unique(y)]))


def scored(predicted: np.ndarray, y_test: np.ndarray, small: str) -> dict:
    recalls = {c: float((predicted[y_test == c] == c).mean()) for c in np.unique(y_test)}
    return {"balanced_accuracy": float(np.mean(list(recalls.values()))), "small_recall": recalls[small],
            "accuracy": float((predicted == y_test).mean())}


def run(name: str, backbone: str, train, test) -> list[dict]:
    clf = Classifier(backbone=backbone)
    X, train = clf.embed_examples(train)
    X_test, test = clf.embed_examples(test)
    y, y_test = np.asarray(train.labels, dtype=object), np.asarray(test.labels, dtype=object)
    classes = np.unique(y)
    rows = []
    for major, minor in SPLITS:
        for seed in range(DRAWS):
            small = classes[seed % len(classes)]
            idx = draw(y, major, minor, small, np.random.default_rng(seed))
            row = {"split": f"{major}/{minor}", "seed": seed, "small_class": str(small)}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                boards = {"shipped": search_heads(X[idx], y[idx], random_state=0)}
                boards["accuracy_select"] = (boards["shipped"] if boards["shipped"].metric == "accuracy"
                                             else search_heads(X[idx], y[idx], random_state=0, metric="accuracy"))
                for way in WAYS:
                    best = boards[way].best
                    head = create_head(best["head"], **best["params"]).fit(X[idx], y[idx])
                    row[way] = {"head": best["label"], "metric": boards[way].metric,
                                "cv": best["mean"], **scored(head.predict(X_test), y_test, small)}
            rows.append(row)
            print(f"{name:12s} {row['split']:6s} seed {seed}: " + "  ".join(
                f"{way} {row[way]['head']} bal {row[way]['balanced_accuracy']:.3f} "
                f"small {row[way]['small_recall']:.3f}" for way in WAYS), file=sys.stderr)
    return rows


def summary(rows: list[dict]) -> dict:
    out = {}
    for split in dict.fromkeys(r["split"] for r in rows):
        group = [r for r in rows if r["split"] == split]
        out[split] = {way: {m: round(float(np.mean([r[way][m] for r in group])), 4)
                            for m in ("balanced_accuracy", "small_recall", "accuracy")}
                      | {"heads": dict(Counter(r[way]["head"] for r in group)),
                         "metric": group[0][way]["metric"]} for way in WAYS}
        out[split]["same_head"] = sum(r["shipped"]["head"] == r["accuracy_select"]["head"] for r in group)
        out[split]["draws"] = len(group)
    return out


def main() -> None:
    run_tasks("imbalance", TASKS, run, summary, NAMES, splits=[f"{a}/{b}" for a, b in SPLITS], draws=DRAWS)


if __name__ == "__main__":
    main()
