"""Classification metrics with confidence intervals, and the confusion-matrix picture."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from .png import save_figure


def wilson_interval(n_correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (sound at small n and near 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    if not 0 <= n_correct <= n:
        raise ValueError(f"wilson_interval needs 0 <= n_correct <= n; got n_correct={n_correct}, n={n}.")
    p = n_correct / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, center - half), min(1.0, center + half))


def mean_ci(values: list[float] | np.ndarray, level: float = 0.95) -> tuple[float, float, tuple[float, float]]:
    """Mean, sample std and the t-interval of the mean over repeats."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, 0.0, (mean, mean)
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * std / math.sqrt(len(values)))
    return mean, std, (mean - half, mean + half)


def classification_report(y_true, y_pred, classes: list[str]) -> dict:
    """Accuracy (with Wilson CI), balanced accuracy, per-class P/R/F1, confusion matrix."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n_correct = int((y_true == y_pred).sum())
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0)
    present = [c for c in classes if c in set(y_true)]
    matrix = confusion_matrix(y_true, y_pred, labels=classes)
    predicted = matrix.sum(axis=0)
    return {
        "accuracy": n_correct / len(y_true) if len(y_true) else 0.0,
        "accuracy_ci95": list(wilson_interval(n_correct, len(y_true))),
        # the mean recall over the classes in the test set (sklearn's balanced accuracy, without its
        # warning when a test set holds one class)
        "balanced_accuracy": float(np.mean([recall[classes.index(c)] for c in present])) if present else 0.0,
        "n": int(len(y_true)),
        "per_class": _per_class(classes, precision, recall, f1, support, predicted),
        "classes": list(classes),
        "confusion_matrix": matrix.tolist(),
    }


def _per_class(classes, precision, recall, f1, support, predicted) -> dict:
    """Precision, recall, F1 and support per class; None where undefined, as the console's "-":
    no precision for a class never predicted, no recall for one absent from the test set (0.0
    read as "every one missed"), and no F1 without both."""
    rows = {}
    for i, c in enumerate(classes):
        p = float(precision[i]) if predicted[i] else None
        r = float(recall[i]) if support[i] else None
        rows[c] = {"precision": p, "recall": r, "f1": float(f1[i]) if p is not None and r is not None else None,
                   "support": int(support[i])}
    return rows


def plot_confusion_matrix(matrix: list[list[int]], classes: list[str], path: str | Path,
                          title: str = "Confusion matrix") -> Path:
    """Save the confusion matrix (rows true, columns predicted) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(matrix)
    size = max(4.0, 0.6 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center",
                    color="white" if m[i, j] > m.max() / 2 else "black")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)
