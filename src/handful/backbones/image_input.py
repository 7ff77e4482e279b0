"""Image preprocessing shared by image backbones: decode, resize, center crop, normalize."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from ..data.images import load_image
from ..errors import DataError
from .base import BackboneInfo

_RESAMPLE = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}


def resize_and_crop(img: Image.Image, info: BackboneInfo) -> np.ndarray:
    """Short side to ``info.resize_size``, center crop ``info.input_size``: uint8 (H, W, 3)."""
    width, height = img.size
    scale = info.resize_size / min(width, height)
    new_size = (max(info.input_size, round(width * scale)), max(info.input_size, round(height * scale)))
    left = (new_size[0] - info.input_size) // 2
    top = (new_size[1] - info.input_size) // 2
    if max(new_size) > 4 * info.resize_size:
        # A strip (a 40000x1 spacer would be resized to 10,240,000x256, gigabytes): resize only the
        # source region the crop keeps, which maps every output pixel to the same source point.
        sx, sy = new_size[0] / width, new_size[1] / height
        box = (left / sx, top / sy, (left + info.input_size) / sx, (top + info.input_size) / sy)
        img = img.resize((info.input_size, info.input_size), _RESAMPLE[info.interpolation], box=box,
                         reducing_gap=3.0)
        return np.asarray(img, dtype=np.uint8)
    img = img.resize(new_size, _RESAMPLE[info.interpolation], reducing_gap=3.0)
    img = img.crop((left, top, left + info.input_size, top + info.input_size))
    return np.asarray(img, dtype=np.uint8)


def preprocess_image(item: str | Image.Image, info: BackboneInfo) -> np.ndarray:
    """An image path (or PIL image) to uint8 (input_size, input_size, 3), decoded safely."""
    img = item if isinstance(item, Image.Image) else load_image(item, draft_size=info.resize_size)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return resize_and_crop(img, info)


def preprocess_gray(item: str | Image.Image, info: BackboneInfo) -> np.ndarray:
    """An image path (or PIL image) to uint8 (input_size, input_size) grayscale: short side to
    ``input_size`` by area average, center crop (Conv-4's input; the ONNX runtime's too)."""
    img = item if isinstance(item, Image.Image) else load_image(item)
    img = img.convert("L")
    size = info.input_size
    width, height = img.size
    scale = size / min(width, height)
    new = (max(size, round(width * scale)), max(size, round(height * scale)))
    img = img.resize(new, Image.BOX)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


def check_preprocessed(batch: Sequence) -> None:
    """``embed`` takes what ``preprocess`` returns; a path in its place is said in one line (torch
    says "can't convert np.ndarray of type numpy.str_", naming neither the cause nor the fix)."""
    if any(isinstance(item, (str, bytes, os.PathLike)) for item in batch):
        raise DataError("An image backbone's embed(batch) takes what its preprocess(path) returns (image "
                        "arrays), not paths. Use backbone.embed([backbone.preprocess(p) for p in paths]), or "
                        "handful.backbones.embed_items(backbone, paths), which also skips unreadable files.")


def no_embeddings(dim: int) -> np.ndarray:
    """What ``embed([])`` returns: float32 (0, dim), as the text backbones do (a model's forward
    pass, and ``np.stack``, refuse an empty batch)."""
    return np.zeros((0, dim), dtype=np.float32)


def to_tensor(batch: Sequence[np.ndarray], info: BackboneInfo) -> torch.Tensor:
    """Stack uint8 HWC arrays into a normalized float NCHW tensor in channels-last memory."""
    check_preprocessed(batch)
    x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(info.mean).view(1, 3, 1, 1)
    std = torch.tensor(info.std).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def auto_precision(precision: str) -> str:
    """``auto`` -> ``bfloat16`` where the CPU runs it natively, else ``float32``; others unchanged."""
    if precision == "auto":
        return "bfloat16" if bf16_supported() else "float32"
    return precision


def bf16_supported() -> bool:
    """True when this CPU runs bfloat16 natively (AVX512-BF16 or AMX), where it is ~3x faster."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and _cpu_has_native_bf16()
    except (AttributeError, RuntimeError):
        return False


def _cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read(200_000)
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
