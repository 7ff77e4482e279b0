"""Head fitting with one BLAS/OpenMP thread vs the libraries' default (two here).

`handful train --backbone auto --head auto` scores 3 backbones x 6 heads x 5 folds (+ the MLP
on the leader) and then refits the winner's head ~120 times for the data-need estimate, all
on cached embeddings: hundreds of small matrix products. This times exactly those two steps
(`search_models` and `estimate_data_need`, as `handful train` calls them) on flowers5 train
(3,005 images, 5 classes) and hymenoptera train (245, 2 classes) with
`handful.heads.threads.LIMIT` = 1 (shipped) and None (the libraries' own threads), on a quiet
machine and beside one busy process (a numpy loop, as a second job or a browser would be).
Run: `.venv/bin/python benchmarks/head_threads.py` (embeddings come from the cache).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from common import datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import scan_splits
from handful.evaluate.data_need import estimate_data_need
from handful.heads import threads
from handful.select.models import AUTO_BACKBONES, search_models, stack_embeddings

DATASETS = {"flowers5": "flowers5_128px", "hymenoptera": "hymenoptera"}


def embeddings(folder: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    train = scan_splits(require(datasets_dir() / folder))["train"]
    out = {}
    for name in ("efficientnet_lite0", "efficientnet_lite2"):
        out[name], examples = Classifier(name).embed_examples(train)
    return out, np.asarray(examples.labels, dtype=object)


BUSY = ("import numpy as np\na = np.random.default_rng(0).standard_normal((400, 400))\n"
        "while True:\n    a = np.tanh(a @ a.T / 400)\n")


def timed_train(embs: dict[str, np.ndarray], y: np.ndarray) -> dict:
    start = time.perf_counter()
    board = search_models(embs, y, AUTO_BACKBONES["image"])
    searched = time.perf_counter()
    best = board.best
    advice = estimate_data_need(stack_embeddings(best["backbone"], embs), y, best["head"],
                                best["params"])
    done = time.perf_counter()
    return {"search_s": round(searched - start, 1), "advice_s": round(done - searched, 1),
            "total_s": round(done - start, 1), "best": f"{best['backbone']} {best['label']}",
            "cv": round(best["mean"], 4), "advice_now": round(advice["accuracy_now"], 4)}


def main() -> None:
    names = sys.argv[1:] or list(DATASETS)
    results = {}
    for name in names:
        embs, y = embeddings(DATASETS[name])
        for condition in ("quiet", "one busy process"):
            proc = None
            if condition != "quiet":
                proc = subprocess.Popen([sys.executable, "-c", BUSY])
                time.sleep(1)
            for limit in (1, None):
                threads.LIMIT = limit
                load = os.getloadavg()[0]
                row = timed_train(embs, y) | {"load_avg_1min_before": round(load, 2)}
                key = f"{name} / {condition} / {'one thread' if limit else 'default threads'}"
                results[key] = row
                print(key, row, file=sys.stderr, flush=True)
            if proc is not None:
                proc.terminate()
                proc.wait()
    threads.LIMIT = 1
    write_result("head_threads", {"default_threads": os.cpu_count(), "results": results})


if __name__ == "__main__":
    main()
