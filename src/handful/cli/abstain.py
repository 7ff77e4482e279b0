"""Answer only when sure: ``predict --min-confidence`` and the selective lines of ``evaluate``/``train``.

Since the probabilities are calibrated, "90% sure" is close to "right 9 times in 10", so a
threshold on the top probability splits the inputs into answers to use and ones to hand to a
person. ``predict`` marks those below it unsure (keeping the candidates); ``evaluate`` shows, for
a few thresholds, the share it would answer and how many of those it gets right.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

import typer

from ..errors import DataError
from .output import Output, pct

MinConfidenceOpt = Annotated[float | None, typer.Option(
    help="Answer only when the top probability is at least this (0 < P < 1, e.g. 0.9); the rest are "
         "reported as unsure, with their candidates, for a person to decide.")]
SHOWN_POINT = 0.9  # the threshold the train line quotes


def check_min_confidence(value: float | None) -> None:
    """Refuse a threshold that is not strictly between 0 and 1 (0 answers all, 1 none)."""
    if value is not None and not (0 < value < 1 and math.isfinite(value)):
        raise DataError(f"--min-confidence must be a probability between 0 and 1 (exclusive), the top "
                        f"probability below which a prediction is reported as unsure. Got {value:g}. "
                        "Pass e.g. --min-confidence 0.9.")


def answers_of(top: Sequence[Sequence[tuple[str, float]]], min_confidence: float) -> list[str | None]:
    """Each input's top label, or None where its top probability is under ``min_confidence``."""
    return [preds[0][0] if preds[0][1] >= min_confidence else None for preds in top]


def print_answered(out: Output, n_answered: int, n_unsure: int, min_confidence: float) -> None:
    """The summary of a ``--min-confidence`` run: answered against unsure."""
    n = n_answered + n_unsure
    if not n:
        return
    out.print(f"Answered {n_answered} of {n} ({pct(n_answered / n)}) at ≥ {percent(min_confidence)} confidence; "
              f"{n_unsure} unsure, left for a person.")


def percent(threshold: float) -> str:
    """0.9 -> "90%", 0.999 -> "99.9%", 0.9999999 -> "99.99999%": a threshold as typed, with the
    digits it needs never to read as 100% (or 0%) when it is strictly between 0 and 1."""
    for digits in range(6, 18):
        shown = f"{100 * threshold:.{digits}g}"
        if not 0 < threshold < 1 or 0 < float(shown) < 100:
            return f"{shown}%"
    return f"{100 * threshold!r}%"


def _point(points: list[dict], threshold: float) -> dict | None:
    return next((p for p in points if abs(p["min_confidence"] - threshold) < 1e-9), None)


def selective_phrase(points: list[dict] | None, threshold: float = SHOWN_POINT) -> str:
    """"at ≥ 90% confidence it answers 81% of them, 98.9% right" (empty without that point)."""
    point = _point(points or [], threshold)
    if point is None:
        return ""
    if not point["n_answered"]:
        return f"at ≥ {percent(threshold)} confidence it answers none of them"
    return (f"at ≥ {percent(threshold)} confidence it answers {pct(point['coverage'])} of them, "
            f"{pct(point['accuracy'])} right")


def print_selective(out: Output, points: list[dict] | None) -> None:
    """The share answered and its accuracy at each threshold, as a 2-row table (counts in JSON)."""
    if not points:
        return
    out.table("Answering only when at least this sure (handing the rest on)",
              ["", *[f"≥{percent(p['min_confidence'])}" for p in points]],
              [["answers", *[pct(p["coverage"]) for p in points]],
               ["right", *[pct(p["accuracy"]) for p in points]]])
