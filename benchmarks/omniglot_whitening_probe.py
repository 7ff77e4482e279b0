"""Does whitening the within-class spread help the nearest prototype? Scored on the VALIDATION characters.

A 1-shot prototype is one drawing, so the distance to it mixes the character's identity with how
this drawer drew it. The training characters show how drawings of one character vary: their
within-class covariance S_w (embeddings minus their character's mean, upright drawings). Euclidean
distance after x -> (S_w + a * mean(diag S_w) * I)^(-1/2) x discounts the directions in which one
character's drawings differ (LDA-like; a: shrinkage toward plain Euclidean). An inference setting,
no retraining. The `pyramid_full` model (3 px shifts) embeds its 173 training characters and its 19
validation characters; 5-way and 19-way 1-shot, 15 queries, 1,000 episodes, the same episodes for
every row, inductive and transductive.

Run: `.venv/bin/python benchmarks/omniglot_whitening_probe.py` → results/omniglot_whitening_probe.json
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from common import datasets_dir, require, write_result
from handful.evaluate import mean_ci
from handful.fewshot.encoder import FewShotEncoder
from handful.fewshot.episodes import EpisodeSampler
from handful.fewshot.sources import load_arrays, restrict, scan_many
from handful.fewshot.transductive import refined_logits
from handful.heads.base import squared_distances

MODEL = Path(__file__).resolve().parent / "out" / "omniglot" / "protonet_pyramid_full"
N_EPISODES = 1000
SHRINKAGE = (0.03, 0.1, 0.3, 1.0, 3.0)


def within_class_covariance(emb: np.ndarray, labels: list[str]) -> np.ndarray:
    labels = np.asarray(labels)
    centered = np.concatenate([emb[labels == c] - emb[labels == c].mean(0) for c in np.unique(labels)])
    return centered.T @ centered / (len(centered) - len(np.unique(labels)))


def whitener(cov: np.ndarray, shrinkage: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov + shrinkage * np.mean(np.diag(cov)) * np.eye(len(cov)))
    return vectors / np.sqrt(values)  # x @ W has identity (shrunk) within-class covariance


def accuracy(emb: np.ndarray, episodes: list, transductive: bool) -> tuple[float, float]:
    accuracies = []
    for ep in episodes:
        support, query = emb[ep.support], emb[ep.query]
        if transductive:
            pred = refined_logits(support, np.ones(len(support)), query).argmax(1)
        else:
            pred = squared_distances(query, support).argmin(1)
        accuracies.append(float(np.mean(pred == ep.query_y)))
    mean, _, (lo, hi) = mean_ci(accuracies)
    return round(100 * mean, 2), round(50 * (hi - lo), 2)


def main() -> None:
    torch.set_num_threads(2)
    root = require(datasets_dir() / "omniglot")
    encoder = FewShotEncoder.from_model(require(MODEL))
    examples, _ = scan_many([root / "images_background_small1", root / "images_background_small2"], nested=True)
    embedded = {}
    for split in ("train_classes", "val_classes"):
        arrays, used = load_arrays(encoder.backbone, restrict(examples, encoder.meta[split]))
        embedded[split] = (encoder.embed_arrays(arrays).astype(np.float64), list(used.labels))
        print(split, len(used), flush=True)
    cov = within_class_covariance(*embedded["train_classes"])
    emb, labels = embedded["val_classes"]
    transforms = {"none": emb, **{f"whitened, shrinkage {a:g}": emb @ whitener(cov, a) for a in SHRINKAGE}}
    rows = []
    for ways in (5, 19):
        episodes = list(EpisodeSampler(labels, ways, 1, 15).episodes(N_EPISODES, seed=1))
        for name, z in transforms.items():
            for transductive in (False, True):
                acc, half = accuracy(z, episodes, transductive)
                rows.append({"ways": ways, "transform": name, "transductive": transductive,
                             "accuracy": acc, "ci95": half})
                print(rows[-1], flush=True)
    write_result("omniglot_whitening_probe", {
        "model": "benchmarks/out/omniglot/protonet_pyramid_full", "split": "validation characters",
        "classes": len(set(labels)), "images": len(labels), "shots": 1, "queries": 15,
        "episodes": N_EPISODES, "tta_shift": encoder.tta_shift, "rows": rows})


if __name__ == "__main__":
    main()
