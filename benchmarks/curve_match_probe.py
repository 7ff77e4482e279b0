"""Probe (session 21): two other ways to extrapolate a short learning curve, scored like the
shipped estimator.

1. **Leave out the first sizes.** The shipped estimator fits one power law (with a floor) to
   every measured size from 1 per class on; with 1 or 2 examples per class a head learns at
   another rate (the early arm of Jain et al.'s piecewise curves), and those points may pull the
   exponent. ``lo`` = the smallest size fitted (1: shipped, 2, 3, 5).
2. **Curve retrieval.** Instead of a grid of power laws weighed by a prior over shapes, match
   the user's points to each other task's whole fitted curve, shifted along ``n`` (x 1/8 to 8)
   and scaled in error (closed form), weigh each match by its fit (chi2 / ``temper``), and
   predict with the weighted mean of the matched curves at the full size ("match"). Also the
   mean of that and the shipped prediction ("mean of both").

Scored as ``curve_prior.py`` scores the shipped estimator: leave-one-task-out on the prior's
curves (``curve_prior.json``), from sizes <= 10 and <= 30 per class; then the back-test's saved
draws (``advise_backtest.json``, 5 draws of each data set). A setting is chosen on the
leave-one-task-out score alone; the back-test is reported for every setting so that the choice
can be checked, not made, on it.
Run: `.venv/bin/python benchmarks/curve_match_probe.py` (about 4 minutes) ->
`benchmarks/results/curve_match_probe.json`.
"""

from __future__ import annotations

import json
import math

import numpy as np

from common import RESULTS, write_result
from curve_prior import whole_fit
from handful.evaluate.advice import posterior_fits
from handful.evaluate.curve_prior import prior_density

SAVED = json.loads((RESULTS / "curve_prior.json").read_text())
CURVES = SAVED["curves"]
FITS = [whole_fit(c["points"]) for c in CURVES]
BACKTEST = json.loads((RESULTS / "advise_backtest.json").read_text())["results"]
SHIFTS = np.geomspace(1 / 8, 8, 41)
MIN_SE = 0.005  # a mean's standard error is floored so that one lucky point cannot pin a match


def _small(points: list[dict], up_to: int, lo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kept = [p for p in points if lo <= p["size"] <= up_to]
    runs = np.array([p["runs"] for p in kept])
    se = np.maximum(runs.std(axis=1) / math.sqrt(runs.shape[1]), MIN_SE)
    return np.array([p["n"] for p in kept]), 1 - runs.mean(axis=1), se


def _summary(predictions: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    order = np.argsort(predictions)
    cumulative = np.cumsum(weights[order])
    lo, hi = (float(predictions[order][np.searchsorted(cumulative, q)]) for q in (0.1, 0.9))
    return float(weights @ predictions), lo, hi


def shipped(points: list[dict], n_full: float, shapes: list, up_to: int, lo: int = 1, **_) -> tuple:
    kept = [p for p in points if lo <= p["size"] <= up_to]
    main, draws = posterior_fits({"points": kept}, prior=prior_density(kept[-1]["n"], tuple(shapes)))
    lo_, hi_ = np.percentile([d.accuracy(n_full) for d in draws], [10, 90])
    return float(main.accuracy(n_full)), float(lo_), float(hi_)


def matched(points: list[dict], n_full: float, shapes: list, up_to: int, lo: int = 1,
            temper: float = 4.0) -> tuple:
    n, err, se = _small(points, up_to, lo)
    w = 1 / se
    predictions, log_w = [], []
    for fit in shapes:
        for shift in SHIFTS:
            basis = fit.error(shift * n)
            scale = np.sum(w ** 2 * basis * err) / np.sum(w ** 2 * basis ** 2)
            chi2 = np.sum((w * (scale * basis - err)) ** 2)
            predictions.append(1 - min(scale * float(fit.error(shift * n_full)), 1.0))
            log_w.append(-0.5 * chi2 / temper)
    log_w = np.array(log_w)
    weights = np.exp(log_w - log_w.max())
    return _summary(np.array(predictions), weights / weights.sum())


def mean_of_both(points: list[dict], n_full: float, shapes: list, up_to: int, lo: int = 1,
                 temper: float = 4.0) -> tuple:
    a = matched(points, n_full, shapes, up_to, lo, temper)
    b = shipped(points, n_full, shapes, up_to, lo)
    return (a[0] + b[0]) / 2, min(a[1], b[1]), max(a[2], b[2])


METHODS = {"shipped": shipped, "match": matched, "mean of both": mean_of_both}
SETTINGS = ([("shipped", lo, None) for lo in (1, 2, 3, 5)]
            + [(m, lo, t) for m in ("match", "mean of both") for t in (2.0, 4.0, 8.0, 16.0) for lo in (1, 2, 3)])


def leave_one_task_out(method, up_to: int, **options) -> dict:
    errors, inside = [], []
    for curve in CURVES:
        others = [f for c, f in zip(CURVES, FITS) if c["task"] != curve["task"]]
        full = curve["points"][-1]
        predicted, lo, hi = method(curve["points"], full["n"], others, up_to, **options)
        errors.append(100 * (predicted - full["mean"]))
        inside.append(lo <= full["mean"] <= hi)
    errors = np.array(errors)
    return {"mean_abs_error": round(float(np.abs(errors).mean()), 2), "mean_error": round(float(errors.mean()), 2),
            "coverage_10_90": round(float(np.mean(inside)), 2)}


def backtest(method, up_to: int, **options) -> dict:
    """Error in points on each back-test data set: mean and sd over its 5 saved draws."""
    out = {}
    for name, row in BACKTEST.items():
        full = row["measured"][-1]
        draws = [row["measured"][:-1]] + [s["measured"] for s in row.get("seeds", [])[1:]]
        errors = [100 * (method(points + [full], full["n"], FITS, up_to, **options)[0] - full["mean"])
                  for points in draws]
        out[name] = {"mean": round(float(np.mean(errors)), 2), "sd": round(float(np.std(errors, ddof=1)), 2),
                     "per_draw": [round(e, 2) for e in errors]}
    return out


def main() -> None:
    rows = []
    for name, lo, temper in SETTINGS:
        options = {"lo": lo} | ({"temper": temper} if temper else {})
        row = {"method": name, **options}
        for k in (10, 30):
            row[f"loto_up_to_{k}"] = leave_one_task_out(METHODS[name], k, **options)
            row[f"backtest_up_to_{k}"] = backtest(METHODS[name], k, **options)
        rows.append(row)
        print(f"{name:13s} lo={lo} temper={temper}: " + "; ".join(
            f"<={k}: LOTO {row[f'loto_up_to_{k}']['mean_abs_error']} ({row[f'loto_up_to_{k}']['coverage_10_90']:.0%}),"
            f" flowers5 {row[f'backtest_up_to_{k}']['flowers5']['mean']:+.2f}" for k in (10, 30)), flush=True)
    best = min((r for r in rows if r["loto_up_to_10"]["coverage_10_90"] >= 0.66),
               key=lambda r: r["loto_up_to_10"]["mean_abs_error"])
    write_result("curve_match_probe", {"rule": "lowest leave-one-task-out error from <= 10 among settings whose "
                                               "10-90% range holds the truth at least 2 times in 3",
                                       "chosen_by_rule": {k: best[k] for k in ("method", "lo", "temper") if k in best},
                                       "settings": rows})


if __name__ == "__main__":
    main()
