"""Calibrated confidence: temperature scaling of a head's probabilities (Guo et al., ICML 2017).

A head's probabilities are not the chance that it is right. A cosine prototype head with
temperature 0.05 says 99.9999% for almost every image; on hymenoptera val its 5 mistakes of
153 came at 50-94%, while its typical answer claimed 99.999%. One number fixes most of that:
the probabilities are re-scaled as ``softmax(log p / T)``, which keeps every prediction (the
order of the classes does not change) and only changes how sure it sounds. ``T`` is fitted by
minimizing the negative log-likelihood of the *out-of-fold* probabilities that model
selection computes anyway (each example scored by a head fit without it), so no example is
both fitted and judged.

Only softening (``T >= 1``) is allowed. With a few dozen out-of-fold answers and few mistakes
among them, the fit nearly always says "be sharper" (on hymenoptera at 10 per class, 20 answers,
T fell to 0.05-0.36 in 3 of 5 draws and the held-out NLL rose from 0.20 to 0.35), while the
failure users are hurt by is a model too sure of itself. ``benchmarks/calibration.py``, held-out
ECE averaged over 4 data sets x 3 sizes: 7.9% uncalibrated, 5.1% softening only, with the largest
gains where heads claim most (flowers5 at 10 per class: 20.0% -> 6.0%).

Expected calibration error (ECE): the examples are put into 10 equal-width bins of confidence
(the top probability); ECE is the size-weighted mean gap between each bin's mean confidence
and its accuracy. 0 is perfectly calibrated; a model that says 99% and is right 96% of the time
has an ECE near 3 points.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from ..heads.base import temperature_scaled

THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)  # confidence levels a selective report is given at
MIN_EXAMPLES = 20  # fewer out-of-fold answers than this say too little to fit a temperature
T_RANGE = (1.0, 100.0)  # softening only: see above
METHOD = "temperature scaling of out-of-fold probabilities (Guo et al. 2017)"

__all__ = ["METHOD", "MIN_EXAMPLES", "THRESHOLDS", "calibration_summary", "confidence_report",
           "expected_calibration_error", "fit_temperature", "negative_log_likelihood",
           "risk_coverage", "selective_report", "temperature_scaled"]


def negative_log_likelihood(proba: np.ndarray, y_idx: np.ndarray) -> float:
    """Mean ``-log p(true class)``; probabilities clipped at 1e-12."""
    return float(-np.log(np.clip(proba[np.arange(len(y_idx)), y_idx], 1e-12, None)).mean())


def expected_calibration_error(proba: np.ndarray, y_idx: np.ndarray, bins: int = 10) -> float:
    """Size-weighted mean |confidence - accuracy| over ``bins`` equal-width confidence bins."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_idx
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gaps = [abs(confidence[which == b].mean() - correct[which == b].mean()) * np.mean(which == b)
            for b in range(bins) if np.any(which == b)]
    return float(np.sum(gaps))


def fit_temperature(proba: np.ndarray, y_idx: np.ndarray) -> float:
    """The ``T`` in ``T_RANGE`` that minimizes the NLL of ``temperature_scaled(proba, T)``;
    1 where no ``T`` in the range does better than 1. Searched on log T, where the NLL is smooth.
    (Out-of-fold answers that are all right would push an unbounded T towards 0.)"""
    def nll(log_t: float) -> float:
        return negative_log_likelihood(temperature_scaled(proba, np.exp(log_t)), y_idx)

    lo, hi = np.log(T_RANGE[0]), np.log(T_RANGE[1])
    found = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
    best = float(found.x)
    return float(np.exp(best)) if nll(best) < nll(0.0) - 1e-9 else 1.0


def calibration_summary(proba: np.ndarray, y_idx: np.ndarray) -> dict:
    """The fitted temperature and what it does to the out-of-fold answers: ECE and NLL before
    and after, their mean confidence and accuracy; ``temperature`` 1 below ``MIN_EXAMPLES``."""
    n = len(y_idx)
    accuracy = float((proba.argmax(axis=1) == y_idx).mean())
    out = {"method": METHOD, "n": int(n), "cv_accuracy": accuracy,
           "cv_confidence_before": float(proba.max(axis=1).mean()),
           "cv_ece_before": expected_calibration_error(proba, y_idx),
           "cv_nll_before": negative_log_likelihood(proba, y_idx)}
    if n < MIN_EXAMPLES:
        return out | {"temperature": 1.0, "note": f"not calibrated: {n} out-of-fold answers, "
                                                  f"at least {MIN_EXAMPLES} are needed"}
    temperature = fit_temperature(proba, y_idx)
    scaled = temperature_scaled(proba, temperature)
    return out | {"temperature": temperature, "cv_confidence_after": float(scaled.max(axis=1).mean()),
                  "cv_ece_after": expected_calibration_error(scaled, y_idx),
                  "cv_nll_after": negative_log_likelihood(scaled, y_idx)}


def confidence_report(proba: np.ndarray, labels, classes, temperature: float = 1.0) -> dict:
    """How sure the model said it was on labeled examples, against how often it was right:
    mean confidence, ECE and NLL (``temperature``: the calibration its probabilities had)."""
    index = {str(c): i for i, c in enumerate(classes)}
    y_idx = np.array([index[str(label)] for label in labels], dtype=int)
    return {"mean_confidence": float(proba.max(axis=1).mean()),
            "ece": expected_calibration_error(proba, y_idx),
            "nll": negative_log_likelihood(proba, y_idx), "temperature": float(temperature)}


def risk_coverage(proba: np.ndarray, y_idx: np.ndarray, thresholds=THRESHOLDS) -> list[dict]:
    """Selective classification: at each ``min_confidence`` in ``thresholds``, the model answers
    the examples whose top probability reaches it and hands the rest on. Per threshold: the share
    answered (``coverage``), how many (``n_answered``) and the accuracy on those (None: none)."""
    confidence = proba.max(axis=1)  # (n,)
    correct = proba.argmax(axis=1) == y_idx
    points = []
    for threshold in thresholds:
        answered = confidence >= threshold
        n_answered = int(answered.sum())
        points.append({"min_confidence": float(threshold), "coverage": n_answered / max(len(y_idx), 1),
                       "n_answered": n_answered,
                       "accuracy": float(correct[answered].mean()) if n_answered else None})
    return points


def selective_report(proba: np.ndarray, labels, classes, thresholds=THRESHOLDS) -> list[dict]:
    """``risk_coverage`` on labeled examples (``labels`` as strings, ``classes`` in column order)."""
    index = {str(c): i for i, c in enumerate(classes)}
    y_idx = np.array([index[str(label)] for label in labels], dtype=int)
    return risk_coverage(proba, y_idx, thresholds)
