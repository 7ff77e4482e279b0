"""A tiny image backbone with a fake ImageNet head: solid colors -> ImageNet classes.

``test_imagenet_colors`` embeds like ``test_tiny_image`` and has ``imagenet_head()`` whose
logits put red images on "strawberry" (949), green on "broccoli" (937) and blue on "orange"
(950). With ``test_tiny_text`` (a bag of words) for the names, ConSE on it is exact and instant.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from conftest import COLORS
from handful.backbones import register_backbone
from handful.backbones.testing import TinyImageBackbone

COLOR_TO_IMAGENET = {"red": 949, "green": 937, "blue": 950}
COLOR_TO_NAME = {"red": "strawberry", "green": "broccoli", "blue": "orange"}


class ImageNetColorsBackbone(TinyImageBackbone):
    def __init__(self):
        super().__init__()
        self.info = replace(self.info, name="test_imagenet_colors")

    def imagenet_head(self) -> tuple[np.ndarray, np.ndarray]:
        feats = {c: self.embed([np.full((32, 32, 3), COLORS[c], dtype=np.uint8)])[0] for c in COLORS}
        center = np.mean(list(feats.values()), axis=0)
        W = np.zeros((1000, self.dim), dtype=np.float32)
        for color, j in COLOR_TO_IMAGENET.items():
            d = feats[color] - center
            W[j] = 12 * d / np.linalg.norm(d) ** 2  # logit ~12 on its own color, < 0 on others
        return W, np.zeros(1000, dtype=np.float32)


@register_backbone("test_imagenet_colors", "image", "test backbone with an ImageNet head",
                   hidden=True)
def test_imagenet_colors(**kwargs) -> ImageNetColorsBackbone:
    return ImageNetColorsBackbone(**kwargs)
