"""Familiarity: does a model flag inputs unlike its training examples (`evaluate/familiarity.py`)?

For each data set a model is fitted on its training split (`Classifier.fit_embeddings`, a
logistic head; SST-2's 67k sentences drawn down to 3,000 per class share, as in
`calibration.py`), which keeps its training embeddings as shipped (at most 2,000, drawn per class)
and a threshold that 95% of them reach among the others. Then, with the model's own backbone
(Lite0 for images, MiniLM for texts), its held-out split (in distribution) and the other data
sets of the same modality (out of distribution; Omniglot drawings for the image models, first
1,000) are scored: the share flagged ("unlike the training examples"), and AUROC of the familiarity
score telling held-out from out-of-distribution inputs. On the held-out split, the accuracy of the
flagged and the familiar inputs. Run:
`HF_HUB_OFFLINE=1 HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/familiarity.py` ->
`benchmarks/results/familiarity.json`.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
from sklearn.metrics import roc_auc_score

from calibration import MAX_FULL, TASKS
from common import datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import Examples, scan_folder

OMNIGLOT = ("omniglot/images_background_small1", 1000)


def embedded(backbone: str, examples: Examples) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, labels) of the usable examples."""
    X, examples = Classifier(backbone=backbone).embed_examples(examples)
    return X, np.asarray(examples.labels, dtype=object)


def sets() -> dict[str, dict]:
    """Each data set's backbone, training and held-out embeddings (and Omniglot, held-out only)."""
    out = {}
    for name, task in TASKS.items():
        backbone, train, test = task()
        X, y = embedded(backbone, train)
        if len(X) > MAX_FULL:  # as calibration.py's "all": a per-class share of 3,000
            rng = np.random.default_rng(0)
            idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), int(MAX_FULL * np.mean(y == c)),
                                                     replace=False) for c in np.unique(y)]))
            X, y = X[idx], y[idx]
        X_test, y_test = embedded(backbone, test)
        out[name] = {"backbone": backbone, "train": (X, y), "test": (X_test, y_test)}
        print(f"{name}: {len(X)} train, {len(X_test)} held-out", file=sys.stderr)
    folder, n = OMNIGLOT
    drawings = scan_folder(require(datasets_dir() / folder), nested=True)
    X_om, y_om = embedded("efficientnet_lite0", drawings)
    out["omniglot"] = {"backbone": "efficientnet_lite0", "train": None, "test": (X_om[:n], y_om[:n])}
    return out


def score(name: str, data: dict) -> dict:
    """Fit on ``name``'s training split; flagged shares and AUROC against the other sets."""
    own = data[name]
    X, y = own["train"]
    clf = Classifier(backbone=own["backbone"], head="logistic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # distinct ids as texts: no duplicate groups to look for (the rows are distinct examples)
        clf.fit_embeddings(X, Examples(tuple(map(str, range(len(y)))), tuple(y), "text"))
    known = clf.familiarity_
    X_test, y_test = own["test"]
    held = known.scores(X_test)
    familiar = held >= known.threshold
    right = clf.head_.classes_[clf.head_.predict_proba(X_test).argmax(axis=1)] == y_test
    row = {"n_train": int(len(X)), "n_stored": int(len(known.embeddings)), "k": known.k,
           "threshold": round(known.threshold, 4), "n_heldout": int(len(X_test)),
           "heldout_flagged": round(float(np.mean(~familiar)), 4),
           "accuracy_flagged": round(float(right[~familiar].mean()), 4) if (~familiar).any() else None,
           "accuracy_familiar": round(float(right[familiar].mean()), 4) if familiar.any() else None,
           "ood": {}}
    for other, od in data.items():
        if other == name or od["backbone"] != own["backbone"]:
            continue
        away = known.scores(od["test"][0])
        auroc = roc_auc_score(np.r_[np.ones(len(held)), np.zeros(len(away))], np.r_[held, away])
        row["ood"][other] = {"n": int(len(away)), "flagged": round(float(np.mean(away < known.threshold)), 4),
                             "auroc": round(float(auroc), 4)}
    print(name, row, file=sys.stderr)
    return row


def main() -> None:
    data = sets()
    names = [a for a in sys.argv[1:] if a in TASKS] or list(TASKS)
    write_result("familiarity", {"k": 5, "quantile": 0.05, "results": {name: score(name, data) for name in names}})


if __name__ == "__main__":
    main()
