"""Zero-shot classification from class names (ConSE on ImageNet heads, CLIP, text cosine)."""

from .labels import imagenet_class_names, match_class_names, parse_class_list
from .scorer import ZeroShotScorer, build_zero_shot_map, imagenet_head, zero_shot_scores
from .semantic import ZeroShotMap

__all__ = ["ZeroShotMap", "ZeroShotScorer", "build_zero_shot_map", "imagenet_class_names",
           "imagenet_head", "match_class_names", "parse_class_list", "zero_shot_scores"]
