"""One torch module for the whole model: uint8 pixels in, class probabilities out.

The head arrays (``_state_attrs``) become float32 buffers, and each head's ``predict_proba``
is rewritten with torch ops that ONNX can express. Normalization (scale to [0, 1], mean/std)
happens inside the graph, so a caller only resizes and center-crops (see ``preprocessing``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..backbones.base import Backbone, BackboneInfo
from ..errors import BundleError
from ..heads import KNNHead, LogisticHead, MLPHead, PrototypeHead


def _buffer(module: nn.Module, name: str, array) -> None:
    module.register_buffer(name, torch.as_tensor(np.asarray(array, dtype=np.float32)))


def _l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """Same as ``heads.base.l2_normalize``: rows / max(norm, 1e-12)."""
    return x / x.pow(2).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12)


class LogisticModule(nn.Module):
    """``LogisticHead.predict_proba``: (optional L2) standardize, linear, softmax."""

    def __init__(self, head: LogisticHead):
        super().__init__()
        self.l2 = head.normalize == "l2"
        self.binary = head.coef_.shape[0] == 1
        for name in head._state_attrs:
            _buffer(self, name.rstrip("_"), getattr(head, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (n, dim) -> (n, n_classes)
        if self.l2:
            x = _l2_normalize(x)
        scores = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        if self.binary:  # one logit for the second class, as in the numpy head
            scores = torch.cat([torch.zeros_like(scores), scores], dim=1)
        return torch.softmax(scores, dim=1)


class PrototypeModule(nn.Module):
    """``PrototypeHead.predict_proba``: center, L2-normalize, cosine / temperature, softmax; or, for
    the euclidean metric (a ProtoNet's), softmax of minus the squared distance / temperature."""

    def __init__(self, head: PrototypeHead):
        super().__init__()
        self.temperature = float(head.temperature)
        self.euclidean = head.metric == "euclidean"
        _buffer(self, "mean", head.mean_)
        _buffer(self, "prototypes", head.prototypes_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.euclidean:
            squared = (x * x).sum(1, keepdim=True) - 2 * x @ self.prototypes.T + (self.prototypes ** 2).sum(1)
            return torch.softmax(-squared.clamp_min(0.0) / self.temperature, dim=1)
        return torch.softmax(_l2_normalize(x - self.mean) @ self.prototypes.T / self.temperature, dim=1)


class KNNModule(nn.Module):
    """``KNNHead.predict_proba``: top-k cosine neighbours, exp-weighted votes, normalized.

    Votes are gathered from a one-hot (n_train, n_classes) table instead of ``np.add.at``,
    which ONNX has no direct equivalent for; the sums are the same.
    """

    def __init__(self, head: KNNHead):
        super().__init__()
        self.temperature = float(head.temperature)
        self.k = min(int(head.n_neighbors), head.X_.shape[0])
        _buffer(self, "mean", head.mean_)
        _buffer(self, "neighbours", head.X_)
        _buffer(self, "votes", np.eye(len(head.classes_))[np.asarray(head.y_, dtype=np.int64)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sims = _l2_normalize(x - self.mean) @ self.neighbours.T  # (n, n_train)
        top_sims, top = torch.topk(sims, self.k, dim=1)
        weights = torch.exp((top_sims - 1.0) / self.temperature)  # (n, k)
        proba = (self.votes[top] * weights.unsqueeze(2)).sum(dim=1) + 1e-6  # (n, n_classes)
        return proba / proba.sum(dim=1, keepdim=True)


class MLPModule(nn.Module):
    """``MLPHead.predict_proba``: standardize, Linear, ReLU, Linear, softmax."""

    def __init__(self, head: MLPHead):
        super().__init__()
        for name in head._state_attrs:
            _buffer(self, name.rstrip("_"), getattr(head, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(((x - self.mean) / self.scale) @ self.W1.T + self.b1)
        return torch.softmax(hidden @ self.W2.T + self.b2, dim=1)


HEAD_MODULES: dict[type, Callable[..., nn.Module]] = {
    LogisticHead: LogisticModule, PrototypeHead: PrototypeModule, KNNHead: KNNModule,
    MLPHead: MLPModule,
}


def head_module(head) -> nn.Module:
    """The torch twin of a fitted handful head (same probabilities, float32)."""
    factory = HEAD_MODULES.get(type(head))
    if factory is None and hasattr(head, "base") and hasattr(head, "kind"):  # ZeroShotPriorHead
        raise BundleError(f"Head {type(head).__name__} (a {head.base} head with a zero-shot prior) cannot be "
                          "exported to ONNX yet: the prior's class-name scores are not in the graph. "
                          f"Re-train without --zero-shot-prior (--head {head.base} alone), or predict "
                          "with --runtime torch.")
    if factory is None:
        raise BundleError(f"Head {type(head).__name__} cannot be exported to ONNX yet (supported: "
                          f"{', '.join(c.__name__ for c in HEAD_MODULES)}). Re-train with one of them.")
    module = factory(head)
    if head.calibration_ != 1.0:
        module = Calibrated(module, head.calibration_)
    return module.eval()


class Calibrated(nn.Module):
    """A head module's probabilities temperature-scaled as ``HeadMixin.calibrate`` does:
    ``softmax(log p / temperature)``, with p clipped at the float32 floor."""

    def __init__(self, head: nn.Module, temperature: float):
        super().__init__()
        self.head = head
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        log_p = torch.log(self.head(x).clamp_min(torch.finfo(torch.float32).tiny))
        return torch.softmax(log_p / self.temperature, dim=1)


class NormalizedFeatures(nn.Module):
    """uint8 (n, H, W, 3) -> float NCHW in the backbone's mean/std -> ``features`` (n, dim)."""

    def __init__(self, info: BackboneInfo, network: nn.Module, features: Callable | None = None):
        super().__init__()
        self.network = network  # registered so its weights are part of the graph
        self.features = features or network
        _buffer(self, "mean", np.asarray(info.mean).reshape(1, 3, 1, 1))
        _buffer(self, "std", np.asarray(info.std).reshape(1, 3, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).float() / 255.0
        return self.features((x - self.mean) / self.std)


def feature_module(backbone: Backbone) -> nn.Module:
    """A module mapping what ``backbone.preprocess`` returns (uint8 NHWC) to embeddings.

    A backbone may provide ``torch_module()`` itself; EfficientNet-Lite (``features``), timm
    (``model``) and open_clip (``model.encode_image``) backbones are wrapped here.
    """
    if backbone.modality != "image":
        raise BundleError(f"Backbone '{backbone.name}' embeds {backbone.modality}s; ONNX export "
                          "supports image models only. Use `handful predict` for text models.")
    if hasattr(backbone, "torch_module"):
        return backbone.torch_module().eval()
    model = getattr(backbone, "model", None)
    if isinstance(model, nn.Module):
        if hasattr(backbone, "features"):
            return NormalizedFeatures(backbone.info, model, backbone.features).eval()
        if hasattr(model, "encode_image"):
            return NormalizedFeatures(backbone.info, model, model.encode_image).eval()
        return NormalizedFeatures(backbone.info, model).eval()
    raise BundleError(f"Backbone '{backbone.name}' has no torch network to export. Give it a "
                      "`torch_module()` method, or use an EfficientNet-Lite or timm backbone.")


def backbone_parts(backbone: Backbone) -> tuple:
    """The backbones whose embeddings the model's are: a concatenation's parts, else itself."""
    return tuple(getattr(backbone, "parts", (backbone,)))


def input_names(backbone: Backbone) -> list[str]:
    """The graph's inputs: ``image``, or ``image_<part>`` for each part of a concatenation."""
    parts = backbone_parts(backbone)
    return ["image"] if len(parts) == 1 else [f"image_{p.name}" for p in parts]


class ClassifierGraph(nn.Module):
    """Backbone + head: uint8 pixels (n, H, W, 3), or (n, H, W) for a grayscale backbone ->
    (probabilities (n, C), embeddings (n, dim)). A concatenated backbone (``a+b``) takes one
    input per part, each preprocessed for that part; their features are concatenated in the
    parts' order, as the head was trained."""

    def __init__(self, backbone: Backbone, head):
        super().__init__()
        self.parts = nn.ModuleList(feature_module(p) for p in backbone_parts(backbone))
        self.head = head_module(head)

    def forward(self, *pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = [part(x).float() for part, x in zip(self.parts, pixels)]
        embeddings = features[0] if len(features) == 1 else torch.cat(features, dim=1)
        return self.head(embeddings), embeddings


def preprocessing(info: BackboneInfo, channels: int = 3, draft_size: int | None = None) -> dict:
    """What a caller does before the graph, and what the graph does itself (for metadata).

    ``channels`` 1: a grayscale backbone (Conv-4), whose input is (n, H, W) luminance; its
    test-time shifts, if any, are inside the graph. ``draft_size``: the short side a JPEG is
    decoded at least at (default ``info.resize_size``; a concatenation decodes once for all parts,
    at the largest)."""
    gray = channels == 1
    draft = draft_size or info.resize_size
    decode = ("decode (a JPEG in PIL draft mode: img.draft('RGB', (int(w * s) + 1, int(h * s) + 1)) "
              f"with s = {draft} / min(w, h) of the stored size, before loading: PIL decodes at the largest "
              "DCT reduction, 1/2, 1/4 or 1/8, that keeps at least that size, else at full size)"
              if not gray or draft_size else "decode")
    return {
        "input": "image", "dtype": "uint8", "layout": "NHW" if gray else "NHWC",
        "channels": "L" if gray else "RGB",
        "shape": [None, info.input_size, info.input_size] + ([] if gray else [3]),
        "before_graph": [
            f"{decode}, apply EXIF orientation; a 16-bit image (PIL mode I;16 or I) is scaled v / 256 "
            "to 8-bit ('L', as img.point(lambda v: v / 256).convert('L')); convert to RGB (transparency "
            "over white)" + (", then to grayscale (PIL 'L')" if gray else ""),
            f"resize so the short side is {info.resize_size} px ({info.interpolation})",
            f"center-crop {info.input_size}x{info.input_size}",
        ],
        "in_graph": {"scale": "x / 255", "mean": list(info.mean), "std": list(info.std)},
        "resize_size": info.resize_size, "input_size": info.input_size,
        "interpolation": info.interpolation,
    }


def model_preprocessing(backbone: Backbone) -> dict:
    """``preprocessing`` of the model's backbone; for a concatenation, ``{"inputs": [...]}`` with one
    entry per graph input (its ``name`` added), each image decoded once for all of them."""
    parts = backbone_parts(backbone)
    if len(parts) == 1:
        return preprocessing(backbone.info, getattr(backbone, "channels", 3))
    draft = max(p.info.resize_size for p in parts)
    return {"input": "images", "inputs": [
        {"name": name, **preprocessing(p.info, getattr(p, "channels", 3), draft)}
        for name, p in zip(input_names(backbone), parts)],
        "note": "decode each image once (as each entry's first step says), then resize and crop it "
                "for each input"}
