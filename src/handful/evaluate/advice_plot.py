"""The learning-curve picture: measured points, the fitted curve with its 10-90% band."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .advice import AveragedFit
from .curve_fit import CurveFit
from .png import save_figure


def plot_learning_curve(curve: dict, main: AveragedFit, draws: list[CurveFit], advice: dict,
                        path: str | Path, title: str = "Learning curve") -> Path:
    """Save the PNG: accuracy vs examples per class (log scale), now and the target marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    now = advice["n_per_class"]
    target = advice.get("target") or {}
    # a target beyond 10x the data is not forecast in words, so it is not drawn either: the star
    # at 10,000 per class contradicted "further than it can forecast"; the 10x forecast is drawn
    shown = target if target and not target.get("beyond_forecast") and np.isfinite(
        target.get("n_per_class") or np.inf) else {}
    right = max(now * 10, shown.get("n_per_class") or 0)
    grid = np.geomspace(1, max(right, 2), 200)
    band = np.array([d.accuracy(grid) for d in draws])
    lo, hi = np.percentile(band, [10, 90], axis=0)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.fill_between(grid, 100 * lo, 100 * hi, color="tab:blue", alpha=0.15, label="10-90% range")
    ax.plot(grid, 100 * main.accuracy(grid), color="tab:blue",
            label="fit: from the largest size, shaped by other tasks' curves")
    points = curve["points"]
    means, sds = np.array([p["mean"] for p in points]), np.array([p["std"] for p in points])
    # mean ± sd, cut at 0 and 100%: a bar to 103% shows an accuracy no run can have
    bars = 100 * np.array([np.minimum(sds, means), np.minimum(sds, 1 - means)])
    ax.errorbar([p["n"] for p in points], 100 * means, yerr=np.maximum(bars, 0), fmt="o",
                color="black", ms=4, capsize=2,
                label=f"measured, {_head(advice)} (mean ± sd)")
    # in the legend: a label by the line sat under the legend (lower right, where the line
    # usually is) or on the measured points
    ax.axvline(now, color="gray", ls="--", lw=1, label=f"your data, {now:.0f} per class")
    if shown:
        ax.plot([shown["n_per_class"]], [100 * shown["accuracy"]], "*", color="tab:red", ms=12,
                label=f"target {100 * shown['accuracy']:.1f}%")
    elif target and target.get("beyond_forecast"):
        ten = advice["forecast"][-1]
        ax.plot([ten["n_per_class"]], [100 * ten["accuracy"]], "*", color="tab:red", ms=12,
                label=f"10x the data: {100 * ten['accuracy']:.1f}% (target "
                      f"{100 * target['accuracy']:.1f}% is further)")
    ax.axhline(100 * main.ceiling, color="tab:blue", ls=":", lw=1,
               label=f"ceiling of the fit, {100 * main.ceiling:.1f}%")
    ax.set_xscale("log")
    ax.set_xlabel("examples per class")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def _head(advice: dict) -> str:
    """The head the curve refitted, so the picture's levels are not read as the model's."""
    head = advice.get("head") or {}
    return f"{head['type']} head" if head.get("type") else "curve's head"
