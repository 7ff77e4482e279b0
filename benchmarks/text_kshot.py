"""K-shot accuracy on SST-2 and the UCI sentiment sentences: `handful kshot --shots 8,16,64`.

Each configuration is the exact `handful kshot` command a user types; the naive baseline is
MiniLM + standardized logistic regression (`--head logistic`), measured in the same run.

Pools: draws of K per class from a uniformly random subset of a pool are draws from the pool,
so the 60,614-sentence SST-2 train file is subsampled to 2,000 random sentences (seed 0) to
keep the embedding cost down; the test set is the full 872-sentence test.tsv (= GLUE dev).
UCI: the 3,000 sentences of amazon + imdb + yelp, split at random (seed 0) into a 2,000 pool
and a 1,000 test set. Split files go to benchmarks/out/ (ignored by git).

The defaults are chosen with `--dev` (pool -> 872 random sentences of sst2/dev.tsv, 5 draws,
results/text_kshot_dev.json), never on the test files.

Run: `.venv/bin/python benchmarks/text_kshot.py [--dev] [CONFIG-NAME-SUBSTRING ...]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from common import datasets_dir, require, write_result
from common import kshot as common_kshot
from handful.data import read_table

OUT = Path(__file__).resolve().parent / "out"
PRIOR = ["--zero-shot-prior", "--classes", "negative,positive", "--template", "this review is {}"]
CONFIGS = {
    "naive: minilm + logistic": ["--backbone", "minilm", "--head", "logistic"],
    "minilm + zero-shot prior": ["--backbone", "minilm", *PRIOR],
    "minilm + SetFit (--finetune)": ["--backbone", "minilm", "--finetune"],
    "e5_small + logistic": ["--backbone", "e5_small", "--head", "logistic"],
    "e5_small + zero-shot prior": ["--backbone", "e5_small", *PRIOR],
    "minilm+e5_small + zero-shot prior": ["--backbone", "minilm+e5_small", *PRIOR],
}


def write_tsv(path: Path, texts, labels) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["sentence\tlabel"] + [f"{t}\t{y}" for t, y in zip(texts, labels)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sst2_files(data: Path) -> tuple[Path, Path]:
    train = read_table(require(data / "text/sst2/train.tsv"))
    idx = np.sort(np.random.default_rng(0).choice(len(train), 2000, replace=False))
    pool = write_tsv(OUT / "sst2_pool2000.tsv", [train.items[i] for i in idx],
                     [train.labels[i] for i in idx])
    return pool, require(data / "text/sst2/test.tsv")


def uci_files(data: Path) -> tuple[Path, Path]:
    texts, labels = [], []
    for site in ("amazon_cells", "imdb", "yelp"):
        table = read_table(require(data / f"text/uci_sentiment_sentences/{site}_labelled.tsv"))
        texts += table.items
        labels += table.labels
    order = np.random.default_rng(0).permutation(len(texts))
    pool, test = order[:2000], order[2000:]
    return (write_tsv(OUT / "uci_pool2000.tsv", [texts[i] for i in pool], [labels[i] for i in pool]),
            write_tsv(OUT / "uci_test1000.tsv", [texts[i] for i in test], [labels[i] for i in test]))



def summarize(out: dict) -> dict:
    shots = {}
    for k, v in out["shots"].items():
        shots[k] = {"mean": round(v["mean"], 4), "std": round(v["std"], 4),
                    "ci95": [round(c, 4) for c in v["ci95"]]}
        for key in ("finetune_seconds", "draw_seconds", "n_pairs", "prior_weights"):
            if key in v:
                values = [x for x in v[key] if x == x]  # drop NaN
                shots[k][f"{key}_mean"] = round(float(np.mean(values)), 3) if values else None
    return shots


def sst2_dev_file(data: Path) -> Path:
    """872 random sentences of sst2/dev.tsv (seed 1): where the defaults are chosen."""
    dev = read_table(require(data / "text/sst2/dev.tsv"))
    idx = np.sort(np.random.default_rng(1).choice(len(dev), 872, replace=False))
    return write_tsv(OUT / "sst2_dev872.tsv", [dev.items[i] for i in idx],
                     [dev.labels[i] for i in idx])


def main(args: list[str]) -> None:
    """``--dev``: score on SST-2 dev sentences (5 draws) to choose the defaults; otherwise the
    reported run on the test files (10 draws). Other arguments pick configs by substring."""
    dev = "--dev" in args
    only = [a for a in args if a != "--dev"]
    data = datasets_dir()
    if dev:
        datasets = {"sst2_dev": (sst2_files(data)[0], sst2_dev_file(data))}
    else:
        datasets = {"sst2": sst2_files(data), "uci_sentences": uci_files(data)}
    repeats = 5 if dev else 10
    name = "text_kshot_dev" if dev else "text_kshot"
    configs = {k: v for k, v in CONFIGS.items() if not only or any(o in k for o in only)}
    path = Path(__file__).resolve().parent / "results" / f"{name}.json"
    results = json.loads(path.read_text())["results"] if path.exists() and only else {}
    pools = {"sst2": "2,000 random sentences of sst2/train.tsv -> sst2/test.tsv (872)",
             "sst2_dev": "2,000 random sentences of sst2/train.tsv -> 872 random sentences of "
                         "sst2/dev.tsv (seed 1); used to choose the defaults, not test.tsv",
             "uci_sentences": "amazon+imdb+yelp (3,000), random 2,000 pool / 1,000 test"}
    for dataset, (pool, test) in datasets.items():
        results.setdefault(dataset, {})
        for label, flags in configs.items():
            out, argv, seconds = common_kshot(pool, test, "8,16,64", flags, repeats)
            command = "handful " + " ".join(argv)
            command = command.replace(str(data) + "/", "../shared/datasets/").replace(
                str(OUT) + "/", "benchmarks/out/")
            results[dataset][label] = {"command": command, "seconds": round(seconds, 1),
                                       "shots": summarize(out)}
            summary = {k: f"{100 * v['mean']:.1f}" for k, v in out["shots"].items()}
            print(f"{dataset:14s} {label:36s} {summary} ({seconds:.0f} s)", file=sys.stderr,
                  flush=True)
            write_result(name, {"repeats": repeats, "seed": 0, "results": results,
                                "pools": {k: pools[k] for k in results}})


if __name__ == "__main__":
    main(sys.argv[1:])
