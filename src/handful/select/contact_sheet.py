"""A contact sheet: thumbnails in a grid with a caption under each (PNG); a thumbnail can carry a
short warning, drawn as a coloured frame with the words on a banner across its top."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from ..data.images import ImageDecodeError, load_image
from ..evaluate.png import save_picture

THUMB = 160
CAPTION = 44  # three lines of the default font
FLAG_COLOR = (214, 90, 0)  # the frame and banner of a flagged thumbnail: dark orange, white words
FRAME = 3  # px
BANNER = 16  # px: one line of the default font


def contact_sheet(paths: Sequence[str], captions: Sequence[str], out: str | Path,
                  columns: int = 5, flags: Sequence[str | None] | None = None) -> Path:
    """Save ``paths`` as a grid of ``THUMB`` px thumbnails with ``captions`` of up to three lines
    under them; a line too wide for its thumbnail is shortened in the middle (``abc...xyz``).
    ``flags``: a short warning per thumbnail (None: none), framed and bannered in ``FLAG_COLOR``.

    Example:
        >>> contact_sheet(["a.jpg", "b.jpg"], ["#1 ants", "#2 bees"], "sheet.png", flags=[None, "unlike training data"])
    """
    rows = max(1, math.ceil(len(paths) / columns))
    cols = max(1, min(columns, len(paths)))
    sheet = Image.new("RGB", (cols * THUMB, rows * (THUMB + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (path, caption) in enumerate(zip(paths, captions, strict=True)):
        x, y = (i % cols) * THUMB, (i // cols) * (THUMB + CAPTION)
        try:
            img = load_image(path, draft_size=THUMB)
            img.thumbnail((THUMB - 6, THUMB - 6))
            sheet.paste(img, (x + (THUMB - img.width) // 2, y + (THUMB - img.height) // 2))
        except (ImageDecodeError, OSError):
            draw.text((x + 10, y + THUMB // 2), "unreadable", fill="red")
        if flags is not None and flags[i]:
            _flag(draw, x, y, flags[i])
        lines = [_fit(draw, line, THUMB - 8) for line in caption.split("\n")[:3]]
        draw.multiline_text((x + 4, y + THUMB + 2), "\n".join(lines), fill="black", spacing=2)
    save_picture(sheet, out)
    return Path(out)


def _flag(draw: ImageDraw.ImageDraw, x: int, y: int, text: str) -> None:
    """A frame round the thumbnail at (x, y) and ``text`` on a banner over its top: a red word in
    the caption alone was easy to miss among twenty pictures."""
    draw.rectangle([x, y, x + THUMB - 1, y + THUMB - 1], outline=FLAG_COLOR, width=FRAME)
    draw.rectangle([x, y, x + THUMB - 1, y + BANNER], fill=FLAG_COLOR)
    draw.text((x + 4, y + 2), _fit(draw, text, THUMB - 8), fill="white")


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> str:
    """``text``, or its start and end around "...", within ``width`` px: a long file or class
    name ran into the next thumbnail's caption."""
    if draw.textlength(text) <= width:
        return text
    keep = len(text)
    while keep > 2 and draw.textlength(f"{text[:(keep + 1) // 2]}...{text[len(text) - keep // 2:]}") > width:
        keep -= 1
    return f"{text[:(keep + 1) // 2]}...{text[len(text) - keep // 2:]}"
