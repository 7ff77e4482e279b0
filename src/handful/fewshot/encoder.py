"""The encoder side of few-shot evaluation: a meta-trained model or a plain backbone.

``FewShotEncoder`` embeds images (through the embedding cache where it can), knows which
scorer suits it (Gaussian for a Gaussian ProtoNet, Euclidean for a ProtoNet, the cosine
PrototypeHead for pretrained backbones) and which classes it has already seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..classifier import Classifier, load
from ..errors import DataError
from .conv4 import Conv4Backbone
from .episodes import SCORERS, Scorer
from .finetune import finetuned_copy
from .gaussian import gaussian_scorer
from .sources import preprocess_items
from .transductive import transductive_scorer

METRICS = ("auto", "euclidean", "cosine", "gaussian")


class FewShotEncoder:
    """Embeds images for episodes. Build with ``from_model`` or ``from_backbone``.

    Example:
        >>> encoder = FewShotEncoder.from_model("models/omniglot")
        >>> embeddings, failures = encoder.embed_items(paths)   # (n, 64)
    """

    def __init__(self, clf: Classifier, fewshot_meta: dict | None = None, source: str = ""):
        self.clf = clf
        self.backbone = clf.backbone_for("image")
        self.meta = fewshot_meta or {}
        self.source = source or self.backbone.name
        self.extra = int(getattr(self.backbone, "extra", 0))

    @classmethod
    def from_model(cls, path: str | Path) -> FewShotEncoder:
        """The encoder of a saved model (``handful protonet train`` or ``handful train``)."""
        clf = load(path)
        if clf.modality_ != "image":
            raise DataError(f"Model {path} classifies {clf.modality_}; episodes need an image model.")
        meta = dict(clf.model_json_.get("fewshot") or {})
        meta.setdefault("seen_classes", [str(c) for c in clf.classes_])
        return cls(clf, meta, str(path))

    @classmethod
    def from_backbone(cls, name: str = "auto") -> FewShotEncoder:
        """A registered backbone as it is (no meta-training)."""
        return cls(Classifier(backbone="efficientnet_lite0" if name == "auto" else name))

    @property
    def seen_classes(self) -> set[str]:
        """Classes this encoder was trained or validated on (never evaluate on them)."""
        return set(self.meta.get("seen_classes", []))

    def scorer(self, metric: str = "auto", transductive: bool = False) -> tuple[str, Scorer]:
        """The (name, scorer) for ``metric``; ``auto`` picks what the model was trained for.

        ``transductive`` refines the prototypes with each episode's queries (euclidean only).
        """
        if metric not in METRICS:
            raise DataError(f"--metric must be one of {', '.join(METRICS)}. Got '{metric}'.")
        if metric == "auto":
            metric = "gaussian" if self.extra else self.meta.get("metric", "cosine")
        if transductive and metric != "euclidean":
            raise DataError(f"--transductive works with the euclidean metric of a ProtoNet model "
                            f"(`handful protonet train`); {self.source} scores with {metric}. "
                            "Drop --transductive or pass --metric euclidean.")
        if metric == "gaussian":
            if not self.extra:
                raise DataError(f"--metric gaussian needs a Gaussian ProtoNet model; {self.source} "
                                "has no confidence output. Use euclidean or cosine.")
            return metric, gaussian_scorer(self.extra)
        base, extra = transductive_scorer if transductive else SCORERS[metric], self.extra
        if not extra:
            return metric, base
        return metric, lambda s, sy, q, n: base(s[:, :-extra], sy, q[:, :-extra], n)

    def embed_items(self, items: Sequence[str], progress: Callable[[int], None] | None = None
                    ) -> tuple[np.ndarray, dict[int, str]]:
        """(n, dim [+ extra]) for image paths (NaN rows for unusable ones) and ``{index: reason}``."""
        if not self.extra:
            return self.clf.embed(items, "image", progress)
        arrays, ok, bad = preprocess_items(self.backbone, items)  # confidences are not cached
        out = np.full((len(items), self.backbone.dim + self.extra), np.nan, dtype=np.float32)
        if ok:
            out[ok] = self.embed_arrays(arrays)
        if progress:
            progress(len(items))
        return out, bad

    def embed_arrays(self, arrays: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(n, dim [+ extra]) for preprocessed uint8 arrays, no cache; ``progress(k)`` per chunk done."""
        if self.extra:
            out = np.hstack(self.backbone.embed_with_precision(list(arrays)))
            if progress:
                progress(len(arrays))
            return out
        parts = []
        for i in range(0, len(arrays), 256):
            parts.append(self.backbone.embed(list(arrays[i:i + 256])))
            if progress:
                progress(len(parts[-1]))
        return np.concatenate(parts)

    @property
    def tta_shift(self) -> int:
        """Pixels of test-time shift the encoder averages over (0: none, or not a Conv-4)."""
        return getattr(self.backbone, "tta_shift", 0)

    def set_tta_shift(self, radius: int | None) -> None:
        """Average each embedding over image shifts of up to ``radius`` px (None: keep the model's)."""
        is_conv4 = isinstance(self.backbone, Conv4Backbone)
        if radius is None or (radius == 0 and not is_conv4):
            return
        if not is_conv4:
            raise DataError(f"--tta-shift needs a Conv-4 encoder; '{self.backbone.name}' is not one. "
                            "Drop --tta-shift.")
        limit = self.backbone.info.input_size // 4
        if not 0 <= radius <= limit:
            raise DataError(f"--tta-shift must be from 0 to {limit} pixels for '{self.backbone.name}' (a "
                            f"quarter of its {self.backbone.info.input_size}px input). Got {radius}.")
        self.backbone.set_embed_options({"tta_shift": radius})

    @property
    def can_finetune(self) -> bool:
        """Test-time fine-tuning is offered for Conv-4 encoders (cheap enough on a CPU)."""
        return isinstance(self.backbone, Conv4Backbone)

    def finetuned_embeddings(self, support: np.ndarray, support_y: np.ndarray, query: np.ndarray,
                             n_way: int, steps: int, lr: float = 1e-4, seed: int = 0
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Support and query outputs, laid out as ``embed_arrays``'s, from a copy tuned on ``support``."""
        if not self.can_finetune:
            raise DataError(f"Test-time fine-tuning needs a Conv-4 encoder; '{self.backbone.name}' "
                            "is not one. Drop --finetune-steps.")
        backbone, split = self.backbone, self.backbone.dim
        tuned = finetuned_copy(backbone.tunable_module(), lambda m, x: m(x)[:, :split],
                               backbone.to_tensor(support), support_y, n_way, steps, lr, seed)
        return (backbone.infer(tuned, backbone.to_tensor(support)).numpy(),
                backbone.infer(tuned, backbone.to_tensor(query)).numpy())
