"""Fine-tune the last blocks of an EfficientNet-Lite backbone; the result is a normal handful model.

The recipe, chosen to be safe at a few hundred images on 2 CPU cores:

- the frozen front of the network runs once per batch without gradients (bfloat16 where the
  CPU has it); only the last N blocks, the final 1x1 conv (with its batch norm) and the new
  linear head train (fp32), and a tuned model's predict runs them the same way (the
  backbone's ``float32_blocks``), so it gives the numbers validation and calibration saw;
  with N = 0 only the linear head trains and the backbone keeps its pretrained weights
  (saved as a plain model, as a kept probe is: see below);
- the linear head starts as a logistic regression fitted on the frozen features ("linear
  probe, then fine-tune", Kumar et al. 2022), and that starting point is scored as epoch 0,
  so fine-tuning keeps it unless training beats it on the validation split;
- AdamW with weight decay, a cosine schedule, fresh augmentation every epoch, early
  stopping on a stratified validation split, the best weights kept; batch-norm statistics
  stay frozen (batches are small). Dropout before the head and label smoothing are
  available but off by default: both change the loss the probe was fitted for, so the
  head starts away from its optimum and its first gradients distort the pretrained
  features, which LP-FT exists to avoid (on flowers5, 425 images, test accuracy after
  8 epochs: 68.5% with dropout 0.2 + smoothing 0.1, 70.5% without; the probe: 68.3%);
- then (``refit``, on by default) the whole recipe runs again from the pretrained weights
  on all the images, validation included, for the epoch count the first run chose. When
  validation preferred the linear probe (epoch 0), the result is the logistic regression on
  pretrained features of all images that the "features" rung fits: fine-tuning does not end
  below it for lack of data. The first run's history is kept for the curves. Whenever the probe
  is kept (with or without refit) the backbone has its pretrained weights, so the model is
  saved as a plain frozen-backbone model: no ``backbone.safetensors``, embeddings shared
  with the cache, ``backbone_tuned`` false in the summary.

The kept network's answers on the validation split (before any refit) fit its confidence
temperature, as ``handful train`` fits one on out-of-fold answers (``finetune.calibration``).

The trained linear layer is saved as a LogisticHead (``mean_``/``scale_`` standardization,
``coef_``, ``intercept_``) and the tuned weights as ``backbone.safetensors``, so ``handful
predict``, ``evaluate`` and ``serve`` use the model unchanged. (Refitting a logistic head on
the tuned embeddings of all training images instead was tried and generalized worse: the
tuned network has seen those images, so their embeddings flatter any new head.)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..augment import AugmentConfig, create_augment
from ..backbones import create_backbone
from ..backbones.image_input import resize_and_crop, to_tensor
from ..backbones.tuned import mark_tuned
from ..classifier import Classifier
from ..data import Examples, load_examples
from ..errors import DataError
from ..evaluate.familiarity import MIN_JUDGED, fit_familiarity, not_judged
from ..heads import LogisticHead
from .calibration import calibrate_finetuned, no_validation_reason, not_calibrated, validation_calibration
from .data import ImageSet, batch_indices, load_image_set, split_validation
from .loop import History, TrainConfig, is_number, train_loop

TUNABLE = ("efficientnet_lite0", "efficientnet_lite2")


@dataclass
class FinetuneConfig(TrainConfig):
    """Fine-tuning settings; ``unfreeze`` is a number of blocks or ``"auto"`` (by data size)."""

    unfreeze: int | str = "auto"
    lr: float = 1e-4  # backbone blocks
    head_lr: float = 1e-3
    dropout: float = 0.0  # before the linear head; off: see the module docstring
    label_smoothing: float = 0.0
    augment: str | AugmentConfig = "default"

    def check(self) -> None:
        """TrainConfig.check, plus ``unfreeze``: a number of blocks >= 0 or ``"auto"`` (its upper
        bound, the backbone's block count, is checked by resolve_unfreeze)."""
        super().check()
        if self.unfreeze != "auto" and not (is_number(self.unfreeze, int) and self.unfreeze >= 0):
            raise DataError(f"The 'unfreeze' setting of {type(self).__name__} must be a number of blocks "
                            f">= 0 or 'auto'. Got {self.unfreeze!r}. Pass 'auto' (by data size) or e.g. 1.")

    def _ranges(self) -> dict:
        return {**super()._ranges(),
                "head_lr": (float, lambda v: v > 0, "a finite number > 0"),
                "label_smoothing": (float, lambda v: 0 <= v < 1, "a number in [0, 1) (0: off)")}


def resolve_unfreeze(unfreeze: int | str, n_train: int, n_blocks: int) -> int:
    """Blocks to unfreeze: the number given, or for ``"auto"`` more as the data grows
    (1 under 100 training images, 2 under 400, 3 under 1,500, else 5)."""
    if unfreeze == "auto":
        n = 1 if n_train < 100 else 2 if n_train < 400 else 3 if n_train < 1500 else 5
    else:
        try:
            n = int(unfreeze)
        except ValueError as err:
            raise DataError(f"--unfreeze must be a number of blocks (0-{n_blocks}) or 'auto'. "
                            f"Got '{unfreeze}'.") from err
    if not 0 <= n <= n_blocks:
        raise DataError(f"--unfreeze must be between 0 and {n_blocks} (the backbone's blocks) "
                        f"or 'auto'. Got {n}.")
    return n


class _Standardize(nn.Module):
    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale


class TunedNet(nn.Module):
    """The trainable tail: last N blocks -> head conv -> pool -> standardize -> dropout -> linear.

    ``forward`` takes the frozen front's activations. Batch norm stays in eval mode even in
    ``train()``: statistics of batches of 32 would be noisier than the pretrained ones. With
    N = 0 the 1x1 head conv and its batch norm stay frozen too: only the linear layer trains.
    """

    def __init__(self, model: nn.Module, n_unfreeze: int, head: LogisticHead, dropout: float):
        super().__init__()
        self.blocks = nn.ModuleList(list(model._blocks)[len(model._blocks) - n_unfreeze:])
        self.conv_head, self.bn, self.act = model._conv_head, model._bn1, model._swish
        self.standardize = _Standardize(head.mean_, head.scale_)
        self.dropout = nn.Dropout(dropout)
        weight, bias = linear_from_logistic(head)
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(weight))
            self.linear.bias.copy_(torch.from_numpy(bias))

    def train(self, mode: bool = True) -> TunedNet:
        super().train(mode)
        for module in (*self.blocks, self.conv_head, self.bn):
            module.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.act(self.bn(self.conv_head(x))).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(self.standardize(self.features(x))))

    def backbone_parameters(self) -> list[nn.Parameter]:
        """The backbone weights that train: the last N blocks and the 1x1 head conv with its
        batch norm; none at N = 0 ("head only (backbone frozen)")."""
        if not len(self.blocks):
            return []
        return [p for m in (*self.blocks, self.conv_head, self.bn) for p in m.parameters()]


