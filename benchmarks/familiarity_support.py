"""Familiarity from a support set: how often does it flag inputs, by support-set size?

``Classifier.fit_support`` keeps the support set's embeddings as the reference for "unlike the
training examples" (``evaluate/familiarity.py``). Support sets of K per class are drawn (40 draws per
K); ``fit_familiarity`` on them (with no minimum) flags queries of the same kind (false alarms; the
threshold promises about 5%) and of another kind (caught). Lite0 (plain backbone): hymenoptera
train -> its val vs flowers5 test; flowers5 train -> its test vs hymenoptera val. With a ProtoNet
model (argument 1, e.g. from `handful protonet train` on Omniglot; its held-out characters in
``images_background_small1``): 5-way sets; same kind: the other drawings of those characters; other
kind: hymenoptera val + flowers5 test. Run:
`HF_HUB_OFFLINE=1 HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/familiarity_support.py [PROTONET_MODEL]`
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

import handful
from common import datasets_dir, write_result
from handful.classifier import Classifier
from handful.data import scan_folder
from handful.evaluate.familiarity import fit_familiarity

DRAWS = 40


def embedded(clf, folder: Path, nested: bool = False) -> tuple[np.ndarray, np.ndarray]:
    X, examples = clf.embed_examples(scan_folder(folder, nested=nested))
    return X, np.asarray(examples.labels, dtype=object)


def flagged(support: np.ndarray, labels: np.ndarray, same: np.ndarray, other: np.ndarray):
    """(share of ``same`` flagged, share of ``other`` flagged); None below 3 examples (no neighbours)."""
    known = fit_familiarity(support, labels)
    if known is None:
        return None
    return float(np.mean(~known.familiar(same))), float(np.mean(~known.familiar(other)))


ROWS: list[dict] = []  # every summary line, for results/familiarity_support.json


def summary(name: str, k: int, n: int, shares: list) -> None:
    shares = [s for s in shares if s is not None]
    if not shares:
        print(f"{name} {k}/class (n={n}): not judged (fewer than 3)")
        ROWS.append({"set": name, "per_class": k, "n": n, "judged": False})
        return
    a = np.array(shares)
    ROWS.append({"set": name, "per_class": k, "n": n, "judged": True, "draws": len(a),
                 **{f"{kind}_flagged": {"mean": float(a[:, col].mean()), "p10": float(np.quantile(a[:, col], .1)),
                                        "p90": float(np.quantile(a[:, col], .9))}
                    for col, kind in enumerate(("same_kind", "other_kind"))}})

    def q(col: int) -> str:
        return f"{a[:, col].mean():.3f} [{np.quantile(a[:, col], .1):.2f}-{np.quantile(a[:, col], .9):.2f}]"
    print(f"{name} {k}/class (n={n}): same kind flagged {q(0)}, other kind flagged {q(1)}  (mean [p10-p90])")


def lite0(data: Path) -> None:
    clf = Classifier(backbone="efficientnet_lite0")
    sets = {"hymenoptera": ("hymenoptera/train", "hymenoptera/val", "flowers5_128px/test",
                            (1, 2, 3, 5, 8, 10, 15, 20, 30)),
            "flowers5": ("flowers5_128px/train", "flowers5_128px/test", "hymenoptera/val",
                         (1, 2, 3, 4, 6, 8, 12, 20, 40))}
    for name, (pool, same_dir, other_dir, ks) in sets.items():
        (X, y), (same, _), (other, _) = (embedded(clf, data / d) for d in (pool, same_dir, other_dir))
        rng = np.random.default_rng(1)
        for k in ks:
            draws = [np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in np.unique(y)])
                     for _ in range(DRAWS)]
            summary(name, k, len(draws[0]), [flagged(X[i], y[i], same, other) for i in draws])


def protonet(data: Path, model: Path, ways: int = 5) -> None:
    clf = handful.load(model)
    held = json.loads((model / "model.json").read_text())["fewshot"]["heldout_classes"]
    X, y = embedded(clf, data / "omniglot/images_background_small1", nested=True)
    X, y = X[np.isin(y, held)], y[np.isin(y, held)]
    other = np.vstack([embedded(clf, data / d)[0] for d in ("hymenoptera/val", "flowers5_128px/test")])
    rng = np.random.default_rng(0)
    for k in (1, 2, 3, 5, 10):
        shares = []
        for _ in range(DRAWS):
            support, queries = [], []
            for c in rng.choice(np.unique(y), ways, replace=False):
                members = rng.permutation(np.flatnonzero(y == c))
                support += list(members[:k])
                queries += list(members[k:])
            shares.append(flagged(X[support], y[support], X[queries], other))
        summary(f"omniglot ProtoNet {ways}-way", k, ways * k, shares)


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    lite0(datasets_dir())
    if len(sys.argv) > 1:
        protonet(datasets_dir(), Path(sys.argv[1]))
    write_result("familiarity_support", {"draws": DRAWS, "protonet_model": sys.argv[1] if len(sys.argv) > 1 else None,
                                         "rows": ROWS})
