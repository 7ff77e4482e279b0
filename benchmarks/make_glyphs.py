"""Synthetic "handwritten" glyph classes from the fonts matplotlib ships, for ProtoNet meta-training.

Omniglot's small background sets give 242 characters; the paper trained on 964. This script
renders characters of scripts that appear in NEITHER the held-out alphabets (Greek, Latin) nor
the evaluation alphabets of Lake's 20 runs (no Latin, Greek, Coptic, Cyrillic, Lisu, Old Italic,
Braille, box drawing, Syriac, Ethiopic, Indic scripts, Mongolian, Tibetan, Glagolitic), in the
Omniglot format: 105x105 1-bit PNG, black strokes on white, one folder per character, 20
"drawings" each. A drawing = the glyph in a random one of the DejaVu/STIX faces that cover it,
a random size, affine and smooth elastic warp, thinned to its skeleton (Zhang-Suen) and redrawn
with a pen of random width (5-7 px, as Omniglot's strokes measure). Near-identical glyphs
(canonical forms, presentation forms) are dropped by their 20x20 rendering.

Run: `.venv/bin/python benchmarks/make_glyphs.py [OUT] [--per-class 20] [--seed 0]`
(default OUT: benchmarks/out/glyphs; layout OUT/<Script>/<U+XXXX>/NN.png).
"""

from __future__ import annotations

import argparse
import unicodedata
from pathlib import Path

import matplotlib
import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

SIZE = 105
# (script folder, first code point, last code point): scripts absent from the held-out and
# evaluation alphabets; symbol blocks give abstract stroke shapes
BLOCKS = [
    ("Armenian", 0x0531, 0x058A), ("Hebrew", 0x05D0, 0x05F2), ("Arabic", 0x0620, 0x06FF),
    ("Arabic_forms", 0xFE70, 0xFEFC), ("NKo", 0x07C0, 0x07FA), ("Lao", 0x0E80, 0x0EDF),
    ("Georgian", 0x10A0, 0x10FF), ("Georgian_Nuskhuri", 0x2D00, 0x2D2F),
    ("Canadian_syllabics", 0x1400, 0x167F), ("Ogham", 0x1680, 0x169C), ("Tifinagh", 0x2D30, 0x2D7F),
    ("Arrows", 0x2190, 0x21FF), ("Math_operators", 0x2200, 0x22FF), ("Technical", 0x2300, 0x23FF),
    ("Symbols", 0x2600, 0x26FF), ("Dingbats", 0x2700, 0x27BF), ("Math_misc", 0x27C0, 0x27EF),
    ("Math_misc_b", 0x2980, 0x29FF), ("Math_supplement", 0x2A00, 0x2AFF),
]
# Greek letters in disguise (summation, product, increment, nabla, ...) stay out with Greek
EXCLUDE_WORDS = ("GREEK", "LATIN", "CYRILLIC", "N-ARY", "INCREMENT", "NABLA", "OHM", "BLACK",
                 "FULL", "SHADE", "BRAILLE", "DIGIT", "NUMBER", "FRACTION")
FACES = ["DejaVuSans.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf",
         "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf"]


def font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def coverage() -> dict[str, set[int]]:
    """Face file -> code points it draws."""
    return {face: set(TTFont(font_dir() / face).getBestCmap()) for face in FACES}


def wanted(cp: int) -> bool:
    ch = chr(cp)
    name = unicodedata.name(ch, "")
    return bool(name) and unicodedata.category(ch)[0] in "LS" and not any(w in name for w in EXCLUDE_WORDS)