def linear_from_logistic(head: LogisticHead) -> tuple[np.ndarray, np.ndarray]:
    """(weight (n_classes, dim), bias) float32 of a fitted LogisticHead (binary: 2 rows)."""
    coef, intercept = np.asarray(head.coef_), np.asarray(head.intercept_)
    if coef.shape[0] == 1:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return coef.astype(np.float32), intercept.astype(np.float32)


def logistic_from_net(net: TunedNet, classes: tuple[str, ...]) -> LogisticHead:
    """The trained linear layer (with its standardization) as a fitted LogisticHead."""
    head = LogisticHead()
    head.classes_ = np.array(classes, dtype=object)
    head.mean_ = net.standardize.mean.double().numpy()
    head.scale_ = net.standardize.scale.double().numpy()
    head.coef_ = net.linear.weight.detach().double().numpy()
    head.intercept_ = net.linear.bias.detach().double().numpy()
    head.n_features_in_ = head.mean_.shape[0]
    return head


class _Front:
    """The frozen front of the network: stem + the first blocks, no gradients."""

    def __init__(self, backbone, n_unfreeze: int):
        self.backbone, self.model = backbone, backbone.model
        self.n_front = len(self.model._blocks) - n_unfreeze

    def __call__(self, crops: list[np.ndarray]) -> torch.Tensor:
        with torch.no_grad():  # the backbone's own front: a tuned model's predict runs the same
            return self.backbone.front(to_tensor(crops, self.backbone.info), self.n_front)

    def crop(self, image: np.ndarray) -> np.ndarray:
        return resize_and_crop(Image.fromarray(image), self.backbone.info)

    def run(self, images: list[np.ndarray], batch_size: int = 64) -> torch.Tensor:
        """Front activations of the center crops of ``images``."""
        parts = [self([self.crop(im) for im in images[s:s + batch_size]])
                 for s in range(0, len(images), batch_size)]
        return torch.cat(parts)


@dataclass
class FinetuneResult:
    classifier: Classifier
    history: History
    summary: dict  # unfreeze, sizes, timings


