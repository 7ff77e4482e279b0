"""ZeroShotMap: a backbone's embeddings -> similarity to each class name (pure numpy, saveable).

Two kinds:

* **ConSE** (Norouzi et al. 2014, "Zero-shot learning by convex combination of semantic
  embeddings") for image backbones with an ImageNet-1k classifier: the classifier's
  probabilities over the 1000 labels, the top ``top_t`` of them renormalized, weight the text
  embeddings of those labels; the image's semantic embedding is that convex combination.
* **cosine** for backbones that embed images and texts in one space (CLIP) and for text
  backbones (the text itself is the semantic embedding).

Either way the score of class ``k`` is the cosine similarity of the item's semantic embedding
with the text embedding of class ``k``'s name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class ZeroShotMap:
    """Scores ``(n, n_classes)`` of embeddings ``(n, dim)`` against class-name embeddings.

    Attributes:
        class_names: the classes, in the order of ``class_embeddings`` rows.
        class_embeddings: (n_classes, e) L2-normalized text embeddings of the class names.
        fc_weight, fc_bias: (1000, dim), (1000,) ImageNet classifier on the embeddings (ConSE).
        label_embeddings: (1000, e) L2-normalized text embeddings of the ImageNet labels.
        top_t: how many of the most probable ImageNet labels form the semantic embedding.
    """

    class_names: tuple[str, ...]
    class_embeddings: np.ndarray
    fc_weight: np.ndarray | None = None
    fc_bias: np.ndarray | None = None
    label_embeddings: np.ndarray | None = None
    top_t: int = 10

    @property
    def kind(self) -> str:
        return "conse" if self.fc_weight is not None else "cosine"

    def semantic(self, X: np.ndarray) -> np.ndarray:
        """(n, dim) embeddings -> (n, e) L2-normalized semantic embeddings."""
        X = np.asarray(X, dtype=np.float32)
        if self.fc_weight is None:
            return l2_normalize(X)
        proba = softmax(X @ self.fc_weight.T + self.fc_bias)  # (n, 1000)
        t = min(int(self.top_t), proba.shape[1])
        top = np.argpartition(-proba, t - 1, axis=1)[:, :t]  # (n, t)
        weights = np.take_along_axis(proba, top, axis=1)
        weights /= weights.sum(axis=1, keepdims=True)
        mixed = np.einsum("nt,nte->ne", weights, self.label_embeddings[top])
        return l2_normalize(mixed)

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Cosine similarity (n, n_classes) of each row's semantic embedding to each class."""
        return self.semantic(X) @ self.class_embeddings.T

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most similar class name for each row."""
        return np.asarray(self.class_names, dtype=object)[np.argmax(self.scores(X), axis=1)]

    def select(self, classes: Sequence[str]) -> ZeroShotMap:
        """The same map restricted to (and ordered as) ``classes``."""
        index = {name: i for i, name in enumerate(self.class_names)}
        rows = [index[str(c)] for c in classes]
        return ZeroShotMap(tuple(str(c) for c in classes), self.class_embeddings[rows],
                           self.fc_weight, self.fc_bias, self.label_embeddings, self.top_t)

    def state_arrays(self, prefix: str = "zs_") -> dict[str, np.ndarray]:
        """The arrays that define the map (for safetensors), keys prefixed."""
        arrays = {"class_embeddings": self.class_embeddings}
        if self.fc_weight is not None:
            arrays |= {"fc_weight": self.fc_weight, "fc_bias": self.fc_bias,
                       "label_embeddings": self.label_embeddings}
        return {prefix + k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}

    @classmethod
    def from_arrays(cls, class_names: Sequence[str], arrays: dict[str, np.ndarray],
                    top_t: int = 10, prefix: str = "zs_") -> ZeroShotMap:
        """Rebuild a map saved with ``state_arrays``."""
        get = arrays.get
        return cls(tuple(class_names), np.asarray(arrays[prefix + "class_embeddings"]),
                   get(prefix + "fc_weight"), get(prefix + "fc_bias"),
                   get(prefix + "label_embeddings"), top_t)
