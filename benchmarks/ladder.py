"""The transfer-learning ladder on real data: scratch -> scratch+aug -> features -> features+aug
-> fine-tune, each trained on the same images and scored on the same held-out split.

Hymenoptera train (245) -> val (153); flowers5 train capped at 100 per class (500 of 3,035, to
keep the CPU time reasonable) -> test (641). Defaults of `handful ladder`; no embedding cache,
so every rung pays for its own decoding and forward passes. The trained networks (scratch,
fine-tune) pick their epoch count on 15% of the training images, then train again on all of
them (refit), so every rung's final model learns from the same images.

Run: `flock /tmp/handful-cpu.lock .venv/bin/python benchmarks/ladder.py [hymenoptera flowers5]`
(the same as `handful ladder DATA/train --test DATA/val --max-per-class N`).
"""

from __future__ import annotations

import sys
import time

from common import RESULTS, datasets_dir, require, write_result
from handful.data import scan_splits
from handful.finetune.curves import plot_ladder
from handful.finetune.ladder import LadderConfig, cap_per_class, run_ladder

DATASETS = {  # name -> (folder, test split, max training images per class)
    "hymenoptera": ("hymenoptera", "val", None),
    "flowers5": ("flowers5_128px", "test", 100),
}


def ladder(name: str) -> dict:
    folder, test_split, cap = DATASETS[name]
    splits = scan_splits(require(datasets_dir() / folder))
    train = cap_per_class(splits["train"], cap, seed=0)
    test = splits[test_split]
    print(f"{name}: {len(train)} train -> {len(test)} {test_split}", flush=True)

    def show(row: dict) -> None:
        print(f"  {row['rung']:<13} {100 * row['accuracy']:5.1f}%  train {row['train_seconds']:6.1f} s"
              f"  {row['details']}", flush=True)

    started = time.perf_counter()
    result = run_ladder(train, test, LadderConfig(), on_rung=show)
    result.update(dataset=name, test_split=test_split, max_per_class=cap,
                  total_seconds=round(time.perf_counter() - started, 1))
    plot_ladder(result["rows"], RESULTS / f"ladder_{name}.png", title=f"Ladder: {name}")
    return result


def main(names: list[str]) -> None:
    for name in names or list(DATASETS):
        write_result(f"ladder_{name}", ladder(name))


if __name__ == "__main__":
    main(sys.argv[1:])
