"""Synthetic Omniglot-like glyphs for the few-shot tests: each character is a fixed set of
strokes; each drawing jitters the stroke points a little (ink on white, 1-bit like Omniglot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def character_strokes(seed: int, n_strokes: int = 3) -> list[np.ndarray]:
    """The strokes of one character: polylines of 3 points in [0.15, 0.85]^2."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.15, 0.85, (3, 2)) for _ in range(n_strokes)]


def draw_glyph(strokes: list[np.ndarray], seed: int, size: int = 40, noise: float = 0.03) -> Image.Image:
    """One drawing of a character: jittered stroke points, black ink on white, mode '1'."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        pts = (stroke + rng.normal(0, noise, stroke.shape)) * size
        draw.line([tuple(p) for p in pts], fill=0, width=max(2, size // 14))
    return img.convert("1")


def make_glyph_tree(root: Path, n_alphabets: int = 3, n_chars: int = 4, n_drawings: int = 8,
                    seed: int = 0) -> Path:
    """root/alphabet_A/character01/NN.png ... (Omniglot's nested layout)."""
    for a in range(n_alphabets):
        for c in range(n_chars):
            strokes = character_strokes(seed * 10_000 + a * 100 + c)
            folder = root / f"alphabet_{chr(65 + a)}" / f"character{c + 1:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for d in range(n_drawings):
                draw_glyph(strokes, seed * 10_000 + a * 1000 + c * 50 + d).save(folder / f"{d:02d}.png")
    return root


def make_runs(root: Path, n_runs: int = 2, n_classes: int = 5, seed: int = 99) -> Path:
    """Lake's runs layout: runNN/training/classNN.png, runNN/test/itemNN.png, class_labels.txt."""
    rng = np.random.default_rng(seed)
    for r in range(1, n_runs + 1):
        run = root / f"run{r:02d}"
        (run / "training").mkdir(parents=True)
        (run / "test").mkdir()
        lines = []
        order = rng.permutation(n_classes)
        for c in range(n_classes):
            strokes = character_strokes(seed * 1000 + r * 50 + c)
            draw_glyph(strokes, 1).save(run / "training" / f"class{c + 1:02d}.png")
        for i, c in enumerate(order):
            strokes = character_strokes(seed * 1000 + r * 50 + c)
            draw_glyph(strokes, 2 + i).save(run / "test" / f"item{i + 1:02d}.png")
            lines.append(f"run{r:02d}/test/item{i + 1:02d}.png run{r:02d}/training/class{c + 1:02d}.png")
        (run / "class_labels.txt").write_text("\n".join(lines) + "\n")
    return root