def finetune(examples: Examples | str | os.PathLike, backbone: str = "efficientnet_lite0",
             config: FinetuneConfig | None = None,
             on_epoch_end: Callable[[int, dict], None] | None = None,
             progress: Callable[[int], None] | None = None) -> FinetuneResult:
    """Fine-tune ``backbone`` on ``examples`` (image Examples, or a folder of class sub-folders:
    its train/ split when it has one); see the module docstring.

    Example:
        >>> result = finetune("photos", config=FinetuneConfig(unfreeze=2))   # photos/<class>/*.jpg
        >>> result.classifier.save("models/photos-tuned")
    """
    config = config or FinetuneConfig()
    config.check()
    examples = _examples(examples)
    if backbone.replace("-", "_") not in TUNABLE:
        raise DataError(f"Backbone '{backbone}' cannot be fine-tuned here; choose one of "
                        f"{', '.join(TUNABLE)}.")
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    net_backbone = create_backbone(backbone)
    if config.unfreeze != "auto":  # its upper bound, before decoding (auto depends on the data size)
        resolve_unfreeze(config.unfreeze, 0, len(net_backbone.model._blocks))
    images, examples = load_image_set(examples, net_backbone.info.resize_size, progress=progress)
    train_idx, val_idx = split_validation(images.labels, config.validation_fraction, config.seed,
                                          images.groups)
    train, val = images.subset(train_idx), images.subset(val_idx)
    n_unfreeze = resolve_unfreeze(config.unfreeze, len(train), len(net_backbone.model._blocks))
    prepared = time.perf_counter() - started
    net, history = _tune(net_backbone, train, val, n_unfreeze, config, config.epochs, on_epoch_end)
    probe_kept = history.best_epoch == 0  # only with a validation split: see train_loop
    tuned = n_unfreeze > 0 and not probe_kept  # at 0 only the linear layer trained
    refit, val_logits = None, _logits(net_backbone, net, val, n_unfreeze if tuned else 0)  # before any refit
    if config.refit and len(val):
        start = time.perf_counter()
        torch.manual_seed(config.seed)
        net_backbone = create_backbone(backbone)  # the pretrained weights again
        refit_hook = (lambda e, m: on_epoch_end(e, {**m, "refit": True})) if on_epoch_end else None
        net, refit_history = _tune(net_backbone, images, images.subset(np.arange(0)), n_unfreeze,
                                   config, history.best_epoch, refit_hook)
        history.refit = {"n_train": len(images), "epochs": history.best_epoch,
                         "seconds": round(time.perf_counter() - start, 2),
                         "seconds_per_epoch": round(refit_history.seconds_per_epoch, 2),
                         "history": refit_history.epochs}
        refit = {k: v for k, v in history.refit.items() if k != "history"}
    clf = _classifier(net, net_backbone, images.classes, tuned=tuned)
    summary = {"unfreeze": n_unfreeze, "n_train": len(train), "n_val": len(val),
               "backbone_tuned": tuned,
               "config": config.to_json(), "prepare_seconds": round(prepared, 2),
               "seconds_per_epoch": round(history.seconds_per_epoch, 2),
               "seconds": round(time.perf_counter() - started, 2),
               "best_epoch": history.best_epoch, "stopped_early": history.stopped_early,
               "refit": refit}
    clf.training_ = {**examples.summary(), "finetune": summary}
    calibrate_finetuned(clf, validation_calibration(val_logits, val.labels, refit is not None) if len(val)
                        else not_calibrated(no_validation_reason(images.labels, images.classes,
                                                                 config.validation_fraction)))
    fit_familiarity_of(clf, examples, config.seed)
    return FinetuneResult(clf, history, summary)


def fit_familiarity_of(clf: Classifier, examples: Examples, seed: int) -> None:
    """Set ``clf.familiarity_`` from the embeddings of its training ``examples`` through its own
    (fine-tuned) backbone, as ``handful train`` does, so predict marks inputs unlike them; with
    fewer than ``MIN_JUDGED`` examples it is None and ``training_`` says why."""
    X, used = clf.embed_examples(examples)  # (n, dim): what predict will compare inputs against
    clf.familiarity_ = fit_familiarity(X, used.labels, seed, min_examples=MIN_JUDGED)
    if clf.familiarity_ is None:
        clf.training_["familiarity_not_judged"] = not_judged(len(X), "training set")


def _examples(data: Examples | str | os.PathLike) -> Examples:
    if isinstance(data, (str, os.PathLike)):
        return load_examples(data)
    if not isinstance(data, Examples):
        raise DataError(f"finetune(examples) takes a folder of class sub-folders (a str or Path) or "
                        f"Examples (handful.data.scan_folder); got {type(data).__name__} {str(data)[:60]!r}.")
    return data


