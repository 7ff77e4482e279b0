"""Label check: does `train`'s "Labels worth a second look" list find wrong labels?

A share (0%, 5%, 10%) of each data set's training labels is flipped at random to another class;
a model is fitted as `handful train` fits it (the head search on cached embeddings, calibrated)
and its `label_check_` (`evaluate/label_check.py`) is compared with the flips: how many examples
it lists (the held-out mistakes), the share of those that were flipped (precision), the share of
flips it lists (recall), the precision of its first k, k the number flipped, and the same for the
ones marked confident. 3 draws of the flips each. Data:
hymenoptera train (Lite0, 245 images), flowers5 train drawn down to 60 per class (Lite0, 300),
and 100 Yelp reviews of the UCI sentiment sentences (e5-small, 50 per class). Run:
`HF_HUB_OFFLINE=1 HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/label_check.py` ->
`benchmarks/results/label_check.json`.
"""

from __future__ import annotations

import csv
import time

import numpy as np

from common import datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import Examples, load_examples

RATES = (0.0, 0.05, 0.10)
SEEDS = (0, 1, 2)


def hymenoptera() -> Examples:
    return load_examples(require(datasets_dir() / "hymenoptera" / "train"))


def flowers5(per_class: int = 60) -> Examples:
    examples = load_examples(require(datasets_dir() / "flowers5_128px" / "train"))
    rng = np.random.default_rng(0)
    labels = np.asarray(examples.labels)
    keep = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in examples.classes])
    return examples.subset(np.sort(keep))


def yelp(per_class: int = 50) -> Examples:
    path = require(datasets_dir() / "text" / "uci_sentiment_sentences" / "yelp_labelled.tsv")
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    rows = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    chosen = [r for r in rows if r[1] == "1"][:per_class] + [r for r in rows if r[1] == "0"][:per_class]
    return Examples(tuple(r[0] for r in chosen), tuple("good" if r[1] == "1" else "bad" for r in chosen),
                    modality="text", source=str(path))


def flipped(examples: Examples, rate: float, seed: int) -> tuple[Examples, np.ndarray]:
    """``examples`` with ``rate`` of the labels moved to another class at random, and which."""
    rng = np.random.default_rng(seed)
    n, classes = len(examples), examples.classes
    flips = rng.choice(n, size=round(rate * n), replace=False)
    labels = list(examples.labels)
    for i in flips:
        labels[i] = str(rng.choice([c for c in classes if c != labels[i]]))
    return Examples(examples.items, tuple(labels), examples.modality, source=examples.source), flips


def one(clf: Classifier, X: np.ndarray, examples: Examples, rate: float, seed: int) -> dict:
    noisy, flips = flipped(examples, rate, seed)
    started = time.perf_counter()
    clf.fit_embeddings(X, noisy)
    check = clf.label_check_
    position = {example_id: i for i, example_id in enumerate(noisy.ids)}
    truth = np.zeros(len(noisy), bool)
    truth[flips] = True
    hits = np.array([truth[position[row["example"]]] for row in check["listed"]], dtype=bool)
    sure = np.array([row["confident"] for row in check["listed"]], dtype=bool)
    k = len(flips)
    row = {"rate": rate, "seed": seed, "n": len(noisy), "flipped": int(k), "listed": check["n_mistakes"],
           "confident": check["n_confident"], "head": clf.leaderboard_.best["label"],
           "cv": clf.leaderboard_.best["mean"], "seconds": round(time.perf_counter() - started, 2)}
    if check["n_mistakes"] > len(hits):
        row["note"] = f"only the first {len(hits)} listed are scored"
    if k:
        row |= {"precision": float(hits.mean()) if len(hits) else None, "recall": float(hits.sum() / k),
                "precision_at_k": float(hits[:k].sum() / k),
                "confident_precision": float(hits[sure].mean()) if sure.any() else None,
                "confident_recall": float(hits[sure].sum() / k)}
    return row


def main() -> None:
    tasks = {"hymenoptera": (hymenoptera, "efficientnet_lite0"),
             "flowers5 (60/class)": (flowers5, "efficientnet_lite0"), "yelp (50/class)": (yelp, "e5_small")}
    results = {}
    for name, (load, backbone) in tasks.items():
        clf = Classifier(backbone=backbone)
        X, examples = clf.embed_examples(load())
        rows = [one(clf, X, examples, rate, seed) for rate in RATES for seed in SEEDS]
        for row in rows:
            print(name, {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
        results[name] = {"backbone": backbone, "rows": rows, "summary": summary(rows)}
        print(name, results[name]["summary"], flush=True)
    write_result("label_check", {"rates": RATES, "seeds": SEEDS, "tasks": results})


def summary(rows: list[dict]) -> dict:
    """Mean over the draws of each rate."""
    out = {}
    for rate in RATES:
        mine = [r for r in rows if r["rate"] == rate]
        entry = {"listed": float(np.mean([r["listed"] for r in mine])),
                 "confident": float(np.mean([r["confident"] for r in mine])), "flipped": mine[0]["flipped"]}
        for key in ("precision", "recall", "precision_at_k", "confident_precision", "confident_recall"):
            values = [r[key] for r in mine if r.get(key) is not None]
            if values:
                entry[key] = float(np.mean(values))
        out[str(rate)] = entry
    return out


if __name__ == "__main__":
    main()
