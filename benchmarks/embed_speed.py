"""End-to-end embedding throughput: handful's pipeline vs a naive script, in one run.

Naive: PIL open + resize to 224 + eager fp32 forward, batch 32 (what a tutorial does).
handful: draft-mode JPEG decoding, decode threads overlapped with the forward pass,
channels-last, bf16 autocast where the CPU has native bf16. Also: forward-only numbers and
the cache-hit path. Run: `.venv/bin/python benchmarks/embed_speed.py`.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import torch
from PIL import Image

from common import datasets_dir, require, write_result
from handful.backbones import create_backbone, embed_items
from handful.cache import FeatureCache
from handful.data import list_images


def naive_embed(model, paths: list[str], batch_size: int = 32) -> np.ndarray:
    mean = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    out = []
    for start in range(0, len(paths), batch_size):
        arrays = [np.asarray(Image.open(p).convert("RGB").resize((224, 224)), dtype=np.float32) / 255
                  for p in paths[start:start + batch_size]]
        x = (torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous() - mean) / 0.5
        with torch.no_grad():
            out.append(model.extract_features(x).mean(dim=(2, 3)).numpy())
    return np.concatenate(out)


def forward_only(backbone, precision: str, channels_last: bool, n: int = 96) -> float:
    model = backbone.model
    x = torch.randn(32, 3, 224, 224)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    else:
        model = model.to(memory_format=torch.contiguous_format)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bfloat16" else torch.no_grad()
    with torch.inference_mode(), ctx:
        model.extract_features(x)
        start = time.perf_counter()
        for _ in range(n // 32):
            model.extract_features(x)
    rate = n / (time.perf_counter() - start)
    backbone.model.to(memory_format=torch.channels_last)
    return rate


def main() -> None:
    data = datasets_dir()
    paths, _ = list_images([require(data / "hymenoptera"), require(data / "flowers5_128px" / "test")])
    backbone = create_backbone("efficientnet_lite0")
    fp32 = create_backbone("efficientnet_lite0", precision="float32")
    torch.set_num_threads(2)
    naive_embed(fp32.model, paths[:32])  # warm-up
    backbone.embed([backbone.preprocess(p) for p in paths[:32]])

    start = time.perf_counter()
    naive = naive_embed(fp32.model, paths)
    naive_rate = len(paths) / (time.perf_counter() - start)

    start = time.perf_counter()
    fast, failures = embed_items(backbone, paths, batch_size=32)
    fast_rate = len(paths) / (time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        cache = FeatureCache(tmp)
        cache.get_or_compute(backbone, paths)
        start = time.perf_counter()
        cache.get_or_compute(backbone, paths)
        cached_rate = len(paths) / (time.perf_counter() - start)

    ok = [i for i in range(len(paths)) if i not in failures]
    cos = np.sum(fast[ok] * naive[ok], 1) / np.linalg.norm(fast[ok], axis=1) / np.linalg.norm(naive[ok], axis=1)
    result = {
        "n_images": len(paths), "sources": ["hymenoptera (train+val)", "flowers5_128px/test"],
        "precision": backbone.info.precision,
        "images_per_s": {"naive_script": round(naive_rate, 1), "handful_end_to_end": round(fast_rate, 1),
                         "handful_cache_hit": round(cached_rate, 1)},
        "speedup_vs_naive": round(fast_rate / naive_rate, 2),
        "forward_only_images_per_s": {
            "fp32_eager": round(forward_only(fp32, "float32", False), 1),
            "fp32_channels_last": round(forward_only(fp32, "float32", True), 1),
            "bf16_channels_last": round(forward_only(backbone, "bfloat16", True), 1),
        },
        "cosine_handful_vs_naive_embeddings_median": round(float(np.median(cos)), 4),
    }
    print(result)
    write_result("embed_speed", result)


if __name__ == "__main__":
    main()
