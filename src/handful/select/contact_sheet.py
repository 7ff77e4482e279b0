"""A contact sheet: thumbnails in a grid with a caption under each (PNG)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from ..data.images import ImageDecodeError, load_image
from ..evaluate.png import save_picture

THUMB = 160
CAPTION = 30


def contact_sheet(paths: Sequence[str], captions: Sequence[str], out: str | Path,
                  columns: int = 5) -> Path:
    """Save ``paths`` as a grid of ``THUMB`` px thumbnails with two-line ``captions``."""
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
        draw.multiline_text((x + 4, y + THUMB), caption, fill="black", spacing=2)
    save_picture(sheet, out)
    return Path(out)
