"""Zero-shot accuracy from class names alone: `handful zeroshot` on hymenoptera val with
classes "ant,bee", and on flowers5 test with its folder names, for each offline backbone.
Run: `.venv/bin/python benchmarks/zeroshot_images.py` (writes results/zeroshot_images.json).
"""

from __future__ import annotations

import sys

from common import datasets_dir, require, run_handful, write_result

SETS = {"hymenoptera val": ("hymenoptera/val", ["--classes", "ant,bee"]),
        "flowers5 test": ("flowers5_128px/test", [])}
BACKBONES = ("efficientnet_lite0", "efficientnet_lite2", "efficientnet_lite0+efficientnet_lite2")



def zeroshot(folder, flags: list[str]) -> tuple[dict, list[str], float]:
    return run_handful(["zeroshot", str(folder), *flags])


def main() -> None:
    data = datasets_dir()
    results = {}
    for name, (folder, flags) in SETS.items():
        results[name] = {}
        for backbone in BACKBONES:
            out, argv, seconds = zeroshot(require(data / folder), [*flags, "--backbone", backbone])
            results[name][backbone] = {
                "command": "handful " + " ".join(argv).replace(str(data) + "/", "../shared/datasets/"),
                "accuracy": round(out["accuracy"], 4),
                "ci95": [round(c, 4) for c in out["accuracy_ci95"]], "n": out["n"],
                "classes": out["classes"], "seconds": round(seconds, 1)}
            print(f"{name:16s} {backbone:40s} {100 * out['accuracy']:.1f}% ({seconds:.0f} s)",
                  file=sys.stderr)
    write_result("zeroshot_images", {"method": "ConSE, T=10, MiniLM label embeddings",
                                     "results": results})


if __name__ == "__main__":
    main()
