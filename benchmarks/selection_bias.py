"""How much does the winner's cross-validated score flatter it, and does the adjustment fix that?

`handful train` scores up to 19 (backbone, head) candidates on the same folds and keeps the best;
the best of many noisy CV scores is biased upwards. The leaderboard's `selection()` takes off
the Tibshirani & Tibshirani (2009) estimate of that bias: on each fold, how far the fold's own
best candidate scored above the chosen one, averaged over the folds.

For K examples per class drawn from a pool, the search that `train` runs (`search_models` over
two backbones and their concatenation, every default head; the same folds, `cv_splits`) picks a
winner; its CV score and adjusted score are compared with its accuracy on 1,000 other examples
of the pool (the truth). 20 draws per K. Embeddings come from the cache.

Run: `.venv/bin/python benchmarks/selection_bias.py` → `results/selection_bias.json`.
"""

from __future__ import annotations

import time

import numpy as np

from common import datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import read_table, scan_folder
from handful.heads import create_head
from handful.select.models import search_models

SETS = {  # name: (loader, backbones)
    "flowers5 train": (lambda d: scan_folder(require(d / "flowers5_128px" / "train")),
                       ("efficientnet_lite0", "efficientnet_lite2")),
    "CR (SentEval)": (lambda d: read_table(require(d / "text" / "senteval_text" / "cr.tsv")),
                      ("minilm", "e5_small")),
}
SHOTS = (2, 3, 5, 10, 30)
DRAWS = 20
TEST = 1000


def draw(y: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    pool = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in np.unique(y)])
    rest = np.setdiff1d(np.arange(len(y)), pool)
    return pool, rng.choice(rest, min(TEST, len(rest)), replace=False)


def one_set(examples, backbones: tuple[str, str]) -> dict:
    embeddings = {}
    for name in backbones:
        X, kept = Classifier(name).embed_examples(examples)
        assert len(kept) == len(examples), "a file failed to embed"
        embeddings[name] = X
    y = np.asarray(examples.labels, dtype=object)
    names = [*backbones, "+".join(backbones)]
    rows = []
    for k in SHOTS:
        rng = np.random.default_rng(k)
        runs = []
        for _ in range(DRAWS):
            train, test = draw(y, k, rng)
            board = search_models({b: e[train] for b, e in embeddings.items()}, y[train], names)
            sel = board.selection()
            best = board.best
            X = np.hstack([embeddings[p] for p in best["backbone"].split("+")])
            head = create_head(best["head"], **best["params"]).fit(X[train], y[train])
            truth = float((head.predict(X[test]) == y[test]).mean())
            runs.append((sel["cv_accuracy"], sel["adjusted_accuracy"], truth))
        r = np.array(runs)
        row = {"shots": k, "draws": DRAWS, "candidates": sel["candidates"],
               "cv_accuracy": r[:, 0].mean(), "adjusted_accuracy": r[:, 1].mean(), "held_out": r[:, 2].mean(),
               "cv_bias": (r[:, 0] - r[:, 2]).mean(), "adjusted_bias": (r[:, 1] - r[:, 2]).mean(),
               "cv_mean_abs_error": np.abs(r[:, 0] - r[:, 2]).mean(),
               "adjusted_mean_abs_error": np.abs(r[:, 1] - r[:, 2]).mean()}
        rows.append({key: round(float(v), 4) if isinstance(v, float) else v for key, v in row.items()})
        print(rows[-1], flush=True)
    return {"backbones": list(backbones), "n": len(y), "rows": rows}


def main() -> None:
    data = datasets_dir()
    start = time.perf_counter()
    results = {}
    for name, (load, backbones) in SETS.items():
        print(name, flush=True)
        results[name] = one_set(load(data), backbones)
    write_result("selection_bias", {"sets": results, "shots": list(SHOTS), "draws": DRAWS, "test": TEST,
                                    "seconds": round(time.perf_counter() - start, 1)})


if __name__ == "__main__":
    main()
