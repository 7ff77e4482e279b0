"""Image transforms for augmentation: thin wrappers over albumentations, one callable each.

Every transform is a ``Transform``: call it as ``transform(image, rng) -> image`` with an
``(H, W)`` or ``(H, W, C)`` uint8 or float32 array and an explicit ``np.random.Generator``;
the result has the same shape and dtype. All randomness is drawn from ``rng`` (albumentations
is handed the generator for each call), so the same seed gives the same images.

Geometric transforms that uncover pixels take a ``fill`` mode, named as in ``numpy.pad``:

- ``constant``: a fixed value (``fill_value``)
- ``edge``: the nearest edge pixel repeated
- ``reflect``: mirrored about the edge pixel (``d c b | a b c d``)
- ``symmetric``: mirrored including the edge pixel (``c b a | a b c d``)
- ``wrap``: the opposite edge (``b c d | a b c d``)

Example:
    >>> flip = hflip()
    >>> out = rotate(20, fill="reflect")(image, np.random.default_rng(0))
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..errors import UnknownNameError, did_you_mean

# numpy.pad's names -> OpenCV border modes. Note numpy "reflect" (edge pixel not repeated)
# is OpenCV's REFLECT_101, and numpy "symmetric" (edge pixel repeated) is OpenCV's REFLECT.
FILL_MODES: dict[str, int] = {
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101,
    "symmetric": cv2.BORDER_REFLECT,
    "wrap": cv2.BORDER_WRAP,
}


def border_mode(fill: str) -> int:
    """The OpenCV border mode for a fill-mode name; raises UnknownNameError for others."""
    if fill not in FILL_MODES:
        raise UnknownNameError(f"Unknown fill mode '{fill}'.{did_you_mean(fill, FILL_MODES)} "
                               f"Choose one of: {', '.join(FILL_MODES)}.")
    return FILL_MODES[fill]


@dataclass
class Transform:
    """One augmentation step: ``(image, rng) -> image``, same shape and dtype.

    ``build(image)`` returns the albumentations transform for an image (most ignore the
    image; random crop needs its size). ``params`` describe the step for fingerprints.
    """

    name: str
    params: dict[str, Any]
    build: Any = field(repr=False)

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        albu = self.build(image)
        albu.set_random_state(rng, random.Random(int(rng.integers(2**63))))
        out = albu(image=image)["image"]
        if out.ndim == image.ndim + 1 and out.shape[-1] == 1:  # albumentations adds a channel
            out = out[..., 0]
        return np.ascontiguousarray(out, dtype=image.dtype)


def _fixed(albu) -> Any:
    return lambda image: albu


def hflip(p: float = 0.5) -> Transform:
    """Mirror left-right with probability ``p``."""
    import albumentations as A

    return Transform("hflip", {"p": p}, _fixed(A.HorizontalFlip(p=p)))


def vflip(p: float = 0.5) -> Transform:
    """Mirror top-bottom with probability ``p`` (off in the presets: most photos have an up)."""
    import albumentations as A

    return Transform("vflip", {"p": p}, _fixed(A.VerticalFlip(p=p)))


def affine(rotate: float = 0.0, zoom: float = 0.0, translate: float = 0.0, fill: str = "reflect",
           fill_value: float = 0.0, p: float = 1.0) -> Transform:
    """Rotation by up to ``rotate`` degrees, zoom in/out by up to ``zoom`` (0.2: x0.8-x1.2)
    and a shift of up to ``translate`` of the size, in one resampling (sharper than three)."""
    import albumentations as A

    params = {"rotate": rotate, "zoom": zoom, "translate": translate, "fill": fill,
              "fill_value": fill_value, "p": p}
    albu = A.Affine(rotate=(-rotate, rotate), scale=(1 - zoom, 1 + zoom),
                    translate_percent=(-translate, translate), border_mode=border_mode(fill),
                    fill=fill_value, p=p)
    return Transform("affine", params, _fixed(albu))


def rotate(degrees: float = 15.0, fill: str = "reflect", fill_value: float = 0.0,
           p: float = 1.0) -> Transform:
    """Rotate by a uniform angle in [-degrees, degrees]; corners follow ``fill``."""
    return _renamed("rotate", affine(rotate=degrees, fill=fill, fill_value=fill_value, p=p))


def zoom(amount: float = 0.15, fill: str = "reflect", fill_value: float = 0.0,
         p: float = 1.0) -> Transform:
    """Zoom in or out by a factor in [1 - amount, 1 + amount]; zooming out uncovers the border."""
    return _renamed("zoom", affine(zoom=amount, fill=fill, fill_value=fill_value, p=p))


def translate(fraction: float = 0.1, fill: str = "reflect", fill_value: float = 0.0,
              p: float = 1.0) -> Transform:
    """Shift by up to ``fraction`` of the width and height; the uncovered strip follows ``fill``."""
    return _renamed("translate", affine(translate=fraction, fill=fill, fill_value=fill_value, p=p))


def _renamed(name: str, transform: Transform) -> Transform:
    transform.name = name
    return transform


def random_crop(min_area: float = 0.8, p: float = 1.0) -> Transform:
    """Crop a random region covering ``min_area``-100% of the image (aspect within 10%) and
    resize it back to the original size."""
    import albumentations as A

    def build(image: np.ndarray):
        height, width = image.shape[:2]
        aspect = width / height
        return A.RandomResizedCrop(size=(height, width), scale=(min_area, 1.0),
                                   ratio=(aspect * 0.9, aspect / 0.9), p=p)

    return Transform("random_crop", {"min_area": min_area, "p": p}, build)


def brightness_contrast(brightness: float = 0.2, contrast: float = 0.2, p: float = 1.0) -> Transform:
    """Change brightness and contrast by up to the given fractions."""
    import albumentations as A

    albu = A.RandomBrightnessContrast(brightness_limit=(-brightness, brightness),
                                      contrast_limit=(-contrast, contrast), p=p)
    return Transform("brightness_contrast", {"brightness": brightness, "contrast": contrast,
                                             "p": p}, _fixed(albu))


def gaussian_noise(std: float = 0.05, p: float = 0.5) -> Transform:
    """Add Gaussian noise with a standard deviation of up to ``std`` of the value range."""
    import albumentations as A

    albu = A.GaussNoise(std_range=(0.0, std), p=p)
    return Transform("gaussian_noise", {"std": std, "p": p}, _fixed(albu))


def salt_and_pepper(amount: float = 0.01, p: float = 0.5) -> Transform:
    """Set up to ``amount`` of the pixels to black or white."""
    import albumentations as A

    albu = A.SaltAndPepper(amount=(0.0, amount), p=p)
    return Transform("salt_and_pepper", {"amount": amount, "p": p}, _fixed(albu))


TRANSFORMS = {
    "hflip": hflip, "vflip": vflip, "rotate": rotate, "zoom": zoom, "translate": translate,
    "random_crop": random_crop, "brightness_contrast": brightness_contrast,
    "gaussian_noise": gaussian_noise, "salt_and_pepper": salt_and_pepper, "affine": affine,
}
