"""Would `--transductive` help pretrained (ImageNet) backbones too? A probe, on TRAIN splits only.

`--transductive` is offered for ProtoNet (euclidean) models only. This probe runs the same EM
(`handful.fewshot.transductive.refined_logits`, the Omniglot-chosen constants, plus half and double
the relative temperature) on L2-normalized efficientnet_lite0 embeddings (the cosine space of
handful's prototype head) of hymenoptera/train (2-way) and flowers5_128px/train (5-way), 1-shot,
300 episodes, with four query batches: 15 of one class only, 15 / 5 / 1 of every class.

Run: `.venv/bin/python benchmarks/transductive_pretrained_probe.py` → results/transductive_pretrained_probe.json
"""

from __future__ import annotations

import numpy as np

from common import datasets_dir, require, write_result
from handful.fewshot.encoder import FewShotEncoder
from handful.fewshot.episodes import EpisodeSampler
from handful.fewshot.sources import scan_many
from handful.fewshot.transductive import refined_logits
from handful.heads.base import l2_normalize

SETTINGS = {"inductive (nearest cosine prototype)": None, "transductive, as shipped (0.08)": {},
            "transductive, relative temperature 0.04": {"relative_temperature": 0.04},
            "transductive, relative temperature 0.16": {"relative_temperature": 0.16}}


def accuracy(emb: np.ndarray, episodes: list, n_classes: int, per_class: int, setting: dict | None) -> float:
    accs = []
    for ep in episodes:
        keep = (ep.query_y < n_classes) & (np.arange(len(ep.query)) % 15 < per_class)
        support, query = emb[ep.support], emb[ep.query[keep]]
        scores = query @ support.T if setting is None else refined_logits(
            support, np.ones(len(support)), query, **setting)
        accs.append(float(np.mean(scores.argmax(1) == ep.query_y[keep])))
    return round(100 * float(np.mean(accs)), 2)


def main() -> None:
    encoder = FewShotEncoder.from_backbone("efficientnet_lite0")
    result = {"backbone": "efficientnet_lite0", "episodes": 300, "shots": 1}
    for name, folder, ways in (("hymenoptera/train", "hymenoptera/train", 2),
                               ("flowers5_128px/train", "flowers5_128px/train", 5)):
        examples, _ = scan_many([require(datasets_dir() / folder)])
        emb, failures = encoder.embed_items(examples.items)
        keep = [i for i in range(len(examples.items)) if i not in failures]
        emb, labels = l2_normalize(emb[keep]), np.asarray(examples.labels)[keep]
        episodes = list(EpisodeSampler(labels, ways, 1, 15).episodes(300, seed=1))
        mixes = {"15 of 1 class": (1, 15), f"15 of all {ways}": (ways, 15), f"5 of all {ways}": (ways, 5),
                 f"1 of all {ways}": (ways, 1)}
        result[name] = {label: {mix: accuracy(emb, episodes, *nq, setting) for mix, nq in mixes.items()}
                        for label, setting in SETTINGS.items()}
        print(name, result[name], flush=True)
    write_result("transductive_pretrained_probe", result)


if __name__ == "__main__":
    main()
