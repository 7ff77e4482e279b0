"""Why the zero-shot prior does not help K=1 on flowers5, and what was tried (scored on val).

1. Zero-shot variants on flowers5 val with efficientnet_lite0: ConSE as shipped (top T=10
   ImageNet labels, MiniLM), the same with scores centered over the images, and "reverse
   ConSE" (each class name's k nearest ImageNet label names; log-sum-exp of their probabilities).
2. K=1 prototype head + prior on flowers5 val and hymenoptera val, 40 draws each: no prior,
   the shipped weight rule, a maximum-likelihood temperature on the K labeled examples, and the
   best fixed weight in hindsight (an oracle, not usable), with and without centering the
   zero-shot scores on the labeled examples.
Nothing here touches flowers5 test. Run: `.venv/bin/python benchmarks/prior_flowers_probe.py`.
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.optimize import minimize_scalar

from common import datasets_dir, require, write_result
from handful.backbones import create_backbone
from handful.cache import FeatureCache
from handful.data.folder import scan_folder
from handful.heads import create_head
from handful.zeroshot.labels import imagenet_label_texts
from handful.zeroshot.prior import TEMPERATURE, weight_without_cv
from handful.zeroshot.scorer import build_zero_shot_map, embed_texts, imagenet_head
from handful.zeroshot.semantic import softmax

DRAWS = 40
ORACLE_GRID = (0.0, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0)


def accuracy(scores: np.ndarray, classes: list[str], y: np.ndarray) -> float:
    return float((np.asarray(classes)[scores.argmax(1)] == y).mean())


def reverse_conse(X, backbone, classes, cache, k: int = 10) -> np.ndarray:
    W, b = imagenet_head(backbone)
    log_p = np.log(softmax(X @ W.T + b))
    labels = embed_texts(imagenet_label_texts(), "minilm", cache)
    nearest = np.argsort(-(embed_texts(classes, "minilm", cache) @ labels.T), axis=1)[:, :k]
    return np.stack([np.logaddexp.reduce(log_p[:, t], axis=1) for t in nearest], axis=1)


def mle_weight(scores: np.ndarray, y_idx: np.ndarray, cap: float = 20.0) -> float:
    def nll(w):
        p = softmax(w * scores / TEMPERATURE)
        return -np.log(p[np.arange(len(y_idx)), y_idx] + 1e-12).mean()

    return float(minimize_scalar(nll, bounds=(0, cap), method="bounded").x)


def load(folder: str, split: str, backbone, cache):
    ex = scan_folder(require(datasets_dir() / folder / split))
    X, _ = cache.get_or_compute(backbone, list(ex.items))
    return X, np.asarray(ex.labels)


def zero_shot_variants(backbone, cache) -> dict:
    X, y = load("flowers5_128px", "val", backbone, cache)
    classes = sorted(set(y))
    conse = build_zero_shot_map(backbone, classes, None, "minilm", cache, 10).scores(X)
    rev = reverse_conse(X, backbone, classes, cache)
    return {"ConSE (shipped)": accuracy(conse, classes, y),
            "ConSE, centered over the images": accuracy(conse - conse.mean(0), classes, y),
            "reverse ConSE": accuracy(rev, classes, y),
            "reverse ConSE, centered over the images": accuracy(rev - rev.mean(0), classes, y)}


def prior_rules(folder: str, names: dict | None, backbone, cache) -> dict:
    X_tr, y_tr = load(folder, "train", backbone, cache)
    X_te, y_te = load(folder, "val", backbone, cache)
    classes = sorted(set(y_tr))
    zs = build_zero_shot_map(backbone, [(names or {}).get(c, c) for c in classes], None, None, cache, 10)
    S_tr, S_te = zs.scores(X_tr), zs.scores(X_te)
    y_idx = np.searchsorted(classes, y_tr)
    out = {}
    for center in (False, True):
        rng = np.random.default_rng(0)
        acc = {"no prior": [], "shipped rule": [], "ML temperature": []}
        acc |= {f"fixed {w}": [] for w in ORACLE_GRID}
        for _ in range(DRAWS):
            idx = np.concatenate([rng.choice(np.flatnonzero(y_tr == c), 1, replace=False) for c in classes])
            log_head = np.log(np.clip(create_head("prototype").fit(X_tr[idx], y_tr[idx]).predict_proba(X_te),
                                      1e-12, None))
            mu = S_tr[idx].mean(0) if center else 0.0
            labeled, test = S_tr[idx] - mu, S_te - mu
            weights = {"no prior": 0.0, "shipped rule": weight_without_cv(labeled, y_idx[idx]),
                       "ML temperature": mle_weight(labeled, y_idx[idx])}
            weights |= {f"fixed {w}": w for w in ORACLE_GRID}
            for rule, w in weights.items():
                acc[rule].append(accuracy(log_head + w * test / TEMPERATURE, classes, y_te))
        means = {k: round(float(np.mean(v)), 4) for k, v in acc.items()}
        best = max((k for k in means if k.startswith("fixed")), key=means.get)
        out["centered" if center else "raw"] = {
            **{k: means[k] for k in ("no prior", "shipped rule", "ML temperature")},
            "oracle (best fixed weight in hindsight)": {"weight": best, "accuracy": means[best]}}
    return out


def main() -> None:
    cache = FeatureCache()
    backbone = create_backbone("efficientnet_lite0")
    result = {"zero_shot_flowers5_val": zero_shot_variants(backbone, cache),
              "k1_prior_val": {"flowers5": prior_rules("flowers5_128px", None, backbone, cache),
                               "hymenoptera": prior_rules("hymenoptera", {"ants": "ant", "bees": "bee"},
                                                          backbone, cache)}}
    print(result, file=sys.stderr)
    write_result("prior_flowers_probe", {"backbone": "efficientnet_lite0", "draws": DRAWS, **result})


if __name__ == "__main__":
    main()
