"""Online backbones through timm, open_clip and sentence-transformers (optional ``hub`` extra).

These download weights on first use, so they need network access; offline they fail with a
message that names the offline backbones instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import BackboneUnavailableError, UnknownNameError
from .base import BackboneBase, BackboneInfo
from .image_input import no_embeddings, preprocess_image, to_tensor
from .text_encoders import TokenWindow, normalize_text

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
    except Exception as err:  # installed but broken: a mismatched torchvision raises RuntimeError
        raise BackboneUnavailableError(_broken_import_message(prefix, err)) from err


def _broken_import_message(prefix: str, err: Exception) -> str:
    """One line for a hub package that is installed but fails to import (``err``), with its fix."""
    module = "sentence_transformers" if prefix == "st" else prefix
    fix = f"reinstall it (`pip install --force-reinstall {_PACKAGES[prefix]}`)"
    if "torchvision" in str(err):  # PyPI's torchvision beside a CPU (or other-release) torch
        fix = _torchvision_fix(optional=prefix == "st")
    return (f"Backbone prefix '{prefix}:' needs the package '{_PACKAGES[prefix]}', which is installed but "
            f"fails to import ({module}: {type(err).__name__}: {err}). To fix it, {fix}; or use an "
            f"offline backbone: {_OFFLINE}.")


def _torchvision_fix(optional: bool) -> str:
    """Install the torchvision built for the installed torch: torch 2.N pairs with torchvision
    0.(N+15), from the same index (a ``+cpu`` torch comes from PyTorch's CPU index)."""
    from importlib.metadata import version

    torch_version = version("torch")
    release, _, local = torch_version.partition("+")
    minor = int(release.split(".")[1])
    index = f" --index-url https://download.pytorch.org/whl/{local}" if local else ""
    fix = (f"install the torchvision built for torch {torch_version} "
           f"(`pip install torchvision==0.{minor + 15}.*{index}`)")
    return fix + (", or `pip uninstall torchvision`" if optional else "")


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


class SentenceTransformerBackbone(TokenWindow, BackboneBase):
    """Any sentence-transformers model by hub name. It embeds a text's first ``max_seq_length``
    tokens (sentence-transformers tokenizes with truncation); ``TokenWindow`` says how many are cut.

    ``model``: a SentenceTransformer already loaded (tests, or one the caller holds), else loaded
    by ``model_name``.
    """

    long_text_hint = " (e5_small reads long texts whole; or choose a model with a longer max_seq_length)"

    def __init__(self, model_name: str, model=None):
        if model is None:
            model = _load_sentence_transformer(_import("st"), model_name)
        self.model = model
        # renamed in sentence-transformers 6 (the old name warns)
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.info = BackboneInfo(name=f"st:{model_name}", modality="text", dim=int(dimension()), offline=False)
        self.max_tokens, self.n_special_tokens, self._count = sentence_window(model)

    def preprocess(self, item: str) -> str:
        return normalize_text(item)

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        self._warn_unchecked(batch)
        out = self.model.encode(list(batch), convert_to_numpy=True, normalize_embeddings=True,
                                show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def token_counts(self, texts: list[str]) -> list[int]:
        return self._count(texts)

    def _long_texts(self, texts: Sequence[str]) -> tuple[list[str], list[str]]:
        """(the texts tokenized, those past the window); none without a window. TokenWindow's
        shortcut (a token covers a character) fails for byte-level tokenizers, which spend up to 4
        tokens on one character: a token covers a UTF-8 byte, plus SentencePiece's lone word-start mark."""
        if self.max_tokens is None:
            return [], []
        fit = self.max_tokens - self.n_special_tokens - 1
        candidates = [t for t in texts if len(t.encode("utf-8")) > fit]
        counts = self._count(candidates) if candidates else []
        return candidates, [t for t, n in zip(candidates, counts) if n > self.max_tokens]

    def tunable_module(self):
        """The SentenceTransformer, for contrastive fine-tuning (``--finetune``)."""
        return self.model


def _load_sentence_transformer(st, model_name: str):
    """``st.SentenceTransformer(model_name)``, failing in seconds when it must download and the hub
    cannot be reached: huggingface_hub retries a first download 5 times with back-off (about 75 s),
    logging a "Retrying in 8s" line each time."""
    if not os.path.isdir(model_name):
        _require_hub(model_name)
    http_log = logging.getLogger("huggingface_hub.utils._http")
    level = http_log.level
    http_log.setLevel(logging.ERROR)  # the retry lines of a flaky download; the error says what failed
    try:
        return st.SentenceTransformer(model_name, device="cpu")
    except (OSError, ValueError, RuntimeError) as err:
        raise _offline_error(f"st:{model_name}", err) from err
    finally:
        http_log.setLevel(level)


def _require_hub(model_name: str) -> None:
    """Refuse in one line when ``model_name`` is not in the local cache and the hub does not answer
    one request within 5 s (through huggingface_hub's own session: its proxies, HF_ENDPOINT, token)."""
    import huggingface_hub
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:  # no request is made: a model not in the cache fails at once
        return
    try:
        cached = any(isinstance(huggingface_hub.try_to_load_from_cache(model_name, name), str)
                     for name in ("modules.json", "config.json"))
    except ValueError:  # not a valid repo id: sentence-transformers says so itself
        return
    if cached:  # huggingface_hub falls back to the cache without retrying when the hub is away
        return
    try:
        huggingface_hub.get_session().head(constants.ENDPOINT, timeout=5)
    except Exception as err:  # httpx's or requests' errors, by huggingface_hub version
        raise BackboneUnavailableError(
            f"Backbone 'st:{model_name}' is not in the local Hugging Face cache and the model hub "
            f"({constants.ENDPOINT}) cannot be reached ({type(err).__name__}): its weights download on "
            f"first use. Check the network connection (or HF_ENDPOINT and proxy settings), or use an "
            f"offline backbone: {_OFFLINE}."
        ) from err


def sentence_window(model) -> tuple[int | None, int, Callable[[list[str]], list[int]]]:
    """A sentence-transformers ``model``'s token window: (``max_seq_length``, or None when it has no
    limit; the special tokens added to each text; a function counting each text's tokens, special ones
    included, never truncating). A fast tokenizer is counted with a copy of its backend: the model's
    own is reconfigured (truncation, padding) by every ``encode``, on any thread."""
    limit = getattr(model, "max_seq_length", None)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None or not isinstance(limit, int) or not 0 < limit < 1_000_000:  # 1e30: "no limit"
        return None, 0, lambda texts: [0] * len(texts)
    try:
        n_special = int(tokenizer.num_special_tokens_to_add())
    except (AttributeError, NotImplementedError):
        n_special = limit  # unknown: every text is counted
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        from tokenizers import Tokenizer

        counter = Tokenizer.from_str(backend.to_str())
        counter.no_truncation()
        counter.no_padding()
        return limit, n_special, lambda texts: [len(e.ids) for e in counter.encode_batch_fast(list(texts))]
    return limit, n_special, lambda texts: [len(ids) for ids in tokenizer(
        list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]]


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
