"""One explicit training loop: epochs, validation, early stopping, best weights kept -> History.

Example:
    >>> history = train_loop(net, optimizer, lambda epoch: batches(epoch), epochs=20,
    ...                      val_batches=lambda: val, patience=4,
    ...                      on_epoch_end=lambda epoch, m: print(epoch, m["val_accuracy"]))
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F

from ..augment import AugmentConfig
from ..errors import DataError

Batch = tuple[torch.Tensor, torch.Tensor]  # (inputs, integer labels)


@dataclass
class TrainConfig:
    """Settings every trained network shares (the from-scratch CNN, fine-tuning); subclasses
    add their own and change the defaults. ``augment`` is a preset name or a full config.

    ``refit``: after early stopping on the validation split has picked the best epoch, train
    again from the start on all the images (validation included) for that many epochs, so
    the final model learns from every labeled image, as a model without a validation split
    does (Goodfellow, Bengio & Courville 2016, section 7.8, algorithm 7.2).
    """

    epochs: int = 12
    patience: int = 4  # epochs without a better validation score (see _better) before stopping; 0: never
    lr: float = 1e-3
    weight_decay: float = 1e-2
    dropout: float = 0.5
    batch_size: int = 32
    validation_fraction: float = 0.15  # of each class, held out for early stopping
    augment: str | AugmentConfig = "none"
    seed: int = 0
    refit: bool = True

    def to_json(self) -> dict:
        doc = asdict(self)
        if isinstance(self.augment, AugmentConfig):
            doc["augment"] = self.augment.to_json()
        return doc

    def check(self) -> None:
        """Refuse a setting out of its range before any image is decoded (``batch_size=0``
        failed after the linear probe with range()'s message, ``epochs=-1`` kept the probe silently).

        Raises:
            DataError: naming the setting, its range and the value got.
        """
        for name, (kind, accepts, expected) in self._ranges().items():
            value = getattr(self, name)
            if not (is_number(value, kind) and accepts(value)):
                default = next(f.default for f in fields(self) if f.name == name)
                raise DataError(f"The '{name}' setting of {type(self).__name__} must be {expected}. "
                                f"Got {value!r}. Pass a value in that range (default {default!r}).")

    def _ranges(self) -> dict[str, tuple[type, Callable[[object], bool], str]]:
        """Setting -> (int or float, accepts(value), the range in words); subclasses add theirs."""
        return {
            "epochs": (int, lambda v: v >= 1, "an integer >= 1"),
            "patience": (int, lambda v: v >= 0, "an integer >= 0 (0: never stop early)"),
            "lr": (float, lambda v: v > 0, "a finite number > 0"),
            "weight_decay": (float, lambda v: 0 <= v <= 1, "a number in [0, 1] (AdamW's decay; 0: off)"),
            "dropout": (float, lambda v: 0 <= v < 1, "a number in [0, 1) (0: off)"),
            "batch_size": (int, lambda v: v >= 1, "an integer >= 1"),
            "validation_fraction": (float, lambda v: 0 <= v < 0.9,
                                    "a number in [0, 0.9) (share of each class; 0: no validation)"),
            "seed": (int, lambda v: True, "an integer"),
        }


def is_number(value: object, kind: type) -> bool:
    """``value`` is an integer (kind int) or a finite real number (kind float); never a bool."""
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, numbers.Integral)
    return isinstance(value, numbers.Real) and math.isfinite(value)


@dataclass
class History:
    """Per-epoch metrics (``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``,
    ``lr``, ``seconds``; epoch 0 is the state before training when it was validated), the
    epoch whose weights were kept, whether early stopping ended the run, and ``refit``: how
    the final model was trained again on all images, when it was (see TrainConfig)."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    refit: dict | None = None

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall time of a training epoch (validation included)."""
        times = [e["seconds"] for e in self.epochs if e["epoch"] > 0]
        return sum(times) / len(times) if times else 0.0

    @property
    def best(self) -> dict:
        """The metrics of the kept epoch."""
        return next(e for e in self.epochs if e["epoch"] == self.best_epoch)

    def to_json(self) -> dict:
        return {"epochs": self.epochs, "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early,
                "seconds_per_epoch": round(self.seconds_per_epoch, 3), "refit": self.refit}


def evaluate_batches(model: torch.nn.Module, batches: Iterable[Batch]) -> dict[str, float]:
    """Mean cross-entropy (no label smoothing) and accuracy of ``model`` over ``batches``."""
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches:
            logits = model(x).float()
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(dim=1) == y).sum())
            n += len(y)
    return {"val_loss": total_loss / max(n, 1), "val_accuracy": correct / max(n, 1)}


def _train_epoch(model, optimizer, batches: Iterable[Batch], loss_fn) -> dict[str, float]:
    model.train()
    total_loss, correct, n = 0.0, 0, 0
    for x, y in batches:
        optimizer.zero_grad(set_to_none=True)
        logits = model(x).float()
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += int((logits.argmax(dim=1) == y).sum())
        n += len(y)
    return {"train_loss": total_loss / max(n, 1), "train_accuracy": correct / max(n, 1)}


def _better(metrics: dict, best: tuple[float, float]) -> bool:
    """Higher validation accuracy wins; at equal accuracy, a lower loss."""
    accuracy, loss = metrics["val_accuracy"], metrics["val_loss"]
    return accuracy > best[0] + 1e-9 or (abs(accuracy - best[0]) <= 1e-9 and loss < best[1] - 1e-4)


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_loop(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_batches: Callable[[int], Iterable[Batch]],
    epochs: int,
    val_batches: Callable[[], Iterable[Batch]] | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    scheduler=None,
    patience: int = 0,
    validate_first: bool = False,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> History:
    """Train ``model`` for up to ``epochs``; keep the weights that score best on validation.

    ``train_batches(epoch)`` yields ``(x, y)`` for one epoch (fresh augmentation each time);
    ``val_batches()`` yields the fixed validation batches. Without them the last epoch is
    kept (a non-finite training loss then raises DataError: there is nothing better to keep).
    Best means the highest validation accuracy, then the lowest loss among equals
    (accuracy first: label smoothing makes a model less confident, so its plain loss can
    rise while it gets more answers right). ``patience > 0`` stops after that many epochs
    without a better score.
    ``validate_first`` scores the starting weights as epoch 0, so a warm start (a fitted
    linear probe) is kept when training does not beat it. The model ends with the kept weights.
    """
    loss_fn = loss_fn or torch.nn.CrossEntropyLoss()
    history = History()
    best, best_state, waited = (-math.inf, math.inf), None, 0
    if validate_first and val_batches is not None:
        start = time.perf_counter()
        metrics = {"epoch": 0, **evaluate_batches(model, val_batches())}
        metrics["seconds"] = time.perf_counter() - start
        history.epochs.append(metrics)
        best, best_state = (metrics["val_accuracy"], metrics["val_loss"]), _snapshot(model)
        if on_epoch_end:
            on_epoch_end(0, metrics)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        metrics = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
                   **_train_epoch(model, optimizer, train_batches(epoch), loss_fn)}
        if scheduler is not None:
            scheduler.step()
        if val_batches is not None:
            metrics.update(evaluate_batches(model, val_batches()))
        metrics["seconds"] = time.perf_counter() - start
        history.epochs.append(metrics)
        if on_epoch_end:
            on_epoch_end(epoch, metrics)
        if val_batches is None:
            if not math.isfinite(metrics["train_loss"]):  # nothing better to keep: the last epoch is the model
                raise DataError(f"Training diverged: the training loss is {metrics['train_loss']} at epoch "
                                f"{epoch} and there is no validation split to fall back on. Use a smaller "
                                "learning rate (--lr).")
            history.best_epoch = epoch
            continue
        if _better(metrics, best):
            best, best_state, waited = (metrics["val_accuracy"], metrics["val_loss"]), _snapshot(model), 0
            history.best_epoch = epoch
        else:
            waited += 1
            if patience > 0 and waited >= patience:
                history.stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history
