"""Active learning: does labeling `handful suggest`'s picks beat labeling random ones?

Pool-based simulation on cached embeddings. Each run starts from 1 random labeled example per
class; each round labels ``b`` more (b = the number of classes) chosen by a strategy from the
rest of the pool, refits the head (``LogisticHead()`` as `handful train` would fit it, and
``PrototypeHead()``) and scores accuracy on the test split, up to ``MAX_PER_CLASS`` labels per
class. Strategies:

- ``random``: b pool items at random;
- ``shipped``: ``select.active.rank_for_labeling`` as ``handful suggest`` calls it (the pool's
  embeddings and the head's probabilities; the picture-copy check is moot on these pools);
- ``margin``: the b most uncertain (``1 - (p1 - p2)``), no diversity;
- ``typiclust``: Hacohen, Dekel & Weinshall (ICML 2022): k-means the pool (labeled + not) into
  ``|labeled| + b`` clusters, take the most typical item (highest inverse mean distance to its 20
  nearest neighbours in its cluster) of the largest clusters holding no labeled item;
- ``now_shipped``: ``select.active.rank_unlabeled`` as `suggest` now calls it, given the labeled
  examples' embeddings (the model's own from 20 examples, else its training folder's): TypiClust
  below ``TYPICAL_BELOW`` labels per class, ``shipped`` from then on.

Strategies that ignore the head (random, typiclust) pick the same items for both heads.
Reported per data set, head and strategy: mean accuracy at each budget (labels per class), the
mean over the budgets, and the paired difference from random (same seed, same first labels) with
a 95% t-interval over the seeds, overall and for budgets <= 5 per class. Data: hymenoptera
(Lite0, pool train 245, test val 153), flowers5 (Lite0, pool train 3005, test 641), TREC coarse
(MiniLM, pool train 5452, test 500), and since session 20 SST-2 (MiniLM, pool a seeded draw of 5,000
of its 67k training sentences, test 872), a second text check. Run:
`HF_HUB_OFFLINE=1 HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/active_learning.py [names]`
-> `benchmarks/results/active_learning.json` (naming some tasks re-runs those and keeps the others').
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
from scipy import stats
from sklearn.cluster import KMeans

from common import RESULTS, datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import read_table, scan_splits
from handful.heads.logistic import LogisticHead
from handful.heads.prototype import PrototypeHead
from handful.select import active
from handful.select.active import margin_uncertainty, rank_for_labeling, rank_unlabeled
from handful.select.typical import rank_typical

SEEDS = 10
MAX_PER_CLASS = 16
LOW = 5  # "low budget": up to this many labels per class
HEADS = {"logistic": LogisticHead, "prototype": PrototypeHead}
STRATEGIES = ("random", "shipped", "margin", "typiclust", "now_shipped")
# also: "typical_pool" (TypiClust knowing only how many are labeled) and "typical_below_T"
# (now_shipped with TYPICAL_BELOW = T), e.g. `--strategies random,typical_below_3`
HEAD_FREE = ("random", "typiclust", "typical_pool")


def image_task(folder: str, test_split: str):
    splits = scan_splits(require(datasets_dir() / folder))
    return "efficientnet_lite0", splits["train"], splits[test_split]


def table_task(path: str, test: str, text: str, label: str):
    base = require(datasets_dir() / "text" / path)
    return "minilm", read_table(base / "train.tsv", text, label), read_table(base / test, text, label)


TASKS = {"hymenoptera": lambda: image_task("hymenoptera", "val"),
         "flowers5": lambda: image_task("flowers5_128px", "test"),
         "trec (text)": lambda: table_task("senteval_text/trec", "test.tsv", "question", "coarse_label"),
         "sst2 (text)": lambda: table_task("sst2", "test.tsv", "sentence", "label")}
POOL_CAP = 5000  # SST-2's 67k training sentences: the pool is a seeded draw of this many


def unit(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def typiclust(X: np.ndarray, labeled: np.ndarray, b: int, seed: int, k_nn: int = 20) -> list[int]:
    """TypiClust's picks (indices of ``X``, the whole pool): clusters without a label, largest
    first, each giving its most typical member (clusters under 5 items are skipped, as the
    authors' code does)."""
    Z = unit(X)
    n_clusters = min(len(labeled) + b, len(X) // 5)
    assign = KMeans(n_clusters, n_init=1, random_state=seed).fit_predict(Z)
    sizes = np.bincount(assign, minlength=n_clusters)
    n_labeled = np.bincount(assign[labeled], minlength=n_clusters)
    taken = set(int(i) for i in labeled)
    picks: list[int] = []
    while len(picks) < b:
        # fewest labels first, then the largest (the authors' order)
        order = sorted((c for c in range(n_clusters) if sizes[c] >= 5 and
                        any(int(i) not in taken for i in np.flatnonzero(assign == c))),
                       key=lambda c: (n_labeled[c], -sizes[c]))
        if not order:
            break
        c = order[0]
        members = np.array([i for i in np.flatnonzero(assign == c) if int(i) not in taken])
        everyone = np.flatnonzero(assign == c)
        d = np.sqrt(np.maximum(2 - 2 * Z[members] @ Z[everyone].T, 0))
        k = min(k_nn, len(everyone) - 1)
        typicality = 1 / (np.sort(d, axis=1)[:, 1:k + 1].mean(axis=1) + 1e-8)
        best = int(members[np.argmax(typicality)])
        picks.append(best)
        taken.add(best)
        n_labeled[c] += 1
    return picks


def choose(strategy: str, X: np.ndarray, labeled: np.ndarray, head, b: int,
           rng: np.random.Generator, seed: int) -> list[int]:
    """``b`` pool indices to label next by ``strategy``."""
    rest = np.setdiff1d(np.arange(len(X)), labeled)
    if strategy == "random":
        return [int(i) for i in rng.choice(rest, b, replace=False)]
    if strategy == "typiclust":
        return typiclust(X, labeled, b, seed)
    if strategy == "typical_pool":  # the labeled items unknown, only their number
        return [int(rest[i]) for i in rank_typical(X[rest], b, n_labeled=len(labeled), seed=seed)]
    proba = head.predict_proba(X[rest])
    if strategy == "margin":
        return [int(rest[i]) for i in np.argsort(-margin_uncertainty(proba), kind="stable")[:b]]
    if strategy == "shipped":
        return [int(rest[i]) for i in rank_for_labeling(X[rest], proba, b)]
    below = int(strategy.rsplit("_", 1)[1]) if strategy.startswith("typical_below_") else None
    shipped_below, active.TYPICAL_BELOW = active.TYPICAL_BELOW, below or active.TYPICAL_BELOW
    try:  # the labeled examples' embeddings: the model's own, or its training folder's (suggest)
        return [int(rest[i]) for i in rank_unlabeled(X[rest], proba, b, labeled=X[labeled])]
    finally:
        active.TYPICAL_BELOW = shipped_below


def simulate(X, y, X_test, y_test, strategy: str, head_names, seed: int) -> dict[str, list[float]]:
    """Accuracy after each round (1, 2, ... MAX_PER_CLASS labels per class) per head; a
    head-driven strategy runs with the first head in ``head_names``."""
    classes = np.unique(y)
    rng = np.random.default_rng(seed)
    labeled = np.array([rng.choice(np.flatnonzero(y == c)) for c in classes])
    b = len(classes)
    curves: dict[str, list[float]] = {h: [] for h in head_names}
    for _ in range(MAX_PER_CLASS):
        fitted = {}
        for h in head_names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted[h] = HEADS[h]().fit(X[labeled], y[labeled])
            curves[h].append(float((fitted[h].predict(X_test) == y_test).mean()))
        if len(curves[head_names[0]]) == MAX_PER_CLASS:
            break
        new = choose(strategy, X, labeled, fitted[head_names[0]], b, rng, seed)
        labeled = np.concatenate([labeled, new])
    return curves


def run(name: str, backbone: str, train, test) -> list[dict]:
    clf = Classifier(backbone=backbone)
    if len(train) > POOL_CAP:
        train = train.subset(np.sort(np.random.default_rng(0).choice(len(train), POOL_CAP, replace=False)))
    X, train = clf.embed_examples(train)
    X_test, test = clf.embed_examples(test)
    y, y_test = np.asarray(train.labels, dtype=object), np.asarray(test.labels, dtype=object)
    rows = []
    for strategy in STRATEGIES:
        groups = [tuple(HEADS)] if strategy in HEAD_FREE else [(h,) for h in HEADS]
        for seed in range(SEEDS):
            for heads in groups:
                start = time.perf_counter()
                curves = simulate(X, y, X_test, y_test, strategy, heads, seed)
                for h, curve in curves.items():
                    rows.append({"strategy": strategy, "head": h, "seed": seed,
                                 "accuracy": [round(a, 4) for a in curve]})
                print(f"{name:12s} {strategy:11s} {'+'.join(heads):18s} seed {seed}: "
                      f"{' '.join(f'{a:.2f}' for a in curves[heads[0]])} "
                      f"({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return rows


def paired(diff: np.ndarray) -> dict:
    """Mean of the per-seed differences and its 95% t-interval."""
    half = float(stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff)))
    m = float(diff.mean())
    return {"mean": round(100 * m, 2), "ci95": [round(100 * (m - half), 2), round(100 * (m + half), 2)]}


def summary(rows: list[dict]) -> dict:
    out = {}
    for head in HEADS:
        curves = {s: np.array([r["accuracy"] for r in sorted(rows, key=lambda r: r["seed"])
                               if r["head"] == head and r["strategy"] == s]) for s in STRATEGIES}
        curves = {s: c for s, c in curves.items() if len(c)}
        base = curves["random"]
        out[head] = {}
        for s, c in curves.items():
            out[head][s] = {"accuracy_by_per_class": [round(100 * float(a), 1) for a in c.mean(axis=0)],
                            "mean_over_budgets": round(100 * float(c.mean()), 2),
                            "mean_low_budgets": round(100 * float(c[:, :LOW].mean()), 2)}
            if s != "random":
                out[head][s] |= {"vs_random": paired(c.mean(axis=1) - base.mean(axis=1)),
                                 "vs_random_low": paired(c[:, :LOW].mean(axis=1) - base[:, :LOW].mean(axis=1))}
    return out


def main() -> None:
    global STRATEGIES
    if "--strategies" in sys.argv:
        STRATEGIES = tuple(sys.argv[sys.argv.index("--strategies") + 1].split(","))
    chosen = [a for a in sys.argv[1:] if a in TASKS] or list(TASKS)
    saved = RESULTS / "active_learning.json"
    # a run of some of the tasks keeps the others' saved results (same strategies and settings)
    results = {} if not saved.exists() or set(chosen) == set(TASKS) else {
        k: v for k, v in json.loads(saved.read_text())["results"].items() if k not in chosen}
    for name in chosen:
        rows = run(name, *TASKS[name]())
        results[name] = {"summary": summary(rows), "rows": rows}
        for head, by in results[name]["summary"].items():
            for s, v in by.items():
                print(f"{name:12s} {head:9s} {s:11s} mean {v['mean_over_budgets']:.2f} low {v['mean_low_budgets']:.2f} "
                      f"vs random {v.get('vs_random')} low {v.get('vs_random_low')}", file=sys.stderr)
    write_result("active_learning", {"strategies": list(STRATEGIES), "typical_below": active.TYPICAL_BELOW,
                                     "seeds": SEEDS, "per_class": list(range(1, MAX_PER_CLASS + 1)),
                                     "batch": "number of classes", "low_budget_per_class": LOW,
                                     "results": results})


if __name__ == "__main__":
    main()
