"""What copies in a training folder do to cross-validation, with and without grouping them.

1. Noise: 60 random-noise images with random labels (2 classes), each saved twice under another
   name; chance is 50%. The head search (`search_heads`, as `handful train --head auto` runs it)
   on EfficientNet-Lite0 embeddings, with the copies split freely across folds (as before
   session 13) and kept together (`duplicate_groups`).
2. flowers5 train (3,005 images, 4 byte-identical pairs, 2 of them under two labels): the same
   search both ways, and the number of copies found.
Run: `.venv/bin/python benchmarks/duplicates_cv.py` (flowers5 embeddings come from the cache).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from common import datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.data import scan_folder, scan_splits
from handful.data.duplicates import copies_summary, duplicate_groups
from handful.select.search import search_heads


def noise_twins(root: Path, n: int = 60, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(["a", "b"], n // 2))
    for i, label in enumerate(labels):
        image = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
        for copy in ("x", "y"):
            (root / label).mkdir(parents=True, exist_ok=True)
            image.save(root / label / f"{i:03d}{copy}.png")
    return root


def both_ways(examples, backbone: str = "efficientnet_lite0") -> dict:
    X, examples = Classifier(backbone).embed_examples(examples)
    y = np.asarray(examples.labels, dtype=object)
    groups = duplicate_groups(examples)
    out = {"n": len(y), "copies": copies_summary(examples, groups)}
    for name, g in (("copies split freely", None), ("copies kept together", groups)):
        start = time.perf_counter()
        board = search_heads(X, y, groups=g, backbone=backbone)
        out[name] = {"best": board.best["label"], "cv": round(board.best["mean"], 4),
                     "scheme": board.scheme, "seconds": round(time.perf_counter() - start, 1)}
    return out


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["noise, each image twice"] = both_ways(scan_folder(noise_twins(Path(tmp))))
    flowers = require(datasets_dir() / "flowers5_128px")
    results["flowers5 train"] = both_ways(scan_splits(flowers)["train"])
    for name, r in results.items():
        free, kept = r["copies split freely"], r["copies kept together"]
        print(f"{name:26s} n={r['n']:5d} copies={r['copies']}  CV best {free['cv']:.1%} -> {kept['cv']:.1%}")
    write_result("duplicates_cv", results)


if __name__ == "__main__":
    main()
