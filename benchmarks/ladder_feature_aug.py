"""Does feature-space augmentation help at small K? K-shot accuracy with 0 vs M augmented views.

Hymenoptera: pool = train, test = val; EfficientNet-Lite0; logistic head (C=1) and the
prototype head; K = 1, 5, 20; 10 draws per K (the same draws for every setting: run_kshot
seeds by (seed, K, repeat)); M = 4 views of the `light` and `default` presets. Views are made
and embedded only for the images a draw uses (cached on disk under the augmentation's key).

Run: `flock /tmp/handful-cpu.lock .venv/bin/python benchmarks/ladder_feature_aug.py`
(the same as `handful kshot DATA/train --test DATA/val --head logistic --augment-views 4`).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from common import datasets_dir, require, write_result
from handful.augment.views import ViewLookup
from handful.classifier import Classifier
from handful.data import Examples, scan_splits
from handful.evaluate.kshot import run_kshot

SHOTS, REPEATS, VIEWS = [1, 5, 20], 10, 4
SETTINGS = [("none", 0), ("light", VIEWS), ("default", VIEWS)]
HEADS = {"logistic": {"C": 1.0}, "prototype": {}}


def measure(head: str, params: dict, preset: str, n_views: int, pool: Examples, X_pool, X_test,
            y_test) -> dict:
    clf = Classifier("efficientnet_lite0", head=head, head_params=params, augment_views=n_views,
                     augment=preset)
    clf.embed_examples(pool.subset([0]))  # binds the backbone (a cache hit)
    views = ViewLookup(clf, pool, X_pool) if n_views else None

    def fit_predict(X_train, y_train, X_eval):
        sub = Examples(tuple(map(str, range(len(y_train)))), tuple(y_train), "image")
        extra = views.extra(X_train) if views else None
        return clf.fit_embeddings(X_train, sub, extra).head_.predict(X_eval)

    start = time.perf_counter()
    result = run_kshot(X_pool, np.asarray(pool.labels, dtype=object), X_test, y_test, SHOTS,
                       REPEATS, fit_predict)
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def main() -> None:
    splits = scan_splits(require(datasets_dir() / "hymenoptera"))
    clf = Classifier("efficientnet_lite0")
    X_pool, pool = clf.embed_examples(splits["train"])
    X_test, test = clf.embed_examples(splits["val"])
    y_test = np.asarray(test.labels, dtype=object)
    rows = []
    warnings.simplefilter("ignore", UserWarning)
    for head, params in HEADS.items():
        for preset, n_views in SETTINGS:
            result = measure(head, params, preset, n_views, pool, X_pool, X_test, y_test)
            row = {"head": head, "augment": preset, "views": n_views, "seconds": result["seconds"],
                   **{f"K={k}": {key: v[key] for key in ("mean", "std", "ci95")}
                      for k, v in result["shots"].items()}}
            rows.append(row)
            print(head, preset, n_views, {k: round(100 * v["mean"], 1)
                                          for k, v in result["shots"].items()}, flush=True)
    write_result("ladder_feature_aug", {"dataset": "hymenoptera train -> val", "n_test": len(y_test),
                                        "shots": SHOTS, "repeats": REPEATS, "rows": rows})


if __name__ == "__main__":
    main()