def render(cp: int, face: str, size: int, canvas: int = SIZE) -> np.ndarray:
    """Float mask (canvas, canvas) of the glyph, its larger side scaled to ``size`` and centered."""
    font = ImageFont.truetype(str(font_dir() / face), 200)
    img = Image.new("L", (320, 320), 0)
    ImageDraw.Draw(img).text((60, 40), chr(cp), fill=255, font=font)
    box = img.getbbox()
    if box is None:
        return np.zeros((canvas, canvas), np.float32)
    glyph = img.crop(box)
    scale = size / max(glyph.size)
    w, h = max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale))
    out = Image.new("L", (canvas, canvas), 0)
    out.paste(glyph.resize((w, h), Image.BILINEAR), ((canvas - w) // 2, (canvas - h) // 2))
    return np.asarray(out, np.float32) / 255.0


def warp(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random affine (rotation 8 deg, scale 10%, shear 0.15, shift 5 px) plus a smooth elastic field."""
    n = mask.shape[0]
    angle, shear = np.radians(rng.uniform(-8, 8)), rng.uniform(-0.15, 0.15)
    sx, sy = rng.uniform(0.9, 1.1, 2)
    a = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ \
        np.array([[sy, shear], [0, sx]])
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    c = (n - 1) / 2
    coords = np.einsum("ij,jhw->ihw", np.linalg.inv(a), np.stack([yy - c, xx - c])) + c
    coords += rng.uniform(-5, 5, (2, 1, 1))
    field = rng.normal(0, 1, (2, n, n)).astype(np.float32)
    coords += np.stack([ndimage.gaussian_filter(f, 9) for f in field]) * rng.uniform(30, 70)
    return ndimage.map_coordinates(mask, coords, order=1, cval=0.0)


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen skeleton of a boolean image."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = [np.roll(np.roll(img, -dy, 0), -dx, 1) for dy, dx in
                 ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))]
            b = sum(p)
            a = sum(((p[i] == 0) & (p[(i + 1) % 8] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                c = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                c = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            remove = (img == 1) & (b >= 2) & (b <= 6) & (a == 1) & c
            if remove.any():
                img[remove], changed = 0, True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def drawing(cp: int, faces: list[str], rng: np.random.Generator) -> np.ndarray | None:
    """One 105x105 boolean drawing (True = ink), or None when the glyph thins to almost nothing."""
    mask = warp(render(cp, faces[rng.integers(len(faces))], int(rng.integers(50, 80))), rng) > 0.5
    skeleton = thin(mask)
    if skeleton.sum() < 20:
        return None
    radius = rng.uniform(2.5, 3.5)
    return ndimage.distance_transform_edt(~skeleton) <= radius


def signature(cp: int, face: str) -> bytes:
    small = Image.fromarray((render(cp, face, 60) * 255).astype(np.uint8)).resize((20, 20), Image.BILINEAR)
    return (np.asarray(small) > 96).tobytes()


def characters(cover: dict[str, set[int]]) -> list[tuple[str, int, list[str]]]:
    """(script, code point, faces covering it), distinct shapes only, in block order."""
    seen, out = set(), []
    for script, first, last in BLOCKS:
        for cp in range(first, last + 1):
            faces = [f for f in FACES if cp in cover[f]]
            if not faces or not wanted(cp):
                continue
            sig = signature(cp, faces[0])
            mask = np.frombuffer(sig, dtype=bool)
            if mask.sum() < 12 or sig in seen:
                continue
            seen.add(sig)
            out.append((script, cp, faces))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(Path(__file__).parent / "out" / "glyphs"))
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng, out = np.random.default_rng(args.seed), Path(args.out)
    chars = characters(coverage())
    kept = 0
    for script, cp, faces in chars:
        images = []
        for _ in range(args.per_class * 3):
            img = drawing(cp, faces, rng)
            if img is not None:
                images.append(img)
            if len(images) == args.per_class:
                break
        if len(images) < args.per_class:
            continue
        folder = out / script / f"U+{cp:04X}"
        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            Image.fromarray(~img).convert("1").save(folder / f"{i:02d}.png")
        kept += 1
    print(f"{kept} glyph classes x {args.per_class} drawings -> {out}")


if __name__ == "__main__":
    main()
