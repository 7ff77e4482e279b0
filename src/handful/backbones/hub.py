"""Online backbones through timm, open_clip and sentence-transformers (optional ``hub`` extra).

These download weights on first use, so they need network access; offline they fail with a
message that names the offline backbones instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import BackboneUnavailableError, UnknownNameError
from .base import BackboneBase, BackboneInfo
from .image_input import no_embeddings, preprocess_image, to_tensor

_PACKAGES = {"timm": "timm", "open_clip": "open_clip_torch", "st": "sentence-transformers"}
_OFFLINE = "efficientnet_lite0, efficientnet_lite2 (images), minilm, e5_small (texts)"


def _import(prefix: str):
    try:
        if prefix == "timm":
            import timm

            return timm
        if prefix == "open_clip":
            import open_clip

            return open_clip
        import sentence_transformers

        return sentence_transformers
    except ImportError as err:
        raise BackboneUnavailableError(
            f"Backbone prefix '{prefix}:' needs the package '{_PACKAGES[prefix]}', which is not "
            f"installed. Run `pip install 'handful[hub]'`, or use an offline backbone: {_OFFLINE}."
        ) from err


def _offline_error(name: str, err: Exception) -> BackboneUnavailableError:
    return BackboneUnavailableError(
        f"Backbone '{name}' could not load its weights ({type(err).__name__}): it downloads "
        f"them from a model hub, which needs network access. Offline backbones: {_OFFLINE}."
    )


class TimmBackbone(BackboneBase):
    """Any timm model as a pooled feature extractor (``num_classes=0``)."""

    def __init__(self, model_name: str):
        import torch

        timm = _import("timm")
        try:
            self.model = timm.create_model(model_name, pretrained=True, num_classes=0).eval()
        except RuntimeError as err:
            if "Unknown model" in str(err):
                raise UnknownNameError(f"timm has no model '{model_name}'.") from err
            raise _offline_error(f"timm:{model_name}", err) from err
        except OSError as err:
            raise _offline_error(f"timm:{model_name}", err) from err
        cfg = timm.data.resolve_data_config({}, model=self.model)
        size = int(cfg["input_size"][-1])
        self.info = BackboneInfo(
            name=f"timm:{model_name}", modality="image", dim=int(self.model.num_features),
            weights=str(getattr(self.model, "pretrained_cfg", {}).get("tag", "")),
            input_size=size, resize_size=round(size / cfg.get("crop_pct", 0.875)),
            mean=tuple(cfg["mean"]), std=tuple(cfg["std"]),
            interpolation=cfg.get("interpolation", "bicubic"), offline=False,
        )
        self._torch = torch

    def preprocess(self, item: str) -> np.ndarray:
        return preprocess_image(item, self.info)

    def embed(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        if not len(batch):
            return no_embeddings(self.dim)
        with self._torch.inference_mode():
            return self.model(to_tensor(batch, self.info)).float().numpy()


class OpenClipBackbone(BackboneBase):
    """An open_clip image tower; name as ``ARCH/PRETRAINED_TAG`` (e.g. ``ViT-B-32/laion2b_s34b_b79k``)."""

    def __init__(self, spec: str):
        import torch

        open_clip = _import("open_clip")
        arch, _, tag = spec.partition("/")
        try:
            model, _, _ = open_clip.create_model_and_transforms(arch, pretrained=tag or None)
        except (RuntimeError, OSError) as err:
            raise _offline_error(f"open_clip:{spec}", err) from err
        self.model = model.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        size = int(model.visual.image_size[0] if isinstance(model.visual.image_size, tuple)
                   else model.visual.image_size)
        self.info = BackboneInfo(
            name=f"open_clip:{spec}", modality="image", dim=int(model.visual.output_dim),
            weights=tag, input_size=size, resize_size=size, interpolation="bicubic",
            mean=(0.48145466, 0.4578275, 0.40821073), std=(0.26862954, 0.26130258, 0.27577711),
            offline=False,
        )
        self._torch = torch

    def preprocess(self, item: str) -> np.ndarray:
        return preprocess_image(item, self.info)

    def embed(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        if not len(batch):
            return no_embeddings(self.dim)
        with self._torch.inference_mode():
            out = self.model.encode_image(to_tensor(batch, self.info)).float()
        return self._torch.nn.functional.normalize(out, dim=-1).numpy()

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """CLIP text embeddings (L2-normalized), for zero-shot from class names."""
        with self._torch.inference_mode():
            out = self.model.encode_text(self.tokenizer(list(texts))).float()
        return self._torch.nn.functional.normalize(out, dim=-1).numpy()


class SentenceTransformerBackbone(BackboneBase):
    """Any sentence-transformers model by hub name."""

    def __init__(self, model_name: str):
        st = _import("st")
        try:
            self.model = st.SentenceTransformer(model_name, device="cpu")
        except (OSError, ValueError, RuntimeError) as err:
            raise _offline_error(f"st:{model_name}", err) from err
        self.info = BackboneInfo(
            name=f"st:{model_name}", modality="text",
            dim=int(self.model.get_sentence_embedding_dimension()), offline=False,
        )

    def preprocess(self, item: str) -> str:
        return " ".join(str(item).split())

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        out = self.model.encode(list(batch), convert_to_numpy=True, normalize_embeddings=True,
                                show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def tunable_module(self):
        """The SentenceTransformer, for contrastive fine-tuning (``--finetune``)."""
        return self.model


def create_hub_backbone(prefix: str, name: str) -> BackboneBase:
    """Build a ``timm:``, ``open_clip:`` or ``st:`` backbone."""
    factories = {"timm": TimmBackbone, "open_clip": OpenClipBackbone,
                 "st": SentenceTransformerBackbone}
    if prefix not in factories:
        raise UnknownNameError(
            f"Unknown backbone prefix '{prefix}:'. Use one of timm:, open_clip:, st:, "
            f"or an offline backbone: {_OFFLINE}."
        )
    if not name:
        raise UnknownNameError(f"Backbone '{prefix}:' needs a model name after the colon.")
    return factories[prefix](name)
