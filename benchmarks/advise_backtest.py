"""Back-test of the data-need estimate: fit the learning curve on the small sizes only,
predict the accuracy at the full training size, compare with the measured one.

The issue's test fits on sizes <= 10 per class; the same curve is also fitted on sizes <= 30
(a 4-20x extrapolation instead of 12-125x). Hymenoptera train -> val and flowers5 train ->
test with EfficientNet-Lite0 embeddings, and TREC (6 question types, train -> test) with
MiniLM as a text task that played no part in designing the estimator. None of the three is
among the tasks of the estimator's prior (`curve_prior.py`). The head is the one
`handful advise` uses by default; the measured value is the mean over the same 10 repeats at
the full size. Run: `.venv/bin/python benchmarks/advise_backtest.py`; with `--from-results` it
re-fits the curves saved by the last run (seconds); `--seeds K` repeats the back-test on K draws
of the small sizes (seed 0 is the headline) and reports the spread of the error.

Every point of the curve is drawn balanced (k per class), but the full training set of flowers5
(498-739 per class) and TREC (86-1,250) is not: its accuracy is not a point of the curve being
extrapolated. `balanced_full` also scores each draw against the curve's own largest point, the
most examples every class can give (balanced draws, 10 repeats); `--balanced-target` adds it to
the saved results without measuring the rest again (a minute).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from common import RESULTS, datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import read_table, scan_splits
from handful.evaluate.advice import posterior_fits
from handful.evaluate.data_need import DEFAULT_HEAD
from handful.evaluate.learning_curve import measure_learning_curve
from handful.heads import create_head

SIZES = (1, 2, 3, 5, 8, 10, 15, 20, 30)
FIT_UP_TO = (10, 30)


def image_task(folder: str, test_split: str):
    splits = scan_splits(require(datasets_dir() / folder))
    return "efficientnet_lite0", splits["train"], splits[test_split]


def trec_task():
    trec = require(datasets_dir() / "text" / "senteval_text" / "trec")
    return ("minilm", read_table(trec / "train.tsv", "question", "coarse_label"),
            read_table(trec / "test.tsv", "question", "coarse_label"))


TASKS = {"hymenoptera": lambda: image_task("hymenoptera", "val"),
         "flowers5": lambda: image_task("flowers5_128px", "test"),
         "trec (text)": trec_task}


def embedded(backbone: str, train, test):
    """(X, y, X_test, test, fit_predict): the task's embeddings and the default head."""
    clf = Classifier(backbone)
    X, train = clf.embed_examples(train)
    X_test, test = clf.embed_examples(test)
    head, params = DEFAULT_HEAD

    def fit_predict(X_train, y_train, X_eval):
        return create_head(head, **params).fit(X_train, y_train).predict(X_eval)

    return X, np.asarray(train.labels, dtype=object), X_test, test, fit_predict


def backtest(name: str, backbone: str, train, test, seeds: int = 1) -> dict:
    X, y, X_test, test, fit_predict = embedded(backbone, train, test)
    full = int(np.unique(y, return_counts=True)[1].max())
    head, params = DEFAULT_HEAD
    start = time.perf_counter()
    curve = measure_learning_curve(X, y, fit_predict, [*SIZES, full], repeats=10, X_test=X_test,
                                   y_test=np.asarray(test.labels, dtype=object))
    full_point = curve["points"][-1]
    row = {"backbone": backbone, "head": f"{head}({', '.join(f'{k}={v}' for k, v in params.items())})",
           "n_classes": curve["n_classes"], "n_full_per_class": round(full_point["n"], 1),
           "measured_full": round(full_point["mean"], 4),
           "measured": [_point(p) for p in curve["points"]],
           "seconds": round(time.perf_counter() - start, 1)}
    row |= predictions(name, row["measured"])
    if seeds > 1:  # the same back-test on other draws of the small sizes (the full size uses all)
        row["seeds"] = [{"seed": 0, **{k: row[f"fit_up_to_{k}"]["error_points"] for k in FIT_UP_TO}}]
        for seed in range(1, seeds):
            small = measure_learning_curve(X, y, fit_predict, list(SIZES), repeats=10, seed=seed,
                                           X_test=X_test, y_test=np.asarray(test.labels, dtype=object))
            row["seeds"].append(seed_row(name, seed, [_point(p) for p in small["points"]], row["measured"][-1]))
        row["seed_summary"] = seed_summary(row["seeds"])
    return row | {"balanced_full": balanced_full(name, row, X, y, fit_predict, X_test, test)}


def balanced_full(name: str, row: dict, X, y, fit_predict, X_test, test) -> dict:
    """Each saved draw's errors against the accuracy at the most examples every class has."""
    largest = int(np.unique(y, return_counts=True)[1].min())
    curve = measure_learning_curve(X, y, fit_predict, [largest], repeats=10, X_test=X_test, draw_budget=1,
                                   y_test=np.asarray(test.labels, dtype=object))
    return balanced_errors(name, row, _point(curve["points"][0]))


