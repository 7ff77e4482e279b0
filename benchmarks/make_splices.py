"""Spliced Omniglot classes: new "characters" from halves of two training characters, for `--extra-train`.

The glyph classes of `make_glyphs.py` (fonts) did not help meta-training; these stay inside
Omniglot's own strokes and drawers. A spliced class joins one half of character A with the other
half of character B, both from the same alphabet and both among a model's TRAINING characters
(never its validation or held-out ones): left | right or top / bottom, cut at the middle. Drawing k
of the new class joins drawing k of A and drawing k of B (the same person drew both), so the 20
drawings vary as a real character's do. Layout OUT/Splice/<A>+<B>-<cut>/NN.png (nested, as
`protonet train --nested` reads it).

Run: `.venv/bin/python benchmarks/make_splices.py MODEL_DIR [OUT] [--classes 1000] [--seed 0]`
(default OUT: benchmarks/out/splices_<model name>).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from common import datasets_dir, require

HALF = 52  # of Omniglot's 105 px


def drawings(roots: list[Path], character: str) -> dict[str, Path]:
    """``{drawer suffix: path}`` of one character (the two background subsets merged)."""
    out = {}
    for root in roots:
        for path in sorted((root / character).glob("*.png")):
            out.setdefault(path.stem.rsplit("_", 1)[1], path)
    return out


def spliced(a: Path, b: Path, cut: str) -> Image.Image:
    left, right = np.asarray(Image.open(a).convert("L")), np.asarray(Image.open(b).convert("L"))
    out = left.copy()
    if cut == "lr":
        out[:, HALF:] = right[:, HALF:]
    else:
        out[HALF:, :] = right[HALF:, :]
    return Image.fromarray(out).convert("1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train = json.loads((require(args.model) / "model.json").read_text())["fewshot"]["train_classes"]
    omniglot = require(datasets_dir() / "omniglot")
    roots = [omniglot / "images_background_small1", omniglot / "images_background_small2"]
    out = args.out or Path(__file__).resolve().parent / "out" / f"splices_{args.model.name}"
    by_alphabet: dict[str, list[str]] = {}
    for character in train:
        by_alphabet.setdefault(character.split("/")[0], []).append(character)
    rng = np.random.default_rng(args.seed)
    alphabets = sorted(by_alphabet)
    weights = np.array([len(by_alphabet[a]) for a in alphabets], dtype=float)
    made = set()
    while len(made) < args.classes:
        alphabet = alphabets[rng.choice(len(alphabets), p=weights / weights.sum())]
        a, b = rng.choice(by_alphabet[alphabet], 2, replace=False)
        cut = ("lr", "tb")[rng.integers(2)]
        name = f"{a.replace('/', '_')}+{b.split('/')[1]}-{cut}"
        if name in made:
            continue
        first, second = drawings(roots, a), drawings(roots, b)
        folder = out / "Splice" / name
        folder.mkdir(parents=True, exist_ok=True)
        for k in sorted(set(first) & set(second)):
            spliced(first[k], second[k], cut).save(folder / f"{k}.png")
        made.add(name)
    print(f"wrote {len(made)} spliced classes to {out}")


if __name__ == "__main__":
    main()
