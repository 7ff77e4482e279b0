"""Batch work at scale: streaming prediction/embedding over huge folders, locally or on Ray."""

from .batch import iter_embedding_results, iter_predictions, list_inputs
from .embedding_store import EmbeddingStore
from .writers import PredictionCsv

__all__ = ["EmbeddingStore", "PredictionCsv", "iter_embedding_results", "iter_predictions",
           "list_inputs"]
