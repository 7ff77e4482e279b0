"""PNG pictures handful writes carry a ``Software: handful`` text chunk, so that a later run into
the same folder can tell its own picture (safe to replace) from a user's file of the same name."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

SOFTWARE = "handful"


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    """Save a matplotlib figure as a PNG tagged as handful's."""
    fig.savefig(path, dpi=dpi, metadata={"Software": SOFTWARE})
    return Path(path)


def save_picture(image: Image.Image, path: str | Path) -> Path:
    """Save a PIL image as a PNG tagged as handful's."""
    info = PngInfo()
    info.add_text("Software", SOFTWARE)
    image.save(path, format="PNG", pnginfo=info)
    return Path(path)


def written_by_handful(path: str | Path) -> bool:
    """True when ``path`` is a PNG that ``save_figure`` or ``save_picture`` wrote."""
    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.info.get("Software") == SOFTWARE
    except (OSError, ValueError, Image.DecompressionBombError):
        return False
