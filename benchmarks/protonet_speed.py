"""Meta-training speed of the Conv-4 ProtoNet on this CPU: float32 vs bf16 autocast.

Times whole training episodes (60-way 1-shot 5-query = 360 glyphs of 28x28, sampling, jitter,
forward, backward, Adam step) through ``train_protonet``'s own code path, on random glyph-like
arrays (speed does not depend on the data). Channels-last memory layout is used in both rows
(``train_protonet`` always sets it); the first row also shows the layout's own share.
Also: bf16 under torch.compile, and other channel widths of the four blocks.
Run: `.venv/bin/python benchmarks/protonet_speed.py` (writes results/protonet_speed.json).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from common import write_result
from handful.fewshot.conv4 import Conv4Backbone
from handful.fewshot.protonet import EpisodeBatcher, ProtoNetConfig, episode_loss

EPISODES = 30
WARMUP = 3


def episodes_per_second(precision: str, channels_last: bool, widths: tuple[int, ...] = (64,) * 4,
                        compiled: bool = False) -> float:
    torch.manual_seed(0)
    backbone = Conv4Backbone(widths=widths)
    rng = np.random.default_rng(0)
    arrays = ((rng.random((173 * 20, 28, 28)) > 0.85) * 255).astype(np.uint8)
    labels = np.repeat(np.arange(173), 20).astype(str).astype(object)
    config = ProtoNetConfig(precision=precision)
    batcher = EpisodeBatcher(arrays, labels, backbone.to_tensor, config)
    module = backbone.model.train()
    module.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    encode = torch.compile(module) if compiled else module
    for i in range(WARMUP + EPISODES):
        if i == WARMUP:
            started = time.perf_counter()
        x, is_support, y, _ = batcher.sample()
        if not channels_last:
            x = x.contiguous()
        loss, _, _ = (episode_loss(encode, x, is_support, y, batcher.n_way, 0, precision == "bf16")
                      if channels_last else _contiguous_loss(module, x, is_support, y, batcher.n_way))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return EPISODES / (time.perf_counter() - started)


def _contiguous_loss(module, x, is_support, y, n_way):
    """float32 in the default (NCHW) layout: the code path before this benchmark."""
    import torch.nn.functional as F

    from handful.fewshot.protonet import prototype_logits

    emb = module(x)
    logits = prototype_logits(emb[is_support], y[is_support], emb[~is_support], n_way)
    return F.cross_entropy(logits, y[~is_support]), 0.0, emb


def main() -> None:
    torch.set_num_threads(2)
    rows = {}
    for label, precision, channels_last in (("fp32, NCHW (before)", "fp32", False),
                                            ("fp32, channels-last", "fp32", True),
                                            ("bf16 autocast, channels-last (default here)", "bf16", True)):
        rows[label] = round(episodes_per_second(precision, channels_last), 2)
        print(f"{label:45s} {rows[label]:.2f} episodes/s", file=sys.stderr)
    # bf16 channels-last: torch.compile, then the channel widths of the four blocks (the first
    # block runs at 28 x 28, so its width costs the most; `--backbone conv4_omniglot_pyramid`)
    extra = {"bf16, torch.compile (inductor; not used)": ((64,) * 4, True)}
    extra.update({f"bf16, widths {'-'.join(map(str, w))}": (w, False)
                  for w in ((32, 64, 64, 64), (32, 64, 128, 256), (32, 96, 192, 384), (128,) * 4)})
    for label, (widths, compiled) in extra.items():
        rows[label] = round(episodes_per_second("bf16", True, widths, compiled), 2)
        print(f"{label:45s} {rows[label]:.2f} episodes/s", file=sys.stderr)
    write_result("protonet_speed", {
        "episode": "60-way 1-shot 5-query, 360 images 28x28, Conv-4 64 ch, jitter on",
        "episodes_timed": EPISODES, "episodes_per_second": rows,
        "bf16_native": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())})


if __name__ == "__main__":
    main()
