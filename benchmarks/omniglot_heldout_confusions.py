"""Why is held-out 20-way harder than Lake's runs? Greek and Latin share letters.

Loads the stage-`train` model of `omniglot_fewshot.py` (held-out alphabets Greek + Latin), embeds
the 50 held-out characters (the model's 3 px shifts), finds the cross-alphabet pairs of
characters whose class means are each other's nearest (E and epsilon, K and kappa, O and omicron,
...), and counts how many of the 20-way 1-shot errors (the same 600 episodes as
`handful episodes --ways 20 --seed 0`, inductive) confuse such a pair. Also 20-way episodes
within one alphabet at a time, as Lake's runs are. A diagnostic: nothing is tuned on it.

Run: `.venv/bin/python benchmarks/omniglot_heldout_confusions.py` → results/omniglot_heldout_confusions.json
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common import datasets_dir, require, write_result
from handful.fewshot.encoder import FewShotEncoder
from handful.fewshot.episodes import EpisodeSampler, euclidean_scorer
from handful.fewshot.sources import restrict, scan_many

MODEL = Path(__file__).resolve().parent / "out" / "omniglot" / "protonet"


def twin_pairs(embeddings: np.ndarray, labels: np.ndarray) -> dict[str, str]:
    """class -> its cross-alphabet mutual nearest class (by squared distance of class means)."""
    classes = sorted(set(labels))
    means = np.stack([embeddings[labels == c].mean(0) for c in classes])
    d = ((means[:, None] - means[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = d.argmin(1)
    return {c: classes[j] for i, (c, j) in enumerate(zip(classes, nearest))
            if nearest[j] == i and c.split("/")[0] != classes[j].split("/")[0]}


def main() -> None:
    root = require(datasets_dir() / "omniglot")
    encoder = FewShotEncoder.from_model(require(MODEL))
    examples, _ = scan_many([root / "images_background_small1", root / "images_background_small2"], nested=True)
    examples = restrict(examples, encoder.meta["heldout_classes"])
    embeddings, failures = encoder.embed_items(examples.items)
    assert not failures, failures
    labels = np.asarray(examples.labels)
    twins = twin_pairs(embeddings, labels)
    errors = twin_errors = queries = 0
    for ep in EpisodeSampler(labels, 20, 1, 15).episodes(600, seed=0):
        pred = euclidean_scorer(embeddings[ep.support], ep.support_y, embeddings[ep.query], 20)
        wrong = pred != ep.query_y
        errors += int(wrong.sum())
        queries += len(pred)
        twin_errors += sum(twins.get(ep.classes[t]) == ep.classes[p] for p, t in zip(pred[wrong], ep.query_y[wrong]))
    within = {}
    for alphabet in sorted({c.split("/")[0] for c in labels}):
        sampler = EpisodeSampler(labels, 20, 1, 15, classes=[c for c in set(labels) if c.startswith(alphabet)])
        accs = [np.mean(euclidean_scorer(embeddings[ep.support], ep.support_y, embeddings[ep.query], 20)
                        == ep.query_y) for ep in sampler.episodes(600, seed=0)]
        within[alphabet] = round(float(np.mean(accs)), 4)
    result = {"model": "benchmarks/out/omniglot/protonet", "tta_shift": encoder.tta_shift,
              "mutual_nearest_cross_alphabet_pairs": sorted([a, b] for a, b in twins.items() if a < b),
              "20-way 1-shot accuracy": round(1 - errors / queries, 4), "errors": errors,
              "errors_confusing_a_pair": int(twin_errors),
              "share_of_errors": round(twin_errors / errors, 4),
              "accuracy_if_those_were_right": round(1 - (errors - twin_errors) / queries, 4),
              "20-way 1-shot within one alphabet": within}
    print(result)
    write_result("omniglot_heldout_confusions", result)


if __name__ == "__main__":
    main()
