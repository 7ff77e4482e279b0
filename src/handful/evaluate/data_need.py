"""``estimate_data_need``: learning curve -> fit -> advice (+ PNG), on embeddings in memory.

Example:
    >>> advice = estimate_data_need(X, labels, plot="learning_curve.png")
    >>> advice["sentence"]
    '≈ 40 more examples per class should add ~2.5 points on the learning curve of the logistic
    head (range 20–95 more; the curve: ~93.5% at 120 per class, ~96.0% at 160).'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..heads import create_head
from ..heads.threads import single_threaded
from ..select.search import selection_metric
from .advice import advise, posterior_fits
from .advice_plot import plot_learning_curve
from .learning_curve import measure_learning_curve

DEFAULT_HEAD = ("logistic", {"C": 1.0})
FAST_HEADS = ("logistic", "prototype", "knn")  # slower heads are replaced by DEFAULT_HEAD


def curve_head(name: str | None, params: dict | None) -> tuple[str, dict]:
    """The head the learning curve refits many times: the given one when it is fast; under a
    zero-shot prior, its base head (the prior needs class-name scores the curve does not have)."""
    if name == "zeroshot_prior":
        params = params or {}
        return curve_head(params.get("base", "prototype"), params.get("base_params"))
    if name in FAST_HEADS:
        return name, dict(params or {})
    return DEFAULT_HEAD[0], dict(DEFAULT_HEAD[1])


def curve_head_label(requested: str | None, name: str) -> tuple[str, str]:
    """The head the sentence names ("logistic head"), and a sentence on what it stood in for
    (empty when it is the requested head): said after the advice, whose own brackets hold the
    range (two brackets in a row read as one aside)."""
    if requested is None or requested == name:
        return f"{name} head", ""
    if requested == "zeroshot_prior":
        return f"{name} head", f"The {name} head is without the zero-shot prior, which counts most at 1-5 per class."
    return f"{name} head", f"The {name} head stands in for {requested}, too slow to refit this often."


@single_threaded
def estimate_data_need(
    X: np.ndarray, y: np.ndarray, head: str | None = None, params: dict | None = None,
    repeats: int = 10, seed: int = 0, plot: str | Path | None = None, title: str = "Learning curve",
    on_fit: Callable[[], None] | None = None, groups: np.ndarray | None = None,
) -> dict:
    """Measure the curve by repeated hold-out on ``X, y``, fit it, and advise.

    ``groups`` (n,): copies of one example (``duplicate_groups``) are held out, drawn and
    counted together, so "per class" counts originals. The score is the model search's
    (``selection_metric``: balanced accuracy on imbalanced classes, not the big class's share).
    Returns the ``advise`` dict plus ``curve`` (the measured points) and ``head`` (the curve's:
    ``type``, ``params``, and ``replaces`` when a slow head was swapped for the fast default).
    The sentence names that head: its curve's levels are its own, not a saved model's accuracy.
    """
    name, params = curve_head(head, params)

    def fit_predict(X_train, y_train, X_eval):
        return create_head(name, **params).fit(X_train, y_train).predict(X_eval)

    y = np.asarray(y, dtype=object)
    curve = measure_learning_curve(X, y, fit_predict, repeats=repeats, seed=seed, on_fit=on_fit,
                                   groups=groups, metric=selection_metric(y))
    main, draws = posterior_fits(curve, seed=seed)
    label, stand_in = curve_head_label(head, name)
    result = advise(curve, main, draws, head=label)
    result["sentence"] = " ".join(filter(None, [result["sentence"], stand_in]))
    result["head"] = {"type": name, "params": params}
    if head is not None and head != name:
        result["head"]["replaces"] = head
    result["curve"] = {k: v for k, v in curve.items() if k != "points"} | {
        "points": [{k: p[k] for k in ("size", "n", "mean", "std")} for p in curve["points"]]}
    if plot is not None:
        result["plot"] = str(plot_learning_curve(curve, main, draws, result, plot, title))
    return result


def n_curve_fits(y: np.ndarray, repeats: int = 10, test_fraction: float = 0.25,
                 groups: np.ndarray | None = None) -> int:
    """How many fits ``estimate_data_need`` will run (for a progress bar)."""
    from .learning_curve import default_sizes, draws_at, example_units

    counts = np.unique(example_units(y, groups)[0], return_counts=True)[1]
    pool_max = int(max(c - max(1, round(test_fraction * c)) for c in counts))
    return repeats * sum(draws_at(s, pool_max) for s in default_sizes(pool_max))
