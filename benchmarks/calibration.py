"""Calibrated confidence: held-out calibration error with and without the temperature that
model selection now fits on its out-of-fold answers (`evaluate/calibration.py`).

For each data set and training size (10 and 30 examples per class, 5 draws each, and all the
training data), the head is chosen by `Classifier(backbone=B).fit_embeddings` as `handful train`
chooses it (head auto), then the held-out split is scored twice with the same head: with the
fitted temperature (softening only, as shipped), with the NLL-optimal temperature if sharpening
were allowed too ("free"), and with temperature 1 (the head's own probabilities, as before). Reported:
accuracy, mean confidence, expected calibration error (10 bins) and negative log-likelihood.
Predictions, so accuracy, are the same both ways. Run:
`HF_HUB_OFFLINE=1 HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/calibration.py` ->
`benchmarks/results/calibration.json`.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from common import datasets_dir, require, run_tasks
from handful.classifier import Classifier
from handful.data import Examples, read_table, scan_splits
from handful.evaluate import calibration
from handful.evaluate.calibration import confidence_report, temperature_scaled

SIZES = (10, 30, None)  # per class; None = all the training data
DRAWS = 5
VARIANTS = ("uncalibrated", "free", "softening_only", "shipped")


def image_task(folder: str, test_split: str):
    splits = scan_splits(require(datasets_dir() / folder))
    return "efficientnet_lite0", splits["train"], splits[test_split]


def table_task(path: str, test: str, text: str, label: str, cap: int | None = None):
    base = require(datasets_dir() / "text" / path)
    train = read_table(base / "train.tsv", text, label)
    return "minilm", train, read_table(base / test, text, label)


TASKS = {"hymenoptera": lambda: image_task("hymenoptera", "val"),
         "flowers5": lambda: image_task("flowers5_128px", "test"),
         "trec (text)": lambda: table_task("senteval_text/trec", "test.tsv", "question", "coarse_label"),
         "sst2 (text)": lambda: table_task("sst2", "test.tsv", "sentence", "label")}
MAX_FULL = 3000  # SST-2 has 60k training sentences: "all" is capped at this many, drawn per class


def draw(y: np.ndarray, k: int | None, rng: np.random.Generator) -> np.ndarray:
    classes = np.unique(y)
    if k is None:
        if len(y) <= MAX_FULL:
            return np.arange(len(y))
        k = MAX_FULL // len(classes)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), min(k, int((y == c).sum())),
                                              replace=False) for c in classes]))


def free_temperature(proba: np.ndarray, y_idx: np.ndarray) -> float:
    """The NLL-optimal temperature over 0.05-100, sharpening allowed (not what ships)."""
    bounds = calibration.T_RANGE
    try:
        calibration.T_RANGE = (0.05, 100.0)
        return calibration.fit_temperature(proba, y_idx)
    finally:
        calibration.T_RANGE = bounds


def scored(proba: np.ndarray, classes: np.ndarray, y_test: np.ndarray) -> dict:
    report = confidence_report(proba, y_test, classes)
    accuracy = float((classes[proba.argmax(axis=1)] == y_test).mean())
    return {"accuracy": accuracy, **{k: v for k, v in report.items() if k != "temperature"}}


def fitted_draws(backbone: str, train, test, sizes=SIZES, draws: int = DRAWS):
    """For each size and draw, the head chosen as `handful train` chooses it on that draw:
    yields ``(clf, size, seed, idx, X_test, y_test, seconds to fit)``."""
    clf = Classifier(backbone=backbone)
    X, train = clf.embed_examples(train)
    X_test, test = clf.embed_examples(test)
    y, y_test = np.asarray(train.labels, dtype=object), np.asarray(test.labels, dtype=object)
    for k in sizes:
        for seed in range(1 if k is None else draws):
            idx = draw(y, k, np.random.default_rng(seed))
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit_embeddings(X[idx], Examples(tuple(str(i) for i in idx), tuple(y[idx]), train.modality))
            yield clf, k, seed, idx, X_test, y_test, time.perf_counter() - start


def run(name: str, backbone: str, train, test) -> list[dict]:
    rows = []
    for clf, k, seed, idx, X_test, y_test, seconds in fitted_draws(backbone, train, test):
        shipped = clf.head_.calibration_
        clf.head_.calibrate(1.0)
        plain = clf.head_.predict_proba(X_test)
        free = free_temperature(*clf.leaderboard_.best["_oof"])
        variants = {"uncalibrated": 1.0, "free": free, "softening_only": max(1.0, free), "shipped": shipped}
        row = {"per_class": k or "all", "seed": seed, "n_train": int(len(idx)),
               "head": clf.leaderboard_.best["label"], "calibration": clf.calibration_,
               "temperatures": {v: round(t, 3) for v, t in variants.items()},
               "seconds": round(seconds, 2)}
        row |= {v: scored(temperature_scaled(plain, t), clf.head_.classes_, y_test) for v, t in variants.items()}
        rows.append(row)
        print(f"{name:12s} k={k or 'all'} seed {seed}: {row['head']} T={free:.2f} "
              f"acc {row['uncalibrated']['accuracy']:.3f} " + "  ".join(
                  f"{v}: conf {row[v]['mean_confidence']:.3f} ECE {row[v]['ece']:.3f} NLL {row[v]['nll']:.3f}"
                  for v in variants), file=sys.stderr)
    return rows


def summary(rows: list[dict]) -> dict:
    out = {}
    for k in sorted({str(r["per_class"]) for r in rows}, key=lambda s: (s == "all", s.zfill(4))):
        group = [r for r in rows if str(r["per_class"]) == k]
        out[k] = {f"{which}_{m}": round(float(np.mean([r[which][m] for r in group])), 4)
                  for which in VARIANTS for m in ("mean_confidence", "ece", "nll")}
        out[k] |= {"accuracy": round(float(np.mean([r["uncalibrated"]["accuracy"] for r in group])), 4),
                   "free_temperature_median": round(float(np.median([r["temperatures"]["free"] for r in group])), 3),
                   "draws": len(group)}
    return out


def main() -> None:
    run_tasks("calibration", TASKS, run, summary, sizes_per_class=[s or "all" for s in SIZES], draws=DRAWS)


if __name__ == "__main__":
    main()
