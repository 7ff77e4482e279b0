"""The seed's worked example, reproduced: word2vec pretrained on unlabeled reviews vs a
pretrained sentence encoder.

A. Seed setup on UCI yelp reviews: per draw, 62 unlabeled + 8 labeled (4 per class) + 2 test
   (1 per class) sentences, all disjoint. word2vec (skip-gram, negative sampling) is trained on
   the 62 unlabeled + the 8 labeled texts; a sentence is the mean of its word vectors; a
   logistic head is fitted on the 8. The same 8 go through MiniLM and E5-small with the same
   head. Scored on the draw's 2 test sentences (as the seed did; 50 draws = 100 predictions)
   and on a fixed 500-sentence yelp held-out set that no draw touches (a low-noise estimate).
B. Lots of unlabeled in-domain text (SST-2): word2vec trained once on 62 / 2,000 / 60,614
   unlabeled train sentences; K=8 labeled per class (10 draws), scored on test.tsv (872).

Run: `.venv/bin/python benchmarks/text_word2vec_seed.py`.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from common import datasets_dir, require, write_result
from handful.backbones import create_backbone
from handful.cache import FeatureCache
from handful.data import read_table
from handful.evaluate.kshot import draw_kshot
from handful.heads import create_head

N_DRAWS = 50


def accuracy(X_train, y_train, X_test, y_test) -> float:
    head = create_head("logistic").fit(X_train, y_train)
    return float((head.predict(X_test) == np.asarray(y_test)).mean())


def seed_draw(labels: np.ndarray, candidates: np.ndarray, rng) -> tuple[np.ndarray, ...]:
    """(labeled 4+4, test 1+1, unlabeled 62) indices, disjoint, from ``candidates``."""
    labeled, test = [], []
    rest = rng.permutation(candidates)
    for cls in ("0", "1"):
        members = rest[labels[rest] == cls]
        labeled += list(members[:4])
        test += list(members[4:5])
    used = set(labeled) | set(test)
    unlabeled = [i for i in rest if i not in used][:62]
    return np.array(labeled), np.array(test), np.array(unlabeled)


def part_a(data) -> dict:
    table = read_table(require(data / "text/uci_sentiment_sentences/yelp_labelled.tsv"))
    texts, labels = list(table.items), np.asarray(table.labels)
    order = np.random.default_rng(0).permutation(len(texts))
    heldout, candidates = order[:500], order[500:]
    cache = FeatureCache()
    pretrained = {name: cache.get_or_compute(create_backbone(name), texts)[0]
                  for name in ("minilm", "e5_small")}
    scores = {m: {"seed_test": [], "heldout500": []} for m in ("word2vec", *pretrained)}
    seconds = []
    for r in range(N_DRAWS):
        labeled, test, unlabeled = seed_draw(labels, candidates, np.random.default_rng(r))
        w2v = create_backbone("word2vec", seed=r)
        start = time.perf_counter()
        w2v.fit_unlabeled([texts[i] for i in unlabeled] + [texts[i] for i in labeled])
        seconds.append(time.perf_counter() - start)
        X = {"word2vec": w2v.embed(texts), **pretrained}
        for name, emb in X.items():
            scores[name]["seed_test"].append(accuracy(emb[labeled], labels[labeled],
                                                      emb[test], labels[test]))
            scores[name]["heldout500"].append(accuracy(emb[labeled], labels[labeled],
                                                       emb[heldout], labels[heldout]))
    result = {name: {split: {"mean": round(float(np.mean(v)), 4),
                             "std": round(float(np.std(v)), 4),
                             "first_draw": v[0]} for split, v in s.items()}
              for name, s in scores.items()}
    result["word2vec_train_seconds_mean"] = round(float(np.mean(seconds)), 2)
    return result


def part_b(data) -> dict:
    train = read_table(require(data / "text/sst2/train.tsv"))
    test = read_table(require(data / "text/sst2/test.tsv"))
    y_train, y_test = np.asarray(train.labels), np.asarray(test.labels)
    draws = [draw_kshot(y_train, 8, np.random.default_rng([0, 8, r])) for r in range(10)]
    labeled_idx = np.unique(np.concatenate(draws))
    cache = FeatureCache()
    result = {}
    for name in ("minilm", "e5_small"):
        backbone = create_backbone(name)
        X_lab = dict(zip(labeled_idx, cache.get_or_compute(
            backbone, [train.items[i] for i in labeled_idx])[0]))
        X_test = cache.get_or_compute(backbone, list(test.items))[0]
        accs = [accuracy(np.stack([X_lab[i] for i in d]), y_train[d], X_test, y_test)
                for d in draws]
        result[name] = {"mean": round(float(np.mean(accs)), 4), "std": round(float(np.std(accs)), 4)}
    rng = np.random.default_rng(0)
    for n_unlabeled in (62, 2000, len(train)):
        pick = rng.choice(len(train), n_unlabeled, replace=False)
        w2v = create_backbone("word2vec")
        start = time.perf_counter()
        # the labeled texts are part of the corpus too, as in `handful train --unlabeled`
        stats = w2v.fit_unlabeled([train.items[i] for i in np.union1d(pick, labeled_idx)])
        train_s = time.perf_counter() - start
        X_test = w2v.embed(list(test.items))
        accs = [accuracy(w2v.embed([train.items[i] for i in d]), y_train[d], X_test, y_test)
                for d in draws]
        result[f"word2vec on {n_unlabeled} unlabeled"] = {
            "mean": round(float(np.mean(accs)), 4), "std": round(float(np.std(accs)), 4),
            "train_seconds": round(train_s, 1), "n_words": stats["n_words"],
            "epochs": stats["epochs"], "test_word_coverage": round(w2v.coverage(test.items), 3)}
        print(n_unlabeled, result[f"word2vec on {n_unlabeled} unlabeled"], file=sys.stderr,
              flush=True)
    return result


def main() -> None:
    data = datasets_dir()
    a = part_a(data)
    print("A", a, file=sys.stderr, flush=True)
    b = part_b(data)
    write_result("text_word2vec_seed", {
        "seed_setup_yelp": {"draws": N_DRAWS, "labeled": 8, "unlabeled": 62, "test": 2,
                            "heldout": 500, "head": "logistic", "results": a},
        "sst2_k8_unlabeled_scaling": {"draws": 10, "k": 8, "test": "sst2/test.tsv (872)",
                                      "head": "logistic", "results": b}})


if __name__ == "__main__":
    main()
