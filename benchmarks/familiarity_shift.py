"""Familiarity's false alarms at 20-120 training examples: a train/val shift, or the threshold rule?

With 20-60 hymenoptera photos the familiarity mark (``evaluate/familiarity.py``) flagged 9-12% of
hymenoptera's val photos where it promises about 5% (``familiarity_support.py``). Balanced training
subsets of 20, 40, 60 and 120 (10 random draws each) are fitted exactly as a trained model is
(``fit_familiarity(X, y, seed, min_examples=MIN_JUDGED)``), and the share flagged is measured on:
(a) the hymenoptera train photos not in the subset (the same distribution: the promise must hold),
(b) hymenoptera val, (c) flowers5: its train photos not in the subset, and its test photos, and
(d) hymenoptera train + val pooled and re-split at random (245 / 153) per draw, the subset drawn
from the first part, scored on the second (no train/val shift left). Each cell: the mean over
draws of the share flagged and a 95% interval from a two-level bootstrap (draws, and the photos
scored, resampled together). Two threshold rules from the same leave-one-out scores: the shipped
one, and sessions 18-20's ``np.quantile(scores, 0.05)``; with each, the share that rule flags in
expectation on data exchangeable with the training set (``expected``). Embeddings: Lite0, cached.
Run (about 20 s with the embeddings cached):
`HF_HUB_OFFLINE=1 HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/familiarity_shift.py`
-> ``benchmarks/results/familiarity_shift.json``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from common import datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import scan_folder
from handful.evaluate.familiarity import MIN_JUDGED, QUANTILE, fit_familiarity

SIZES = (20, 40, 60, 120)
DRAWS = 10
REPS = 2000  # bootstrap resamples per cell
SEED = 0  # Classifier's default random_state, as fit_familiarity gets it


def embedded(clf: Classifier, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    X, examples = clf.embed_examples(scan_folder(require(folder)))
    return X, np.asarray(examples.labels, dtype=object)


def balanced(rng: np.random.Generator, y: np.ndarray, among: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices of ``among`` (indices into ``y``), the same number from each class."""
    classes = np.unique(y)
    per = n // len(classes)
    return np.concatenate([rng.choice(among[y[among] == c], per, replace=False) for c in classes])


def old_threshold(known) -> float:
    """Sessions 18-20's rule on the same leave-one-out scores: ``np.quantile(scores, 0.05)``."""
    stored = known.embeddings.astype(np.float32)
    sims = stored @ stored.T
    np.fill_diagonal(sims, -np.inf)
    return float(np.quantile(np.sort(sims, axis=1)[:, -known.k:].mean(axis=1), QUANTILE))


def expected(rule: str, n: int) -> float:
    """Share flagged in expectation when the scored inputs and the n training examples are
    exchangeable (ignoring that a new input has n neighbours to a left-out example's n - 1)."""
    if rule == "np.quantile":  # the (1 + (n-1)q)-th smallest of n, interpolated: rank r flags r/(n+1)
        return (1 + (n - 1) * QUANTILE) / (n + 1)
    return math.floor((n + 1) * QUANTILE) / (n + 1)  # shipped: conformal rank


def interval(flags: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the mean over draws of the share flagged; ``flags`` (draws, items)
    is 1 flagged / 0 not / NaN not scored in that draw (in its training subset)."""
    rng = np.random.default_rng(seed)
    n_draws, n_items = flags.shape
    means = np.empty(REPS)
    for r in range(REPS):
        sample = flags[rng.integers(n_draws, size=n_draws)][:, rng.integers(n_items, size=n_items)]
        means[r] = np.nanmean(np.nanmean(sample, axis=1))
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def cell(flags: np.ndarray) -> dict:
    per_draw = np.nanmean(flags, axis=1)
    lo, hi = interval(flags)
    return {"mean": round(float(per_draw.mean()), 4), "ci95": [round(lo, 4), round(hi, 4)],
            "draw_min": round(float(per_draw.min()), 4), "draw_max": round(float(per_draw.max()), 4),
            "n_scored": int(np.isfinite(flags[0]).sum())}


def measure(name: str, X: np.ndarray, y: np.ndarray, split, targets: dict[str, np.ndarray]) -> list[dict]:
    """For each size: ``split(rng, n)`` -> (training subset, {target: mask of scored rows}), over
    ``DRAWS`` draws; ``targets`` maps each target to its embeddings (rows the masks index)."""
    rows = []
    for n in SIZES:
        rng = np.random.default_rng(n)
        flags = {(t, rule): [] for t in targets for rule in ("shipped", "np.quantile")}
        for _ in range(DRAWS):
            subset, masks = split(rng, n)
            known = fit_familiarity(X[subset], y[subset], SEED, min_examples=MIN_JUDGED)
            for t, Xt in targets.items():
                scores = known.scores(Xt)
                for rule, threshold in (("shipped", known.threshold), ("np.quantile", old_threshold(known))):
                    flags[t, rule].append(np.where(masks[t], scores < threshold, np.nan))
        for (t, rule), f in flags.items():
            row = {"set": name, "scored": t, "n_train": n, "rule": rule,
                   "expected": round(expected(rule, n), 4), **cell(np.array(f, dtype=float))}
            rows.append(row)
            print(f"{name:22s} {t:14s} n={n:3d} {rule:11s} flagged {row['mean']:.3f} "
                  f"[{row['ci95'][0]:.3f}-{row['ci95'][1]:.3f}] (exchangeable: {row['expected']:.3f})")
    return rows


def main() -> None:
    data = datasets_dir()
    clf = Classifier(backbone="efficientnet_lite0")
    rows = []
    for name, train, test in (("hymenoptera", "hymenoptera/train", "hymenoptera/val"),
                              ("flowers5", "flowers5_128px/train", "flowers5_128px/test")):
        (X, y), (X_test, _) = embedded(clf, data / train), embedded(clf, data / test)
        everyone = np.arange(len(X))

        def split(rng, n, X=X, y=y, X_test=X_test, everyone=everyone):
            subset = balanced(rng, y, everyone, n)
            return subset, {"rest of train": ~np.isin(everyone, subset), "val or test": np.ones(len(X_test), bool)}
        rows += measure(name, X, y, split, {"rest of train": X, "val or test": X_test})

    (X_tr, y_tr), (X_val, y_val) = (embedded(clf, data / d) for d in ("hymenoptera/train", "hymenoptera/val"))
    X, y = np.vstack([X_tr, X_val]), np.concatenate([y_tr, y_val])

    def resplit(rng, n):
        order = rng.permutation(len(X))
        subset = balanced(rng, y, order[:len(X_tr)], n)
        return subset, {"re-split test": np.isin(np.arange(len(X)), order[len(X_tr):])}
    rows += measure("hymenoptera re-split", X, y, resplit, {"re-split test": X})
    write_result("familiarity_shift", {"draws": DRAWS, "sizes": list(SIZES), "quantile": QUANTILE,
                                       "bootstrap_reps": REPS, "rows": rows})


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    main()
