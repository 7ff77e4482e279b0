"""How many pixels of test-time shift? Chosen on the VALIDATION characters, never the held-out ones.

Loads the stage-`train` model of `omniglot_fewshot.py` (benchmarks/out/omniglot/protonet), embeds
its 19 validation characters (the ones early stopping watched; neither the held-out alphabets nor
Lake's runs) with `tta_shift` 0..4 and scores 1,000 5-way and 19-way 1-shot episodes (15 queries),
the same episodes for every shift. The default saved with a Conv-4 model
(`handful.fewshot.training.DEFAULT_TTA_SHIFT`) was picked from this table. Also scored: the 3 px
shifts averaged with the same shifts of the image rotated by ±5° / ±10° or scaled by 0.9 / 1.1
(three times the passes; not adopted when they do not help).

Run: `.venv/bin/python benchmarks/omniglot_tta_probe.py` → results/omniglot_tta_probe.json;
`… omniglot_tta_probe.py protonet_pyramid_full` probes that model of benchmarks/out/omniglot instead
→ results/omniglot_tta_probe_protonet_pyramid_full.json.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from common import datasets_dir, require, write_result
from handful.fewshot.conv4 import mean_over_shifts
from handful.fewshot.encoder import FewShotEncoder
from handful.fewshot.episodes import EpisodeSampler, euclidean_scorer, evaluate_episodes
from handful.fewshot.sources import load_arrays, restrict, scan_many

MODELS = Path(__file__).resolve().parent / "out" / "omniglot"
SHIFTS = (0, 1, 2, 3, 4)


def warped(x: torch.Tensor, degrees: float, scale: float = 1.0) -> torch.Tensor:
    """``x`` (n, 1, H, W) rotated by ``degrees`` and scaled by ``scale`` about the center, 0 fill."""
    t = np.deg2rad(degrees)
    c, s = np.cos(t) / scale, np.sin(t) / scale
    theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=torch.float32).expand(len(x), 2, 3)
    return F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)


def scores(embeddings: np.ndarray, labels) -> dict:
    row = {}
    for ways in (5, 19):
        acc = evaluate_episodes(embeddings, EpisodeSampler(labels, ways, 1, 15), 1000, euclidean_scorer, seed=1)
        row[f"{ways}-way 1-shot"] = round(acc["accuracy"], 4)
        row[f"{ways}-way ci95_halfwidth"] = round(acc["ci95_halfwidth"], 4)
    return row


def warped_rows(encoder: FewShotEncoder, arrays: np.ndarray, labels) -> dict:
    """3 px shifts averaged over warped copies too (equal weight per warp)."""
    module, x = encoder.backbone.tunable_module().eval(), encoder.backbone.to_tensor(list(arrays))

    def embed(xx: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return mean_over_shifts(module, xx, 3).numpy()

    base, rows = embed(x), {}
    for label, (a, b) in {"3 px + rotations ±5°": ((5, 1.0), (-5, 1.0)),
                          "3 px + rotations ±10°": ((10, 1.0), (-10, 1.0)),
                          "3 px + scales 0.9 / 1.1": ((0, 0.9), (0, 1.1))}.items():
        rows[label] = scores((base + embed(warped(x, *a)) + embed(warped(x, *b))) / 3, labels)
        print(label, rows[label], flush=True)
    return rows


def main(label: str = "protonet") -> None:
    torch.set_num_threads(2)
    root = require(datasets_dir() / "omniglot")
    encoder = FewShotEncoder.from_model(require(MODELS / label))
    examples, _ = scan_many([root / "images_background_small1", root / "images_background_small2"],
                            nested=True)
    examples = restrict(examples, encoder.meta["val_classes"])
    arrays, used = load_arrays(encoder.backbone, examples)
    result = {"model": f"benchmarks/out/omniglot/{label}", "classes": len(set(used.labels)), "images": len(used),
              "episodes": 1000, "queries": 15}
    for shift in SHIFTS:
        encoder.set_tta_shift(shift)
        started = time.perf_counter()
        embeddings = encoder.embed_arrays(arrays)
        row = {"views": (2 * shift + 1) ** 2, "embed_seconds": round(time.perf_counter() - started, 2),
               "images_per_second": round(len(arrays) / (time.perf_counter() - started), 1)}
        row.update(scores(embeddings, used.labels))
        print(shift, row, flush=True)
        result[f"{shift} px"] = row
    result.update(warped_rows(encoder, arrays, used.labels))
    write_result("omniglot_tta_probe" + ("" if label == "protonet" else f"_{label}"), result)


if __name__ == "__main__":
    main(*sys.argv[1:2])
