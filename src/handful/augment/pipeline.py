"""Augmentation pipelines: a config for the full set of transforms, named presets, explicit rng.

Example:
    >>> augment = create_augment("default", fill="reflect")
    >>> rng = np.random.default_rng(0)
    >>> views = [augment(image, rng) for _ in range(4)]
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

import numpy as np

from ..errors import DataError, UnknownNameError, did_you_mean
from . import transforms as T


@dataclass(frozen=True)
class AugmentConfig:
    """Every augmentation setting; 0 turns a transform off.

    Attributes:
        hflip, vflip: probability of a left-right / top-bottom mirror.
        rotate: largest rotation in degrees.
        zoom: largest zoom in or out (0.15: x0.85-x1.15).
        crop: largest fraction of the area a random crop removes (0.2: keep 80-100%).
        translate: largest shift as a fraction of width and height.
        brightness, contrast: largest relative change.
        noise: largest Gaussian noise std as a fraction of the value range.
        salt_pepper: largest fraction of pixels set to black or white.
        fill: what uncovered pixels show: constant, edge, reflect, symmetric or wrap.
        fill_value: the value for ``fill="constant"``: 0-255, or a list of 3 (red, green, blue).
    """

    hflip: float = 0.0
    vflip: float = 0.0
    rotate: float = 0.0
    zoom: float = 0.0
    crop: float = 0.0
    translate: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    noise: float = 0.0
    salt_pepper: float = 0.0
    fill: str = "reflect"
    fill_value: float | list[float] = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict) -> AugmentConfig:
        """Build from a dict; unknown keys are an error that names the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise UnknownNameError(f"Unknown augmentation setting '{unknown[0]}'."
                                   f"{did_you_mean(unknown[0], known)} Known: {', '.join(sorted(known))}.")
        return cls(**doc)


PRESETS: dict[str, AugmentConfig] = {
    "none": AugmentConfig(),
    "light": AugmentConfig(hflip=0.5, rotate=10, translate=0.05, brightness=0.1, contrast=0.1),
    "default": AugmentConfig(hflip=0.5, rotate=15, zoom=0.15, crop=0.2, translate=0.1,
                             brightness=0.2, contrast=0.2),
    "strong": AugmentConfig(hflip=0.5, rotate=30, zoom=0.25, crop=0.35, translate=0.15,
                            brightness=0.3, contrast=0.3, noise=0.05, salt_pepper=0.01),
}

_LIMITS = {"hflip": 1.0, "vflip": 1.0, "rotate": 180.0, "zoom": 0.9, "crop": 0.9, "translate": 0.5,
           "brightness": 1.0, "contrast": 1.0, "noise": 1.0, "salt_pepper": 0.5}


def preset_config(name: str, **overrides) -> AugmentConfig:
    """The config of preset ``name`` with ``overrides`` (e.g. ``fill="wrap"``) applied."""
    if name not in PRESETS:
        raise UnknownNameError(f"Unknown augmentation preset '{name}'.{did_you_mean(name, PRESETS)} "
                               f"Choose one of: {', '.join(PRESETS)}.")
    return with_settings(PRESETS[name], overrides)


def with_settings(config: AugmentConfig, settings: dict) -> AugmentConfig:
    """``config`` with ``settings`` replaced; an unknown setting name is an error."""
    return AugmentConfig.from_json({**config.to_json(), **settings})


def check_config(config: AugmentConfig) -> AugmentConfig:
    """Validate every setting; raises DataError naming the setting and its range."""
    T.border_mode(config.fill)
    for name, limit in _LIMITS.items():
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= limit:
            raise DataError(f"The '{name}' augmentation setting must be a number in [0, {limit}]. "
                            f"Got {value!r} instead.")
    values = config.fill_value if isinstance(config.fill_value, (list, tuple)) else [config.fill_value]
    if len(values) not in (1, 3) or not all(_is_pixel_value(v) for v in values):
        raise DataError("The 'fill_value' augmentation setting must be a number in [0, 255] or a list "
                        f"of 3 (red, green, blue). Got {config.fill_value!r} instead.")
    return config


def _is_pixel_value(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 255


class Augment:
    """A list of transforms applied in order: ``augment(image, rng) -> image``.

    ``fingerprint`` hashes the config, so cached embeddings of augmented views are tied to
    exactly the augmentation that made them.
    """

    def __init__(self, config: AugmentConfig):
        self.config = check_config(config)
        self.transforms = build_transforms(self.config)

    @property
    def fingerprint(self) -> str:
        blob = json.dumps(self.config.to_json(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for transform in self.transforms:
            image = transform(image, rng)
        return image

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        return f"Augment([{', '.join(t.name for t in self.transforms)}])"


def build_transforms(config: AugmentConfig) -> list[T.Transform]:
    """The transforms a config switches on: crop, affine, flips, color, noise."""
    steps: list[T.Transform] = []
    if config.crop:
        steps.append(T.random_crop(1.0 - config.crop))
    if config.rotate or config.zoom or config.translate:
        steps.append(T.affine(config.rotate, config.zoom, config.translate, config.fill,
                              config.fill_value))
    if config.hflip:
        steps.append(T.hflip(config.hflip))
    if config.vflip:
        steps.append(T.vflip(config.vflip))
    if config.brightness or config.contrast:
        steps.append(T.brightness_contrast(config.brightness, config.contrast))
    if config.noise:
        steps.append(T.gaussian_noise(config.noise))
    if config.salt_pepper:
        steps.append(T.salt_and_pepper(config.salt_pepper))
    return steps


def create_augment(preset: str | AugmentConfig = "default", **overrides) -> Augment:
    """An Augment from a preset name (``none``, ``light``, ``default``, ``strong``) or a config.

    Example:
        >>> create_augment("strong", fill="wrap")
        Augment([random_crop, affine, hflip, brightness_contrast, gaussian_noise, salt_and_pepper])
    """
    config = preset if isinstance(preset, AugmentConfig) else preset_config(preset)
    return Augment(with_settings(config, overrides) if overrides else config)
