"""Answer only when sure: coverage and accuracy at confidence thresholds, with the calibrated
probabilities (as shipped) and with the head's own (temperature 1).

As in `benchmarks/calibration.py` (its tasks and draws are reused): the head is chosen by
`Classifier(backbone="efficientnet_lite0").fit_embeddings` as `handful train` chooses it (head
auto, temperature fitted on the search's out-of-fold answers), on 10 training examples per class
(5 draws) or all of them; the held-out split (hymenoptera val, flowers5 test) is scored at each of
`THRESHOLDS`: the share of examples whose top probability reaches it (coverage) and the accuracy
on those. The temperature does not reorder a model's answers, so the accuracy-against-coverage
curve is the same both ways; what it changes is which coverage a threshold picks, i.e. whether
"answer at >= 90%" gives answers that are right about 90% of the time or more. Run:
`HF_HUB_OFFLINE=1 HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/selective.py` ->
`benchmarks/results/selective.json`.
"""

from __future__ import annotations

import sys

import numpy as np

from calibration import TASKS, fitted_draws
from common import run_tasks
from handful.evaluate.calibration import THRESHOLDS, risk_coverage, temperature_scaled

NAMES = ("hymenoptera", "flowers5")
SIZES = (10, None)  # per class; None = all the training data
DRAWS = 5


def run(name: str, backbone: str, train, test) -> list[dict]:
    rows = []
    for clf, k, seed, idx, X_test, y_test, _ in fitted_draws(backbone, train, test, SIZES, DRAWS):
        temperature = clf.head_.calibration_
        clf.head_.calibrate(1.0)
        plain = clf.head_.predict_proba(X_test)  # (n_test, n_classes)
        index = {c: i for i, c in enumerate(clf.head_.classes_)}
        y_idx = np.array([index[label] for label in y_test])
        row = {"per_class": k or "all", "seed": seed, "n_train": int(len(idx)), "n_test": int(len(y_idx)),
               "head": clf.leaderboard_.best["label"], "temperature": round(temperature, 3),
               "accuracy": float((plain.argmax(axis=1) == y_idx).mean()),
               "uncalibrated": risk_coverage(plain, y_idx),
               "calibrated": risk_coverage(temperature_scaled(plain, temperature), y_idx)}
        rows.append(row)
        print(f"{name:12s} k={k or 'all'} seed {seed}: {row['head']} T={temperature:.2f} acc {row['accuracy']:.3f} "
              + " ".join(f"{p['min_confidence']}: {p['coverage']:.2f}/{p['accuracy'] or 0:.3f}"
                         f"->{q['coverage']:.2f}/{q['accuracy'] or 0:.3f}"
                         for p, q in zip(row["uncalibrated"], row["calibrated"])), file=sys.stderr)
    return rows


def summary(rows: list[dict]) -> dict:
    """Per size and threshold, over the draws: mean coverage, and the accuracy of all the answers
    given (pooled: a draw that answers nothing adds nothing) and how many that is, both ways."""
    out = {}
    for k in sorted({str(r["per_class"]) for r in rows}, key=lambda s: (s == "all", s.zfill(4))):
        group = [r for r in rows if str(r["per_class"]) == k]
        out[k] = {"accuracy": round(float(np.mean([r["accuracy"] for r in group])), 4), "draws": len(group),
                  "temperature_median": round(float(np.median([r["temperature"] for r in group])), 3)}
        for which in ("uncalibrated", "calibrated"):
            points = []
            for i, threshold in enumerate(THRESHOLDS):
                answered = sum(r[which][i]["n_answered"] for r in group)
                right = sum(r[which][i]["n_answered"] * (r[which][i]["accuracy"] or 0) for r in group)
                points.append({"min_confidence": threshold,
                               "coverage": round(float(np.mean([r[which][i]["coverage"] for r in group])), 4),
                               "n_answered": answered,
                               "accuracy": round(right / answered, 4) if answered else None})
            out[k][which] = points
    return out


def main() -> None:
    run_tasks("selective", TASKS, run, summary, NAMES, thresholds=list(THRESHOLDS),
              sizes_per_class=[s or "all" for s in SIZES], draws=DRAWS)


if __name__ == "__main__":
    main()
