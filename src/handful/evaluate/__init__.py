"""Metrics, confidence intervals, confusion matrices and K-shot curves."""

from .metrics import classification_report, mean_ci, plot_confusion_matrix, wilson_interval

__all__ = ["classification_report", "mean_ci", "plot_confusion_matrix", "wilson_interval"]
