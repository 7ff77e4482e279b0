"""Augmentation: albumentations transforms with selectable fill modes, presets, explicit rng."""

from .pipeline import (
    PRESETS,
    Augment,
    AugmentConfig,
    check_config,
    create_augment,
    preset_config,
    with_settings,
)
from .transforms import FILL_MODES, TRANSFORMS, Transform

__all__ = ["FILL_MODES", "PRESETS", "TRANSFORMS", "Augment", "AugmentConfig", "Transform",
           "check_config", "create_augment", "preset_config", "with_settings"]
