"""On-disk embedding cache."""

from .store import FeatureCache, content_key, default_cache_dir

__all__ = ["FeatureCache", "content_key", "default_cache_dir"]
