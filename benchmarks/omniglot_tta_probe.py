"""How many pixels of test-time shift? Chosen on the VALIDATION characters, never the held-out ones.

Loads the stage-`train` model of `omniglot_fewshot.py` (benchmarks/out/omniglot/protonet), embeds
its 19 validation characters (the ones early stopping watched; neither the held-out alphabets nor
Lake's runs) with `tta_shift` 0..4 and scores 1,000 5-way and 19-way 1-shot episodes (15 queries),
the same episodes for every shift. The default saved with a Conv-4 model
(`handful.fewshot.training.DEFAULT_TTA_SHIFT`) was picked from this table.

Run: `.venv/bin/python benchmarks/omniglot_tta_probe.py` → results/omniglot_tta_probe.json
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from common import datasets_dir, require, write_result
from handful.fewshot.encoder import FewShotEncoder
from handful.fewshot.episodes import EpisodeSampler, euclidean_scorer, evaluate_episodes
from handful.fewshot.sources import load_arrays, restrict, scan_many

MODEL = Path(__file__).resolve().parent / "out" / "omniglot" / "protonet"
SHIFTS = (0, 1, 2, 3, 4)


def main() -> None:
    torch.set_num_threads(2)
    root = require(datasets_dir() / "omniglot")
    encoder = FewShotEncoder.from_model(require(MODEL))
    examples, _ = scan_many([root / "images_background_small1", root / "images_background_small2"],
                            nested=True)
    examples = restrict(examples, encoder.meta["val_classes"])
    arrays, used = load_arrays(encoder.backbone, examples)
    result = {"model": str(MODEL), "classes": len(set(used.labels)), "images": len(used),
              "episodes": 1000, "queries": 15}
    for shift in SHIFTS:
        encoder.set_tta_shift(shift)
        started = time.perf_counter()
        embeddings = encoder.embed_arrays(arrays)
        row = {"views": (2 * shift + 1) ** 2, "embed_seconds": round(time.perf_counter() - started, 2),
               "images_per_second": round(len(arrays) / (time.perf_counter() - started), 1)}
        for ways in (5, 19):
            sampler = EpisodeSampler(used.labels, ways, 1, 15)
            acc = evaluate_episodes(embeddings, sampler, 1000, euclidean_scorer, seed=1)
            row[f"{ways}-way 1-shot"] = round(acc["accuracy"], 4)
            row[f"{ways}-way ci95_halfwidth"] = round(acc["ci95_halfwidth"], 4)
        print(shift, row, flush=True)
        result[f"{shift} px"] = row
    write_result("omniglot_tta_probe", result)


if __name__ == "__main__":
    main()
