"""Do two short meta-training runs, ensembled, beat one long one? Scored on the VALIDATION characters.

An ensemble of two encoders whose training times add up to the 15-minute budget against a single
15-minute encoder. Each model embeds the 19 validation characters (3 px test-time shifts); an
ensemble's logits are the sum of its members' minus squared distances, each at the scale it was
trained with (the concatenated embedding; the mean of the members' log-softmax ranks the classes
the same, as log-softmax only shifts each row). 5-way and 19-way 1-shot, 15 queries, 1,000
episodes, the same episodes for every row.

Run: `.venv/bin/python benchmarks/omniglot_ensemble_probe.py` → results/omniglot_ensemble_probe.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from common import datasets_dir, require, write_result
from handful.evaluate import mean_ci
from handful.fewshot.encoder import FewShotEncoder
from handful.fewshot.episodes import EpisodeSampler
from handful.fewshot.sources import load_arrays, restrict, scan_many
from handful.heads.base import squared_distances

OUT = Path(__file__).resolve().parent / "out" / "omniglot"
N_EPISODES = 1000
SINGLES = ["protonet_pyramid_full", "protonet_pyramid", "protonet_slim", "protonet",
           "width_probe_conv4_omniglot_pyramid", "width_probe_conv4_omniglot_slim",
           "width_probe_conv4_omniglot"]
ENSEMBLES = [["protonet_pyramid", "protonet_slim"],
             ["width_probe_conv4_omniglot_pyramid", "width_probe_conv4_omniglot_slim"],
             ["width_probe_conv4_omniglot_pyramid", "width_probe_conv4_omniglot_slim",
              "width_probe_conv4_omniglot"],
             ["protonet_pyramid_full", "protonet"]]


def accuracy(embs: list[np.ndarray], episodes: list) -> tuple[float, float]:
    accuracies = []
    for ep in episodes:
        distances = sum(squared_distances(emb[ep.query], emb[ep.support]) for emb in embs)
        accuracies.append(float(np.mean(distances.argmin(1) == ep.query_y)))
    mean, _, (lo, hi) = mean_ci(accuracies)
    return round(100 * mean, 2), round(50 * (hi - lo), 2)


def seconds(name: str) -> float:
    return float(json.loads((OUT / name / "model.json").read_text())["fewshot"]["history"]["seconds"])


def main() -> None:
    torch.set_num_threads(2)
    root = require(datasets_dir() / "omniglot")
    examples, _ = scan_many([root / "images_background_small1", root / "images_background_small2"], nested=True)
    embedded, labels, val = {}, None, None
    for name in SINGLES:
        encoder = FewShotEncoder.from_model(require(OUT / name))
        val = val or sorted(encoder.meta["val_classes"])
        assert sorted(encoder.meta["val_classes"]) == val, name
        arrays, used = load_arrays(encoder.backbone, restrict(examples, val))
        assert labels is None or list(used.labels) == labels
        labels = list(used.labels)
        embedded[name] = encoder.embed_arrays(arrays).astype(np.float64)
        print(name, embedded[name].shape, flush=True)
    rows = []
    for ways in (5, 19):
        episodes = list(EpisodeSampler(labels, ways, 1, 15).episodes(N_EPISODES, seed=1))
        for members in [[m] for m in SINGLES] + ENSEMBLES:
            acc, half = accuracy([embedded[m] for m in members], episodes)
            rows.append({"ways": ways, "members": members,
                         "training_seconds": round(sum(seconds(m) for m in members)),
                         "accuracy": acc, "ci95": half})
            print(rows[-1], flush=True)
    write_result("omniglot_ensemble_probe", {
        "split": "validation characters", "classes": len(set(labels)), "images": len(labels),
        "shots": 1, "queries": 15, "episodes": N_EPISODES, "rows": rows})


if __name__ == "__main__":
    main()
