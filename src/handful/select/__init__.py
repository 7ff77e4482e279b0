"""Model selection by cross-validation on cached embeddings."""

from .baseline import majority_baseline, transfer_warning
from .models import AUTO_BACKBONES, search_models
from .search import DEFAULT_CANDIDATES, FitProgress, Leaderboard, cv_splits, head_candidates, search_heads

__all__ = ["AUTO_BACKBONES", "DEFAULT_CANDIDATES", "FitProgress", "Leaderboard", "cv_splits", "head_candidates",
           "majority_baseline", "search_heads", "search_models", "transfer_warning"]
