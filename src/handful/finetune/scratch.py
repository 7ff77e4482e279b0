"""The from-scratch baseline: a small CNN trained on the user's images only (no pretraining).

It is the first rung of ``handful ladder``: what you get without transfer learning, with and
without augmentation, at a modest resolution (128 px) so it trains on a CPU.

Example:
    >>> images, _ = load_image_set(examples, short_side=128)
    >>> model, history = train_scratch(images, ScratchConfig(augment="default"))
    >>> model.predict(test_images.images)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..augment import create_augment
from .data import ImageSet, batch_indices, center_square, split_validation
from .loop import History, TrainConfig, train_loop


class SmallCNN(nn.Module):
    """Three conv(3x3)-ReLU-maxpool blocks, flatten, dense, dropout, dense: the classic
    Keras cats-vs-dogs network (32, 32, 64 filters; 64 hidden units).

    Input (n, 3, size, size) in [-1, 1]; output (n, n_classes) logits.
    """

    def __init__(self, n_classes: int, size: int = 128, channels: Sequence[int] = (32, 32, 64),
                 hidden: int = 64, dropout: float = 0.5):
        super().__init__()
        layers, in_ch = [], 3
        for out_ch in channels:
            layers += [nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        flat = in_ch * (size // 2 ** len(channels)) ** 2
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(),
                                        nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@dataclass
class ScratchConfig(TrainConfig):
    """Training settings of the from-scratch CNN (input ``size`` in pixels)."""

    size: int = 128
    epochs: int = 30
    patience: int = 6

    def _ranges(self) -> dict:
        # the dense layer grows with the square of the size (100000 px: 2.5 TB)
        return {**super()._ranges(), "size": (int, lambda v: 16 <= v <= 512, "an integer in [16, 512] (px)")}


def to_input(images: Sequence[np.ndarray], size: int) -> torch.Tensor:
    """Square-crop uint8 images to ``size`` and stack them as (n, 3, size, size) in [-1, 1]."""
    batch = np.stack([center_square(image, size) for image in images])
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    return x.contiguous(memory_format=torch.channels_last)


class ScratchModel:
    """A trained SmallCNN with its class names; predicts on decoded uint8 images."""

    def __init__(self, net: SmallCNN, classes: tuple[str, ...], size: int):
        self.net, self.classes, self.size = net.eval(), classes, size

    def predict_proba(self, images: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """Class probabilities (n, n_classes) in ``classes`` order."""
        out = []
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                logits = self.net(to_input(images[start:start + batch_size], self.size))
                out.append(torch.softmax(logits, dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)))

    def predict(self, images: Sequence[np.ndarray]) -> list[str]:
        return [self.classes[k] for k in self.predict_proba(images).argmax(axis=1)]


def train_scratch(images: ImageSet, config: ScratchConfig | None = None,
                  on_epoch_end: Callable[[int, dict], None] | None = None) -> tuple[ScratchModel, History]:
    """Train a SmallCNN on ``images`` with online augmentation; early stopping on a held-out
    stratified split (``validation_fraction``), AdamW + cosine schedule, best weights kept;
    with ``config.refit``, then trained again on all of ``images`` for the best epoch count
    (``history.refit`` says how)."""
    config = config or ScratchConfig()
    config.check()
    train_idx, val_idx = split_validation(images.labels, config.validation_fraction, config.seed,
                                          images.groups)
    train, val = images.subset(train_idx), images.subset(val_idx)
    net, history = _fit(train, val, config, config.epochs, on_epoch_end)
    if config.refit and len(val):  # the same number of epochs again, on every image
        start = time.perf_counter()
        net, again = _fit(images, images.subset(np.arange(0)), config, history.best_epoch, None)
        history.refit = {"n_train": len(images), "epochs": history.best_epoch,
                         "seconds": round(time.perf_counter() - start, 2),
                         "seconds_per_epoch": round(again.seconds_per_epoch, 2),
                         "history": again.epochs}
    return ScratchModel(net, images.classes, config.size), history


def _fit(train: ImageSet, val: ImageSet, config: ScratchConfig, epochs: int,
         on_epoch_end) -> tuple[SmallCNN, History]:
    """A fresh SmallCNN trained for up to ``epochs`` (the cosine schedule spans config.epochs)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    augment = create_augment(config.augment)
    net = SmallCNN(len(train.classes), config.size, dropout=config.dropout)
    net = net.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)

    def train_batches(epoch: int):
        for idx in batch_indices(len(train), config.batch_size, rng):
            views = [augment(train.images[i], rng) for i in idx]
            yield to_input(views, config.size), torch.from_numpy(train.labels[idx])

    val_batches = None
    if len(val):
        val_x = to_input(val.images, config.size)
        val_y = torch.from_numpy(val.labels)
        val_batches = lambda: [(val_x[s:s + 64], val_y[s:s + 64]) for s in range(0, len(val), 64)]  # noqa: E731
    history = train_loop(net, optimizer, train_batches, epochs, val_batches,
                         scheduler=scheduler, patience=config.patience, on_epoch_end=on_epoch_end)
    return net, history
