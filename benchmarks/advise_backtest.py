"""Back-test of the data-need estimate: fit the learning curve on sizes <= 10 per class,
predict the accuracy at the full training size, compare with the measured one.

Hymenoptera train -> val and flowers5 train -> test, EfficientNet-Lite0 embeddings (cached),
the head `handful advise` uses by default. The measured value is the mean over the same
repeats at the full size. Run: `.venv/bin/python benchmarks/advise_backtest.py`.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from common import datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import scan_splits
from handful.evaluate.advice import bootstrap_fits
from handful.evaluate.learning_curve import measure_learning_curve
from handful.heads import create_head

DATASETS = {"hymenoptera": ("hymenoptera", "val"), "flowers5": ("flowers5_128px", "test")}
SMALL = (1, 2, 3, 5, 8, 10)
HEADS = {"logistic": ("logistic", {"C": 1.0})}


def backtest(name: str, folder: str, test_split: str, head: str, params: dict) -> dict:
    splits = scan_splits(require(datasets_dir() / folder))
    clf = Classifier("efficientnet_lite0")
    X, train = clf.embed_examples(splits["train"])
    X_test, test = clf.embed_examples(splits[test_split])
    y = np.asarray(train.labels, dtype=object)
    full = int(np.unique(y, return_counts=True)[1].max())

    def fit_predict(X_train, y_train, X_eval):
        return create_head(head, **params).fit(X_train, y_train).predict(X_eval)

    start = time.perf_counter()
    curve = measure_learning_curve(X, y, fit_predict, [*SMALL, full], repeats=10, X_test=X_test,
                                   y_test=np.asarray(test.labels, dtype=object))
    main, boots = bootstrap_fits(curve, max_size=10)
    full_point = curve["points"][-1]
    predicted = float(main.accuracy(full_point["n"]))
    lo, hi = np.percentile([b.accuracy(full_point["n"]) for b in boots], [10, 90])
    row = {"head": f"{head}({', '.join(f'{k}={v}' for k, v in params.items())})",
           "n_full_per_class": round(full_point["n"], 1), "measured_full": round(full_point["mean"], 4),
           "predicted_full": round(predicted, 4), "range_10_90": [round(lo, 4), round(hi, 4)],
           "error_points": round(100 * (predicted - full_point["mean"]), 2),
           "fit": {"kind": main.kind, "params": [round(p, 4) for p in main.params]},
           "small_sizes": [{"size": p["size"], "mean": round(p["mean"], 4), "std": round(p["std"], 4)}
                           for p in curve["points"][:-1]],
           "seconds": round(time.perf_counter() - start, 1)}
    print(f"{name:12s} {row['head']:18s} measured {100 * row['measured_full']:.1f}  predicted "
          f"{100 * predicted:.1f} (10-90% {100 * lo:.1f}-{100 * hi:.1f})  error "
          f"{row['error_points']:+.1f} pts", file=sys.stderr)
    return row


def main() -> None:
    results = {name: {label: backtest(name, folder, split, *spec) for label, spec in HEADS.items()}
               for name, (folder, split) in DATASETS.items()}
    write_result("advise_backtest", {"fit_sizes_per_class": list(SMALL), "repeats": 10,
                                     "backbone": "efficientnet_lite0", "results": results})


if __name__ == "__main__":
    main()
