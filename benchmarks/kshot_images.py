"""K-shot accuracy on hymenoptera (train -> val) and flowers5 (train -> test), in one run.

Each configuration is the exact `handful kshot` command a user types; the naive baseline is
EfficientNet-Lite0 + standardized logistic regression (`--head logistic`), measured here in
the same run. Run: `.venv/bin/python benchmarks/kshot_images.py [--extra-flag ...]`.
"""

from __future__ import annotations

import sys

from common import datasets_dir, require, write_result
from common import kshot as common_kshot

CONFIGS = {
    "naive (lite0 + standardized logistic)": ["--head", "logistic"],
    "handful default (--head auto)": [],
}
DATASETS = {"hymenoptera": ("hymenoptera/train", "hymenoptera/val"),
            "flowers5": ("flowers5_128px/train", "flowers5_128px/test")}



def kshot(pool, test, flags: list[str]) -> tuple[dict, list[str], float]:
    return common_kshot(pool, test, "1,5,20", flags)


def main(extra_configs: dict[str, list[str]] | None = None) -> None:
    data = datasets_dir()
    configs = {**CONFIGS, **(extra_configs or {})}
    results = {}
    for name, (pool, test) in DATASETS.items():
        results[name] = {}
        for label, flags in configs.items():
            out, argv, seconds = kshot(require(data / pool), require(data / test), flags)
            results[name][label] = {
                "command": "handful " + " ".join(argv).replace(str(data) + "/", "../shared/datasets/"),
                "seconds": round(seconds, 1),
                "shots": {k: {"mean": round(v["mean"], 4), "std": round(v["std"], 4),
                              "ci95": [round(c, 4) for c in v["ci95"]]} for k, v in out["shots"].items()},
            }
            summary = {k: f"{100 * v['mean']:.1f}" for k, v in out["shots"].items()}
            print(f"{name:12s} {label:45s} {summary} ({seconds:.0f} s)", file=sys.stderr)
    write_result("kshot_images", {"repeats": 10, "seed": 0, "results": results})


if __name__ == "__main__":
    extra = {}
    if "--zero-shot-prior" in sys.argv:
        extra["handful + zero-shot prior"] = ["--zero-shot-prior"]
    main(extra)
