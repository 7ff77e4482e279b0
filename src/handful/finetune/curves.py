"""Pictures of training: loss/accuracy curves per epoch, and the ladder's bar chart."""

from __future__ import annotations

from pathlib import Path

from ..evaluate.png import save_figure
from .loop import History


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: History, path: str | Path, title: str = "Training") -> Path:
    """Save loss and accuracy per epoch (train and validation) side by side as a PNG."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "val"):
        rows = [e for e in history.epochs if f"{split}_loss" in e]
        if rows:
            epochs = [e["epoch"] for e in rows]
            ax_loss.plot(epochs, [e[f"{split}_loss"] for e in rows], marker="o", label=split)
            ax_acc.plot(epochs, [e[f"{split}_accuracy"] for e in rows], marker="o", label=split)
    for ax, name in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        if history.epochs:
            ax.axvline(history.best_epoch, color="grey", linestyle="--", linewidth=1,
                       label=f"kept (epoch {history.best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def plot_ladder(rows: list[dict], path: str | Path, title: str = "Ladder") -> Path:
    """Bar chart of test accuracy per rung, each bar labelled with its training time."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(rows)), 4.5))
    names = [r["rung"] for r in rows]
    accs = [100 * (r["accuracy"] or 0) for r in rows]
    bars = ax.bar(names, accs, color="#4C72B0")
    for bar, row in zip(bars, rows):
        label = ("n/a" if row["accuracy"] is None
                 else f"{100 * row['accuracy']:.1f}%\n{row['train_seconds']:.0f} s")
        ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, 110)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)
