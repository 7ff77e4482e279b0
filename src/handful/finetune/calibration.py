"""Calibrated confidence for ``handful finetune``: one temperature fitted on the validation split.

A network fine-tuned with cross-entropy is typically over-confident, and Guo et al. (2017, "On
Calibration of Modern Neural Networks") fit the temperature on a held-out validation set. The
fine-tuning run already holds one out for early stopping. The kept network's answers on it are
fitted with the same MAP temperature fitter, ECE and ``MIN_EXAMPLES`` rule as ``handful train``
uses for its out-of-fold answers (``evaluate.calibration``), so the numbers compare. The split
also chose the epoch, so it is not wholly unseen. After a refit on all images (the default) the
saved model is not the network that validation scored. It is the same recipe trained on more
images for the same epochs, and it keeps the temperature of the network before the refit
(``before_refit``): there is nothing held out left to fit it on.

Example:
    >>> summary = validation_calibration(val_logits, val_labels, before_refit=True)
    >>> summary["temperature"], summary["val_ece_before"], summary["val_ece_after"]
"""

from __future__ import annotations

import numpy as np

from ..evaluate.calibration import (
    MIN_EXAMPLES,
    PRIOR_SD,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
)
from ..heads.base import softmax, temperature_scaled

METHOD = ("temperature scaling of the validation split's probabilities (Guo et al. 2017), "
          f"MAP: Gaussian prior on log T < 0, sd {PRIOR_SD}")

__all__ = ["METHOD", "calibrate_finetuned", "no_validation_reason", "not_calibrated", "validation_calibration"]


def validation_calibration(logits: np.ndarray, y_idx: np.ndarray, before_refit: bool) -> dict:
    """The temperature fitted on the validation answers (``logits`` (n_val, n_classes) of the
    kept network, ``y_idx`` (n_val,) their classes) and what it does to them: ECE, NLL and mean
    confidence before and after. ``temperature`` 1 with a ``note`` below ``MIN_EXAMPLES`` images."""
    proba = softmax(np.asarray(logits, dtype=np.float64))  # as the saved LogisticHead computes it
    n = len(y_idx)
    out = {"method": METHOD, "fitted_on": "validation", "n": int(n), "before_refit": bool(before_refit),
           "val_accuracy": float((proba.argmax(axis=1) == y_idx).mean()),
           "val_confidence_before": float(proba.max(axis=1).mean()),
           "val_ece_before": expected_calibration_error(proba, y_idx),
           "val_nll_before": negative_log_likelihood(proba, y_idx)}
    if n < MIN_EXAMPLES:
        return out | {"temperature": 1.0,
                      "note": f"not calibrated: the validation split holds {n} images, at least {MIN_EXAMPLES} "
                              "are needed to fit a temperature (add images or raise --validation-fraction)"}
    temperature = fit_temperature(proba, y_idx)
    scaled = temperature_scaled(proba, temperature)
    return out | {"temperature": temperature, "val_confidence_after": float(scaled.max(axis=1).mean()),
                  "val_ece_after": expected_calibration_error(scaled, y_idx),
                  "val_nll_after": negative_log_likelihood(scaled, y_idx)}


def no_validation_reason(labels: np.ndarray, classes: tuple[str, ...], fraction: float) -> str:
    """Why ``split_validation`` held nothing out of ``labels`` (n,) class indices: a fraction of
    0, or a class with fewer than 3 distinct images (copies count once)."""
    if fraction <= 0:
        return "--validation-fraction is 0"
    counts = np.bincount(labels, minlength=len(classes))
    smallest = int(counts.argmin())
    if counts[smallest] < 3:
        return f"the smallest class, '{classes[smallest]}', has {plural_images(int(counts[smallest]))}; 3 are needed"
    return "a class has fewer than 3 distinct images (byte-identical copies count once); 3 are needed"


def plural_images(n: int) -> str:
    return "1 image" if n == 1 else f"{n} images"


def not_calibrated(reason: str) -> dict:
    """The calibration of a network fine-tuned without a validation split: none, and why."""
    return {"method": METHOD, "fitted_on": None, "temperature": 1.0,
            "note": f"not calibrated: no validation split to fit a temperature on ({reason}); "
                    "confidence is as the network gives it"}


def calibrate_finetuned(clf, calibration: dict) -> None:
    """Give ``clf`` the ``calibration`` summary (saved as model.json's ``calibration``) and its
    head the temperature (saved with the head: ``predict``, thresholds and ``serve`` apply it)."""
    clf.calibration_ = calibration
    if calibration["temperature"] != 1.0:
        clf.head_.calibrate(calibration["temperature"])