def _classifier(net: TunedNet, backbone, classes: tuple[str, ...], tuned: bool) -> Classifier:
    """The model to save: the net's linear layer as a LogisticHead on ``backbone``.

    ``tuned``: the backbone gets a new weights tag and is saved with the model. Otherwise
    (validation kept the linear probe, or ``unfreeze`` was 0, so the backbone still has its
    pretrained weights) a plain frozen-backbone model, as ``handful train`` makes:
    no backbone weights to save, and embeddings shared with the embedding cache.
    """
    for p in backbone.model.parameters():
        p.requires_grad_(False)
    backbone.set_embed_options({"float32_blocks": len(net.blocks) if tuned else 0})  # as it trained them
    if tuned:
        mark_tuned(backbone)
    clf = Classifier(backbone=backbone.name, head="logistic", cache=False if tuned else None)
    clf._backbone = backbone  # this instance, not a fresh one from the registry
    clf.head_ = logistic_from_net(net, classes)
    clf.classes_, clf.modality_, clf.leaderboard_ = clf.head_.classes_, "image", None
    return clf


def _tune(backbone, train: ImageSet, val: ImageSet, n_unfreeze: int, config: FinetuneConfig,
          epochs: int, on_epoch_end) -> tuple[TunedNet, History]:
    """Linear probe on ``train``, then up to ``epochs`` of fine-tuning; the kept net (eval mode)."""
    front = _Front(backbone, n_unfreeze)
    net = _init_net(backbone, front, train, n_unfreeze, config)
    history = _train(net, front, train, val, config, epochs, on_epoch_end)
    return net.eval(), history


def _logits(backbone, net: TunedNet, images: ImageSet, float32_blocks: int) -> np.ndarray:
    """(n, n_classes) float64 logits of ``net`` on the center crops of ``images``, computed as the
    saved model's predict computes them (its backbone's ``embed``, with ``float32_blocks`` tuned
    blocks in float32, then the LogisticHead's numpy scores), so the temperature fitted on them
    applies to the numbers predict produces."""
    if not len(images):
        return np.zeros((0, len(images.classes)))
    backbone.set_embed_options({"float32_blocks": float32_blocks})
    feats = np.concatenate([backbone.embed([resize_and_crop(Image.fromarray(im), backbone.info)
                                            for im in images.images[s:s + 64]])
                            for s in range(0, len(images), 64)])  # (n, dim) float32, as predict's
    head = logistic_from_net(net, images.classes)
    return (feats - head.mean_) / head.scale_ @ head.coef_.T + head.intercept_


def _init_net(backbone, front: _Front, train: ImageSet, n_unfreeze: int,
              config: FinetuneConfig) -> TunedNet:
    """TunedNet whose linear head is a logistic regression on the frozen features."""
    for p in backbone.model.parameters():
        p.requires_grad_(False)
    acts = front.run(train.images)
    probe = TunedNet(backbone.model, n_unfreeze, _dummy_head(backbone.dim, train.classes), 0.0)
    with torch.no_grad(), backbone._autocast():
        feats = torch.cat([probe.features(acts[s:s + 64]).float() for s in range(0, len(acts), 64)])
    head = LogisticHead(C=1.0).fit(feats.numpy().astype(np.float64), train.labels)
    net = TunedNet(backbone.model, n_unfreeze, head, config.dropout)
    for p in (*net.backbone_parameters(), *net.linear.parameters()):
        p.requires_grad_(True)
    return net


def _dummy_head(dim: int, classes) -> LogisticHead:
    head = LogisticHead()
    head.mean_, head.scale_ = np.zeros(dim), np.ones(dim)
    head.coef_, head.intercept_ = np.zeros((len(classes), dim)), np.zeros(len(classes))
    return head


def _train(net: TunedNet, front: _Front, train: ImageSet, val: ImageSet, config: FinetuneConfig,
           epochs: int, on_epoch_end) -> History:
    """Train for up to ``epochs``; the cosine schedule always spans ``config.epochs``, so a
    refit for fewer epochs follows the learning rates of the run that chose that number."""
    rng = np.random.default_rng(config.seed)
    augment = create_augment(config.augment)
    optimizer = torch.optim.AdamW(
        [{"params": net.backbone_parameters(), "lr": config.lr},
         {"params": net.linear.parameters(), "lr": config.head_lr}],
        weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.epochs))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    def train_batches(epoch: int):
        for idx in batch_indices(len(train), config.batch_size, rng):
            crops = [front.crop(augment(train.images[i], rng)) for i in idx]
            yield front(crops), torch.from_numpy(train.labels[idx])

    val_batches = None
    if len(val):
        val_x, val_y = front.run(val.images), torch.from_numpy(val.labels)
        val_batches = lambda: [(val_x[s:s + 64], val_y[s:s + 64]) for s in range(0, len(val), 64)]  # noqa: E731
    return train_loop(net, optimizer, train_batches, epochs, val_batches, loss_fn=loss_fn,
                      scheduler=scheduler, patience=config.patience, validate_first=True,
                      on_epoch_end=on_epoch_end)
