"""Zero-shot classification from class names: build a ZeroShotMap for a backbone, score items.

Example:
    >>> from handful.zeroshot import ZeroShotScorer
    >>> ZeroShotScorer(["ant", "bee"]).predict(["photo1.jpg", "photo2.jpg"])
    ['ant', 'bee']
    >>> ZeroShotScorer(["positive", "negative"], modality="text",
    ...                template="this review is {}").predict(["I loved it"])
    ['positive']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..backbones import create_backbone
from ..backbones.base import Backbone
from ..cache import FeatureCache
from ..data.examples import ARTICLE, as_items, check_modality
from ..errors import BackboneUnavailableError, DataError
from .labels import class_phrase, imagenet_label_texts
from .semantic import ZeroShotMap, softmax

DEFAULT_ZERO_SHOT_BACKBONES = {"image": "efficientnet_lite2", "text": "minilm"}
DEFAULT_TEXT_BACKBONE = "minilm"  # embeds ImageNet labels and class names for ConSE
DEFAULT_TEMPLATES = {"image": "{}", "clip": "a photo of a {}.", "text": "{}"}
TOP_T = 10  # ConSE's T: Norouzi et al. report T=10 as the best setting
TEMPERATURE = 0.05  # softmax temperature on cosine scores for display probabilities
Progress = Callable[[int], None]


def imagenet_head(backbone: Backbone) -> tuple[np.ndarray, np.ndarray] | None:
    """``(W (1000, dim), b (1000,))``: the backbone's ImageNet-1k classifier on its embeddings.

    EfficientNet-Lite embeddings are the pooled features its ``_fc`` layer reads, so the
    logits are ``embeddings @ W.T + b`` with no second forward pass. A concatenation of
    backbones averages the logits of the parts that have such a head. None when none has.
    """
    get = getattr(backbone, "imagenet_head", None)
    if callable(get):
        return get()
    parts = getattr(backbone, "parts", None)
    if parts:
        return _concat_head(parts)
    fc = getattr(getattr(backbone, "model", None), "_fc", None)
    if fc is None or getattr(fc, "out_features", 0) != 1000 or fc.in_features != backbone.dim:
        return None
    return (fc.weight.detach().float().numpy().copy(), fc.bias.detach().float().numpy().copy())


def _concat_head(parts: Sequence[Backbone]) -> tuple[np.ndarray, np.ndarray] | None:
    heads = [imagenet_head(p) for p in parts]
    n_with = sum(h is not None for h in heads)
    if n_with == 0:
        return None
    blocks, bias = [], np.zeros(1000, dtype=np.float32)
    for part, head in zip(parts, heads, strict=True):
        if head is None:
            blocks.append(np.zeros((1000, part.dim), dtype=np.float32))
        else:
            blocks.append(head[0] / n_with)
            bias += head[1] / n_with
    return np.hstack(blocks), bias


def embed_texts(texts: Sequence[str], backbone: Backbone | str = DEFAULT_TEXT_BACKBONE,
                cache: FeatureCache | None = None) -> np.ndarray:
    """L2-normalized text embeddings (n, e), through the feature cache."""
    if isinstance(backbone, str):
        backbone = create_backbone(backbone)
    if hasattr(backbone, "embed_texts"):  # CLIP: the text tower of an image backbone
        return np.asarray(backbone.embed_texts(list(texts)), dtype=np.float32)
    cache = cache or FeatureCache()
    X, _ = cache.get_or_compute(backbone, list(texts))
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, 1e-12)


def build_zero_shot_map(backbone: Backbone, class_names: Sequence[str], template: str | None = None,
                        text_backbone: Backbone | str | None = None,
                        cache: FeatureCache | None = None, top_t: int = TOP_T) -> ZeroShotMap:
    """The ZeroShotMap that scores ``backbone`` embeddings against ``class_names``.

    Text backbones and CLIP score by cosine in their own space; image backbones with an
    ImageNet classifier use ConSE with ``text_backbone`` (default ``DEFAULT_TEXT_BACKBONE``)
    for the label and class names.

    Raises:
        BackboneUnavailableError: an image backbone with neither an ImageNet head nor texts.
    """
    template = check_template(template)
    if backbone.modality == "text":
        texts = [(template or DEFAULT_TEMPLATES["text"]).format(class_phrase(c)) for c in class_names]
        return ZeroShotMap(tuple(class_names), embed_texts(texts, backbone, cache))
    if hasattr(backbone, "embed_texts"):
        texts = [(template or DEFAULT_TEMPLATES["clip"]).format(class_phrase(c)) for c in class_names]
        return ZeroShotMap(tuple(class_names), embed_texts(texts, backbone, cache))
    head = imagenet_head(backbone)
    if head is None:
        raise BackboneUnavailableError(
            f"Backbone '{backbone.name}' has no ImageNet classifier and no text encoder, so it "
            "cannot classify from class names. Use efficientnet_lite0, efficientnet_lite2 or an "
            "open_clip: backbone.")
    if not isinstance(text_backbone, Backbone):
        text_backbone = create_backbone(text_backbone or DEFAULT_TEXT_BACKBONE)
    texts = [(template or DEFAULT_TEMPLATES["image"]).format(class_phrase(c)) for c in class_names]
    return ZeroShotMap(tuple(class_names), embed_texts(texts, text_backbone, cache),
                       head[0], head[1], embed_texts(imagenet_label_texts(), text_backbone, cache),
                       top_t)


def check_template(template: str | None) -> str | None:
    if template is not None and template.count("{}") != 1:
        raise DataError(f"--template must contain '{{}}' exactly once where the class name goes, "
                        f"like \"a photo of a {{}}\". Got '{template}'.")
    return template


class ZeroShotScorer:
    """Classify images or texts into named classes with no labeled example.

    Args:
        classes: the class names (also what ``predict`` returns).
        modality: ``"image"`` or ``"text"``.
        backbone: ``"auto"`` (efficientnet_lite2 for images, minilm for texts), another
            registered backbone, a concatenation ``a+b``, or ``open_clip:ARCH/TAG`` (CLIP).
        template: how a class name becomes a phrase, e.g. ``"this review is {}"``.
        cache: a FeatureCache, None for the default one, False for none.
    """

    def __init__(self, classes: Sequence[str], modality: str = "image", backbone: str = "auto",
                 template: str | None = None, text_backbone: str | None = None,
                 top_t: int = TOP_T, cache: FeatureCache | bool | None = None,
                 batch_size: int = 32):
        self.classes = tuple(str(c) for c in as_items(classes, "classes"))
        if len(set(self.classes)) < 2:
            raise DataError(f"Zero-shot needs at least 2 class names to choose from; got {list(self.classes)}.")
        self.modality = check_modality(modality)
        self.backbone = backbone
        self.template = check_template(template)
        self.text_backbone = text_backbone
        self.top_t = top_t
        self.cache = cache if isinstance(cache, FeatureCache) else FeatureCache(enabled=cache is not False)
        self.batch_size = batch_size
        self._map: ZeroShotMap | None = None
        self._backbone: Backbone | None = None

    @property
    def backbone_(self) -> Backbone:
        if self._backbone is None:
            name = DEFAULT_ZERO_SHOT_BACKBONES[self.modality] if self.backbone == "auto" else self.backbone
            self._backbone = create_backbone(name)
            if self._backbone.modality != self.modality:
                raise DataError(f"Backbone '{name}' embeds {self._backbone.modality}s but the data "
                                f"holds {self.modality}s. Choose {ARTICLE[self.modality]} {self.modality} backbone.")
        return self._backbone

    @property
    def map_(self) -> ZeroShotMap:
        if self._map is None:
            self._map = build_zero_shot_map(self.backbone_, self.classes, self.template,
                                            self.text_backbone, self.cache, self.top_t)
        return self._map

    def scores(self, items: Sequence[str], progress: Progress | None = None
               ) -> tuple[np.ndarray, dict[int, str]]:
        """Cosine scores (n, n_classes) (NaN rows for unusable items) and ``{index: reason}``."""
        items = as_items(items)
        zs_map = self.map_
        if hasattr(self.backbone_, "parts"):  # a concatenation: reuse each part's cache
            from ..backbones.concat import embed_parts_cached

            X, failures = embed_parts_cached(self.cache, self.backbone_, items, self.batch_size,
                                             progress)
        else:
            X, failures = self.cache.get_or_compute(self.backbone_, list(items), self.batch_size,
                                                    progress)
        out = np.full((len(items), len(self.classes)), np.nan, dtype=np.float32)
        ok = [i for i in range(len(items)) if i not in failures]
        if ok:
            out[ok] = zs_map.scores(X[ok])
        return out, failures

    def predict_proba(self, items: Sequence[str]) -> np.ndarray:
        """Softmax of the scores at a fixed temperature (NaN rows for unusable items)."""
        scores, _ = self.scores(as_items(items))
        return softmax(np.nan_to_num(scores) / TEMPERATURE) + np.where(np.isnan(scores), np.nan, 0)

    def predict(self, items: Sequence[str]) -> list[str | None]:
        """The best-matching class name for each item (None for an unusable file)."""
        items = as_items(items)
        scores, failures = self.scores(items)
        return [None if i in failures else self.classes[int(np.argmax(row))]
                for i, row in enumerate(scores)]


def zero_shot_scores(items: Sequence[str], classes: Sequence[str], modality: str = "text",
                     template: str | None = None, backbone: str = "auto") -> np.ndarray:
    """Cosine scores (n, n_classes) of ``items`` against ``classes`` (NaN rows for bad items).

    Example:
        >>> zero_shot_scores(["great film", "awful"], ["positive", "negative"]).argmax(axis=1)
        array([0, 1])
    """
    return ZeroShotScorer(classes, modality, backbone, template).scores(items)[0]
