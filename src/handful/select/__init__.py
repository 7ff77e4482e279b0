"""Model selection by cross-validation on cached embeddings."""

from .search import DEFAULT_CANDIDATES, Leaderboard, cv_splits, search_heads

__all__ = ["DEFAULT_CANDIDATES", "Leaderboard", "cv_splits", "search_heads"]
