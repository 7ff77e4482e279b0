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

from common import write_result
from handful.fewshot.episodes import EpisodeSampler
from omniglot_feature_transform_probe import accuracy, embedded_splits

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


def main() -> None:
    encoder, embedded = embedded_splits(MODEL)
    embedded = {split: (emb, list(used.labels)) for split, (emb, used) in embedded.items()}
    cov = within_class_covariance(*embedded["train_classes"])
    emb, labels = embedded["val_classes"]
    transforms = {"none": emb, **{f"whitened, shrinkage {a:g}": emb @ whitener(cov, a) for a in SHRINKAGE}}
    rows = []
    for ways in (5, 19):
        episodes = list(EpisodeSampler(labels, ways, 1, 15).episodes(N_EPISODES, seed=1))
        for name, z in transforms.items():
            for transductive in (False, True):
                acc, half = accuracy(z, episodes, lambda x, s: x, transductive)
                rows.append({"ways": ways, "transform": name, "transductive": transductive,
                             "accuracy": acc, "ci95": half})
                print(rows[-1], flush=True)
    write_result("omniglot_whitening_probe", {
        "model": "benchmarks/out/omniglot/protonet_pyramid_full", "split": "validation characters",
        "classes": len(set(labels)), "images": len(labels), "shots": 1, "queries": 15,
        "episodes": N_EPISODES, "tta_shift": encoder.tta_shift, "rows": rows})


if __name__ == "__main__":
    main()