def balanced_errors(name: str, row: dict, target: dict) -> dict:
    small = [row["measured"][:-1]] + [r["measured"] for r in row.get("seeds", [])[1:] if "measured" in r]
    rows = [seed_row(f"{name} balanced", k, points, target) for k, points in enumerate(small)]
    return {"measured": target, "seeds": [{k: r[k] for k in ("seed", *FIT_UP_TO)} for r in rows],
            "seed_summary": seed_summary(rows) if len(rows) > 1 else None}


def with_balanced_target(name: str, row: dict, backbone: str, train, test) -> dict:
    X, y, X_test, test, fit_predict = embedded(backbone, train, test)
    return row | {"balanced_full": balanced_full(name, row, X, y, fit_predict, X_test, test)}


def seed_row(name: str, seed: int, small: list[dict], full_point: dict) -> dict:
    """One more draw's errors; its small-size points are kept, so --from-results re-fits them."""
    again = predictions(f"{name} s{seed}", small + [full_point])
    return {"seed": seed, **{k: again[f"fit_up_to_{k}"]["error_points"] for k in FIT_UP_TO}, "measured": small}


def seed_summary(rows: list[dict]) -> dict:
    return {f"fit_up_to_{k}": {"mean_error_points": round(float(np.mean([r[k] for r in rows])), 2),
                               "sd_points": round(float(np.std([r[k] for r in rows], ddof=1)), 2)}
            for k in FIT_UP_TO}


def refit(name: str, row: dict) -> dict:
    """A saved row re-fitted with the current estimator (seeds too, when their points were saved)."""
    out = {k: v for k, v in row.items() if not k.startswith("seed")} | predictions(name, row["measured"])
    if all("measured" in r for r in row.get("seeds", [])[1:]) and row.get("seeds"):
        out["seeds"] = [{"seed": 0, **{k: out[f"fit_up_to_{k}"]["error_points"] for k in FIT_UP_TO}}]
        out["seeds"] += [seed_row(name, r["seed"], r["measured"], row["measured"][-1]) for r in row["seeds"][1:]]
        out["seed_summary"] = seed_summary(out["seeds"])
    if "balanced_full" in row:
        out["balanced_full"] = balanced_errors(name, out | {"seeds": row.get("seeds", [])},
                                               row["balanced_full"]["measured"])
    return out


def _point(p: dict) -> dict:
    return {"size": p["size"], "n": round(p["n"], 2), "mean": round(p["mean"], 4),
            "std": round(p["std"], 4), "runs": [round(r, 4) for r in p["runs"]]}


def predictions(name: str, points: list[dict]) -> dict:
    """The full-size accuracy predicted from the sizes <= 10 and <= 30 per class."""
    curve, full_point, row = {"points": points}, points[-1], {}
    for up_to in FIT_UP_TO:
        main, draws = posterior_fits(curve, max_size=up_to)
        predicted = float(main.accuracy(full_point["n"]))
        lo, hi = np.percentile([d.accuracy(full_point["n"]) for d in draws], [10, 90])
        row[f"fit_up_to_{up_to}"] = {
            "predicted_full": round(predicted, 4), "range_10_90": [round(lo, 4), round(hi, 4)],
            "error_points": round(100 * (predicted - full_point["mean"]), 2),
            "fit": {"kind": main.kind, **{k: np.round(v, 4).tolist() for k, v in main.params.items()}}}
        print(f"{name:12s} fit<={up_to:2d}: measured {100 * full_point['mean']:.1f}  predicted "
              f"{100 * predicted:.1f} (10-90% {100 * lo:.1f}-{100 * hi:.1f})  error "
              f"{100 * (predicted - full_point['mean']):+.1f} pts", file=sys.stderr)
    return row


def main() -> None:
    if "--from-results" in sys.argv:  # re-fit the saved curves (after a change to the estimator)
        saved = json.loads((RESULTS / "advise_backtest.json").read_text())["results"]
        results = {name: refit(name, row) for name, row in saved.items()}
    elif "--balanced-target" in sys.argv:  # add the balanced target to the saved draws
        saved = json.loads((RESULTS / "advise_backtest.json").read_text())["results"]
        results = {name: with_balanced_target(name, row, *TASKS[name]()) for name, row in saved.items()}
    else:
        seeds = int(sys.argv[sys.argv.index("--seeds") + 1]) if "--seeds" in sys.argv else 1
        results = {name: backtest(name, *task(), seeds=seeds) for name, task in TASKS.items()}
    write_result("advise_backtest", {"sizes_per_class": list(SIZES), "fit_up_to": list(FIT_UP_TO),
                                     "repeats": 10, "results": results})


if __name__ == "__main__":
    main()
