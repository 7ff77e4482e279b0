"""Conv-4: the four-block encoder of prototypical networks (Snell et al. 2017), as a backbone.

Each block is conv 3x3 (64) -> batch norm -> ReLU -> max-pool 2, so a 28x28 grayscale glyph
becomes a 64-d vector. Registered as ``conv4_omniglot`` (random init until meta-trained by
``handful protonet train``, whose weights travel in the model directory) and as
``conv4_omniglot_gaussian``, which adds one channel that the Gaussian variant (Fort 2017)
reads as a per-example confidence (``conv4_omniglot_pyramid_gaussian``: the same on the
pyramid). ``conv4_omniglot_pyramid`` (32-64-128-256 channels, 256-d)
and ``conv4_omniglot_slim`` (32-64-64-64) narrow the first block, which runs at 28 x 28 and so
costs the most per channel: 1.9x and 2.5x the training episodes per second of the 64-channel
one, and the pyramid's wider deep blocks score higher (BENCHMARKS.md). ``test_tiny_conv`` is an
8-channel one for tests.

Test-time shifts (``tta_shift`` R > 0): ``embed`` averages the outputs of the image shifted by
every (dx, dy) with |dx|, |dy| <= R pixels, (2R + 1)^2 forward passes. A saved model keeps R
(``embed_options``), and R is part of the fingerprint, so cached embeddings never mix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from ..backbones.base import BackboneBase, BackboneInfo
from ..backbones.image_input import auto_precision, check_preprocessed, no_embeddings, preprocess_gray
from ..backbones.registry import register_backbone
from ..errors import DataError


def _block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(n_in, n_out, 3, padding=1), nn.BatchNorm2d(n_out), nn.ReLU(),
                         nn.MaxPool2d(2))


def shifted_views(x: torch.Tensor, radius: int) -> list[torch.Tensor]:
    """``x`` (n, c, H, W) shifted by every (dx, dy) with |dx|, |dy| <= radius; 0 (background) fills."""
    if radius == 0:
        return [x]
    h, w, side = x.shape[-2], x.shape[-1], 2 * radius + 1
    padded = F.pad(x, (radius, radius, radius, radius))
    return [padded[..., dy:dy + h, dx:dx + w] for dy in range(side) for dx in range(side)]


def mean_over_shifts(forward, x: torch.Tensor, radius: int) -> torch.Tensor:
    """The mean of ``forward(view)`` over ``shifted_views(x, radius)`` (one view at a time)."""
    views = shifted_views(x, radius)
    return sum(forward(view) for view in views) / len(views)


class Conv4(nn.Module):
    """(n, 1, 28, 28) -> (n, widths[-1] + extra): conv blocks of ``widths`` channels, flattened."""

    def __init__(self, widths: Sequence[int] = (64, 64, 64, 64), extra: int = 0):
        super().__init__()
        channels = [1, *widths[:-1], widths[-1] + extra]
        self.blocks = nn.Sequential(*[_block(a, b) for a, b in zip(channels, channels[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x).flatten(1)


class Conv4Graph(nn.Module):
    """uint8 (n, H, W) -> (n, dim): ``to_tensor``, then the mean of the network's outputs over the
    test-time shifts, all views in one batch (what ``Conv4Backbone.infer`` computes, in float32)."""

    def __init__(self, network: nn.Module, dim: int, radius: int, mean: float, std: float):
        super().__init__()
        self.network, self.dim, self.radius, self.mean, self.std = network, dim, radius, mean, std

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = (pixels.unsqueeze(1).float() / 255.0 - self.mean) / self.std
        views = shifted_views(x, self.radius)
        out = self.network(torch.cat(views))[:, :self.dim]
        return out.reshape(len(views), -1, self.dim).mean(0)


class Conv4Backbone(BackboneBase):
    """Grayscale glyph encoder: short side to ``input_size`` (area average), ink as 1.

    Images are turned to gray and inverted (``mean=1, std=-1`` in ``info``: ``(x - 1) / -1``)
    so the paper's white background becomes 0, the value that padding and rotation fill use.
    ``extra`` channels (the Gaussian variant's confidence) are not part of ``embed``; read
    them with ``embed_with_precision``.
    """

    channels = 1  # grayscale input: (H, W) arrays, an (n, H, W) ONNX input

    def __init__(self, name: str = "conv4_omniglot", widths: Sequence[int] = (64, 64, 64, 64),
                 extra: int = 0, input_size: int = 28, seed: int = 0, description: str = "",
                 precision: str = "auto"):
        widths = tuple(widths)
        out_size = input_size // 2 ** len(widths)
        self.extra = extra
        dim = widths[-1] * out_size * out_size
        self.info = BackboneInfo(
            name=name, modality="image", dim=dim, weights=f"random-init-{seed}",
            input_size=input_size, resize_size=input_size, mean=(1.0, 1.0, 1.0), std=(-1.0, -1.0, -1.0),
            interpolation="box", precision=auto_precision(precision), license="Apache-2.0",
            description=description or f"Conv-4 ({'-'.join(map(str, widths))} ch), {input_size}px grayscale",
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = Conv4(widths, extra).eval()
        self._split = dim
        self.tta_shift = 0

    @property
    def fingerprint(self) -> str:
        base = self.info.fingerprint()
        return f"{base}-shift{self.tta_shift}" if self.tta_shift else base

    def embed_options(self) -> dict:
        """Settings beside the weights that change the embeddings (saved with a model)."""
        return {"tta_shift": self.tta_shift} if self.tta_shift else {}

    def set_embed_options(self, options: dict) -> None:
        """Apply ``embed_options()`` of a saved model (or a user's override)."""
        unknown = sorted(set(options) - {"tta_shift"})
        if unknown:
            raise DataError(f"Backbone '{self.name}' has no option {unknown[0]!r}; it knows tta_shift.")
        radius = options.get("tta_shift", 0)
        limit = self.info.input_size // 4
        if not isinstance(radius, int) or not 0 <= radius <= limit:
            raise DataError(f"tta_shift of '{self.name}' must be a whole number of pixels from 0 to "
                            f"{limit} (a quarter of its {self.info.input_size}px input). Got {radius!r}.")
        self.tta_shift = radius

    def tunable_module(self) -> nn.Module:
        """The network that meta-training changes (saved as backbone.safetensors)."""
        return self.model

    def preprocess(self, item: str | Image.Image) -> np.ndarray:
        """Image path -> uint8 (input_size, input_size) grayscale, short side resized, center crop."""
        return preprocess_gray(item, self.info)

    def torch_module(self) -> nn.Module:
        """uint8 (n, H, W) -> embeddings (n, dim) as ``embed`` computes them, for ONNX export."""
        return Conv4Graph(self.model, self._split, self.tta_shift, self.info.mean[0], self.info.std[0]).eval()

    def to_tensor(self, batch: Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 (n, H, W) -> float (n, 1, H, W), ink 1, background 0."""
        check_preprocessed(batch)
        x = torch.from_numpy(np.stack(batch)).float().div_(255.0).unsqueeze(1)
        return (x - self.info.mean[0]) / self.info.std[0]

    def features_with_precision(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings (n, dim) and the raw extra channels (n, extra) (differentiable)."""
        out = self.model(x)
        return out[:, :self._split], out[:, self._split:]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 1, H, W) -> (n, dim) embeddings (differentiable)."""
        return self.features_with_precision(x)[0]

    def embed(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        return self.embed_with_precision(batch)[0]

    def embed_with_precision(self, batch: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings (n, dim) and raw confidence channels (n, extra), in eval mode."""
        if not len(batch):  # the network, and np.stack, refuse an empty batch
            return no_embeddings(self.dim), no_embeddings(self.extra)
        out = self.infer(self.model, self.to_tensor(batch))
        emb, raw = out[:, :self._split], out[:, self._split:]
        return emb.numpy().astype(np.float32), raw.numpy().astype(np.float32)

    def infer(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Float32 outputs of ``module`` (this network or a tuned copy) for ``x``, in eval mode:
        averaged over the test-time shifts, channels-last, bf16 autocast where ``info`` says so
        (49-view embedding 3.5x faster than float32 NCHW here, cosine to float32 > 0.9999)."""
        module.eval().to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        bf16 = self.info.precision == "bfloat16"
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return mean_over_shifts(lambda view: module(view).float(), x, self.tta_shift)


@register_backbone("conv4_omniglot", "image",
                   "Conv-4 (Snell et al.), 28px grayscale, 64-d; meta-train with `handful protonet train`")
def conv4_omniglot(**kwargs) -> Conv4Backbone:
    return Conv4Backbone("conv4_omniglot", **kwargs)


@register_backbone("conv4_omniglot_gaussian", "image",
                   "Conv-4 + 1 confidence channel (Gaussian prototypes, Fort 2017), 28px, 64-d")
def conv4_omniglot_gaussian(**kwargs) -> Conv4Backbone:
    return Conv4Backbone("conv4_omniglot_gaussian", extra=1, **kwargs)


@register_backbone("conv4_omniglot_pyramid", "image",
                   "Conv-4 widening 32-64-128-256 (cheap first block), 28px, 256-d; meta-train it")
def conv4_omniglot_pyramid(**kwargs) -> Conv4Backbone:
    return Conv4Backbone("conv4_omniglot_pyramid", widths=(32, 64, 128, 256), **kwargs)


@register_backbone("conv4_omniglot_pyramid_gaussian", "image",
                   "Conv-4 32-64-128-256 + 1 confidence channel (Gaussian prototypes), 28px, 256-d")
def conv4_omniglot_pyramid_gaussian(**kwargs) -> Conv4Backbone:
    return Conv4Backbone("conv4_omniglot_pyramid_gaussian", widths=(32, 64, 128, 256), extra=1, **kwargs)


@register_backbone("conv4_omniglot_slim", "image",
                   "Conv-4 32-64-64-64 (cheap first block), 28px, 64-d; meta-train it")
def conv4_omniglot_slim(**kwargs) -> Conv4Backbone:
    return Conv4Backbone("conv4_omniglot_slim", widths=(32, 64, 64, 64), **kwargs)


@register_backbone("test_tiny_conv", "image", "test backbone: 8-channel Conv-4, 16px", hidden=True)
def test_tiny_conv(**kwargs) -> Conv4Backbone:
    return Conv4Backbone("test_tiny_conv", widths=(8,) * 4, input_size=16, **kwargs)


@register_backbone("test_tiny_conv_gaussian", "image", "test backbone: tiny Conv-4 + confidence",
                   hidden=True)
def test_tiny_conv_gaussian(**kwargs) -> Conv4Backbone:
    return Conv4Backbone("test_tiny_conv_gaussian", widths=(8,) * 4, input_size=16, extra=1, **kwargs)
