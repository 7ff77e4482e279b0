"""Text embedding throughput (sentences/s): without cache (cold) and from the cache (warm).

Sentences: the first 2,000 of SST-2 dev.tsv (short movie-review phrases, ~100 characters).
Bare = one `backbone.embed(all 2,000)` call (no handful plumbing; the encoder batches itself);
no cache = `FeatureCache(enabled=False)` (`--no-cache`); cold = a fresh, empty cache directory
(every sentence goes through the encoder and an entry is written); warm = the same call again
(every sentence read back from the cache). The same 2,000 sentences in every mode.
Run: `.venv/bin/python benchmarks/text_embed_speed.py`.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from common import datasets_dir, require, write_result
from handful.backbones import create_backbone
from handful.cache import FeatureCache
from handful.data import read_table

N = 2000


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def measure(name: str, texts: list[str]) -> dict:
    backbone, load_seconds = timed(lambda: create_backbone(name))
    backbone.embed(texts[:32])  # warm-up: first-call allocations are not throughput
    _, bare_s = timed(lambda: backbone.embed(texts))  # one call: the encoder batches itself
    _, off_s = timed(lambda: FeatureCache(enabled=False).get_or_compute(backbone, texts, 64))
    with tempfile.TemporaryDirectory() as tmp:
        cache = FeatureCache(tmp)
        (cold, failures), cold_s = timed(lambda: cache.get_or_compute(backbone, texts, 64))
        (warm, _), warm_s = timed(lambda: cache.get_or_compute(backbone, texts, 64))
    assert not failures and np.array_equal(cold, warm)
    return {"n": len(texts), "load_seconds": round(load_seconds, 2),
            "bare_encoder_sentences_per_s": round(len(texts) / bare_s, 1),
            "no_cache_sentences_per_s": round(len(texts) / off_s, 1),
            "cold_sentences_per_s": round(len(texts) / cold_s, 1),
            "warm_sentences_per_s": round(len(texts) / warm_s, 1),
            "cold_vs_bare": round(bare_s / cold_s, 2),
            "speedup_warm_vs_cold": round(cold_s / warm_s, 1)}


def main() -> None:
    table = read_table(require(datasets_dir() / "text/sst2/dev.tsv"))
    texts = list(table.items[:N])
    results = {}
    for name in ("minilm", "e5_small"):
        results[name] = measure(name, texts)
        print(name, results[name], flush=True)
    write_result("text_embed_speed", {"data": f"first {N} sentences of sst2/dev.tsv, mean "
                                      f"{np.mean([len(t) for t in texts]):.0f} characters",
                                      "results": results})


if __name__ == "__main__":
    main()
