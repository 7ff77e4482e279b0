"""K-shot accuracy with and without the zero-shot prior, same draws, one run.

Images: hymenoptera train -> val (classes ImageNet knows: "ant", "bee") and flowers5
train -> test (mostly classes ImageNet lacks). Text: UCI sentiment, Yelp -> Amazon, labels
0/1 named "negative,positive" with the template "this review is {}".
Run: `.venv/bin/python benchmarks/prior_kshot.py` (writes results/prior_kshot.json).
"""

from __future__ import annotations

import sys

from common import datasets_dir, require, write_result
from common import kshot as common_kshot

SETS = {
    "hymenoptera": ("hymenoptera/train", "hymenoptera/val", []),
    "flowers5": ("flowers5_128px/train", "flowers5_128px/test", []),
    "yelp->amazon (text)": ("text/uci_sentiment_sentences/yelp_labelled.tsv",
                            "text/uci_sentiment_sentences/amazon_cells_labelled.tsv",
                            ["--classes", "negative,positive", "--template", "this review is {}"]),
}



def kshot(pool, test, flags: list[str]) -> tuple[dict, list[str], float]:
    return common_kshot(pool, test, "1,5,20", flags)


def main() -> None:
    data = datasets_dir()
    results = {}
    for name, (pool, test, prior_flags) in SETS.items():
        results[name] = {}
        for label, flags in {"without prior": [], "with --zero-shot-prior":
                             ["--zero-shot-prior", *prior_flags]}.items():
            out, argv, seconds = kshot(require(data / pool), require(data / test), flags)
            row = {"command": "handful " + " ".join(argv).replace(str(data) + "/", "../shared/datasets/"),
                   "seconds": round(seconds, 1),
                   "shots": {k: {"mean": round(v["mean"], 4), "std": round(v["std"], 4),
                                 "ci95": [round(c, 4) for c in v["ci95"]]}
                             for k, v in out["shots"].items()}}
            if "zero_shot_prior" in out:
                for k, v in out["shots"].items():
                    row["shots"][k]["prior_weights"] = v["prior_weights"]
            results[name][label] = row
            summary = {k: f"{100 * v['mean']:.1f}" for k, v in out["shots"].items()}
            print(f"{name:22s} {label:24s} {summary} ({seconds:.0f} s)", file=sys.stderr)
    write_result("prior_kshot", {"repeats": 10, "seed": 0, "backbone": "auto (modality default)",
                                 "results": results})


if __name__ == "__main__":
    main()
