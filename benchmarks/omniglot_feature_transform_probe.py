"""Do simple embedding transforms help the nearest prototype? Scored on the VALIDATION characters.

SimpleShot (Wang et al. 2019) finds that subtracting the mean embedding of the training classes and
L2-normalizing ("CL2N") lifts 1-shot nearest-prototype accuracy; PT-MAP (Hu et al. 2021) takes the
square root of non-negative (post-ReLU) features first ("power transform"). Both are inference
settings: no retraining. This probe loads the stage-`train` model of `omniglot_fewshot.py`
(benchmarks/out/omniglot/protonet, 3 px test-time shifts), embeds its training characters (for the
base mean) and its 19 validation characters, and scores 5-way and 19-way 1-shot episodes (15
queries, 1,000 episodes each, the same episodes for every transform), inductive and transductive.

Run: `.venv/bin/python benchmarks/omniglot_feature_transform_probe.py` → results/omniglot_feature_transform_probe.json
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
from handful.heads.base import l2_normalize as l2
from handful.heads.base import squared_distances

MODEL = Path(__file__).resolve().parent / "out" / "omniglot" / "protonet"
N_EPISODES = 1000


def transforms(base: np.ndarray) -> dict:
    """name -> f(embeddings, support rows) -> transformed embeddings."""
    mean, root_mean = base.mean(0), np.sqrt(np.maximum(base, 0)).mean(0)
    return {
        "none": lambda x, s: x,
        "l2": lambda x, s: l2(x),
        "center_base_l2 (CL2N)": lambda x, s: l2(x - mean),
        "center_base": lambda x, s: x - mean,
        "sqrt_l2": lambda x, s: l2(np.sqrt(np.maximum(x, 0))),
        "sqrt_center_base_l2": lambda x, s: l2(np.sqrt(np.maximum(x, 0)) - root_mean),
        "center_support_l2": lambda x, s: l2(x - x[s].mean(0)),
    }


def accuracy(emb: np.ndarray, episodes: list, transform, transductive: bool) -> tuple[float, float]:
    accuracies = []
    for ep in episodes:
        rows = np.concatenate([ep.support, ep.query])
        z = transform(emb[rows], np.arange(len(ep.support)))
        support, query = z[: len(ep.support)], z[len(ep.support):]
        if transductive:
            pred = refined_logits(support, np.ones(len(support)), query).argmax(1)
        else:
            pred = squared_distances(query, support).argmin(1)
        accuracies.append(float(np.mean(pred == ep.query_y)))
    mean, _, (lo, hi) = mean_ci(accuracies)
    return round(100 * mean, 2), round(50 * (hi - lo), 2)


def embedded_splits(model: Path) -> tuple[FewShotEncoder, dict]:
    """The model's encoder and ``{split: (float64 embeddings, Examples)}`` of its training and
    validation characters (the background sets, test-time shifts as saved)."""
    torch.set_num_threads(2)
    root = require(datasets_dir() / "omniglot")
    encoder = FewShotEncoder.from_model(require(model))
    examples, _ = scan_many([root / "images_background_small1", root / "images_background_small2"], nested=True)
    embedded = {}
    for split in ("train_classes", "val_classes"):
        arrays, used = load_arrays(encoder.backbone, restrict(examples, encoder.meta[split]))
        embedded[split] = (encoder.embed_arrays(arrays).astype(np.float64), used)
        print(split, len(used), flush=True)
    return encoder, embedded


def main() -> None:
    encoder, embedded = embedded_splits(MODEL)
    base = embedded["train_classes"][0]
    emb, used = embedded["val_classes"]
    print("min feature", float(emb.min()), flush=True)
    rows = []
    for ways in (5, 19):
        episodes = list(EpisodeSampler(used.labels, ways, 1, 15).episodes(N_EPISODES, seed=1))
        for name, transform in transforms(base).items():
            for transductive in (False, True):
                acc, half = accuracy(emb, episodes, transform, transductive)
                rows.append({"ways": ways, "transform": name, "transductive": transductive,
                             "accuracy": acc, "ci95": half})
                print(rows[-1], flush=True)
    write_result("omniglot_feature_transform_probe", {
        "model": "benchmarks/out/omniglot/protonet", "split": "validation characters",
        "classes": len(set(used.labels)), "images": len(used), "shots": 1, "queries": 15,
        "episodes": N_EPISODES, "tta_shift": encoder.tta_shift, "rows": rows})


if __name__ == "__main__":
    main()
