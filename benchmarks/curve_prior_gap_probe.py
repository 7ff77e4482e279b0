"""Probe (not adopted): does the gap between the logistic and prototype heads at the largest small
size tell how far a learning curve keeps climbing?

For each (task, backbone) of the prior both heads were measured, so each curve has a feature the
estimator does not use: gap = log(error of logistic / error of prototype) at the largest size
<= 10 (or 30) per class. A discriminative head already ahead of the nearest-mean one might mean a
curve with room left (Omniglot alphabets, digits). Scored leave-one-task-out on the prior's 60
curves, as `curve_prior.py` scores the shipped estimator:
- rank correlation of each curve's error (shipped estimator) with its gap;
- the prior re-weighted by a Gaussian kernel on the gap (pooled, or only curves of the same head);
- a linear correction of the predicted accuracy by the gap (logistic curves, the back-test's head);
- the gap on the back-test's three data sets (their curves re-measured here for both heads, the
  same draws as `advise_backtest.py`), the correction it would apply there, and the back-test's
  saved curves predicted with the pooled and the best gap-weighted prior.
Run: `HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/curve_prior_gap_probe.py` (3 min with the
embeddings cached; `--no-backtest` skips the data sets, seconds) ->
`benchmarks/results/curve_prior_gap_probe.json`.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from scipy.stats import spearmanr

from common import RESULTS, write_result
from curve_prior import whole_fit
from handful.evaluate.advice import posterior_fits
from handful.evaluate.curve_prior import (
    _SHARE_CLIP,
    BANDWIDTH,
    EXPONENTS,
    FLOOR_SHARES,
    UNIFORM_SHARE,
    _logit,
    shape_at,
)

SAVED = json.loads((RESULTS / "curve_prior.json").read_text())
CURVES = SAVED["curves"]
BY_NAME = {c["name"]: c for c in CURVES}
FITS = [whole_fit(c["points"]) for c in CURVES]
WIDTHS = (0.03, 0.06, 0.1, 0.2)


def _accuracy_at(curve: dict, size: int) -> float:
    return next(p["mean"] for p in curve["points"] if p["size"] == size)


def gap(logistic: dict, prototype: dict, up_to: int) -> float:
    size = max(p["size"] for p in logistic["points"] if p["size"] <= up_to)
    return float(np.log((1 - _accuracy_at(logistic, size)) / (1 - _accuracy_at(prototype, size))))


def curve_gap(curve: dict, up_to: int) -> float:
    stem = curve["name"].rsplit("/", 1)[0]
    return gap(BY_NAME[f"{stem}/logistic"], BY_NAME[f"{stem}/prototype"], up_to)


def weighted_prior(n_ref: float, shapes: list, weights: np.ndarray) -> np.ndarray:
    """``curve_prior.prior_density`` with a weight per prior curve."""
    exponents, shares = np.meshgrid(EXPONENTS, np.clip(FLOOR_SHARES, *_SHARE_CLIP), indexing="ij")
    log_c, logit_r = np.log(exponents), _logit(shares)
    density = np.zeros_like(exponents)
    for (c, r), w in zip((shape_at(f, n_ref) for f in shapes), weights):
        density += w * np.exp(-0.5 * (((log_c - np.log(max(c, EXPONENTS[0]))) / BANDWIDTH[0]) ** 2
                                      + ((logit_r - _logit(r)) / BANDWIDTH[1]) ** 2))
    return (1 - UNIFORM_SHARE) * density / density.sum() + UNIFORM_SHARE / density.size


def kernel_loto(up_to: int, width: float | None, same_head: bool) -> dict:
    errors, inside = [], []
    for curve in CURVES:
        others = [(c, f) for c, f in zip(CURVES, FITS) if c["task"] != curve["task"]
                  and (not same_head or c["head"] == curve["head"])]
        w = np.ones(len(others))
        if width is not None:
            g = np.array([curve_gap(c, up_to) for c, _ in others])
            w = np.exp(-0.5 * ((g - curve_gap(curve, up_to)) / width) ** 2) + 1e-12
        small = [p for p in curve["points"] if p["size"] <= up_to]
        main, draws = posterior_fits({"points": curve["points"]}, max_size=up_to,
                                     prior=weighted_prior(small[-1]["n"], [f for _, f in others], w / w.sum()))
        full = curve["points"][-1]
        lo, hi = np.percentile([d.accuracy(full["n"]) for d in draws], [10, 90])
        errors.append(100 * (float(main.accuracy(full["n"])) - full["mean"]))
        inside.append(lo <= full["mean"] <= hi)
    e = np.array(errors)
    return {"width": width, "same_head": same_head, "mean_abs_error": round(float(np.abs(e).mean()), 2),
            "mean_error": round(float(e.mean()), 2), "coverage_10_90": round(float(np.mean(inside)), 2)}


def correction_loto(up_to: int) -> dict:
    rows = SAVED["leave_one_task_out"][f"fit_up_to_{up_to}"]["rows"]
    error = {r["curve"]: r["error_points"] for r in rows}
    logistic = [c for c in CURVES if c["head"] == "logistic"]
    e = np.array([error[c["name"]] for c in logistic])
    g = np.array([curve_gap(c, up_to) for c in logistic])
    tasks = np.array([c["task"] for c in logistic])
    corrected = [e[i] - np.polyval(np.polyfit(g[tasks != t], e[tasks != t], 1), g[i])
                 for i, t in enumerate(tasks)]
    slope, intercept = np.polyfit(g, e, 1)
    every = CURVES
    return {"spearman_error_vs_gap": {h: round(float(spearmanr(
                [error[c["name"]] for c in every if c["head"] == h],
                [curve_gap(c, up_to) for c in every if c["head"] == h])[0]), 2) for h in ("logistic", "prototype")},
            "logistic_mean_abs_error": round(float(np.abs(e).mean()), 2),
            "logistic_corrected_mean_abs_error": round(float(np.abs(corrected).mean()), 2),
            "slope_points_per_unit_gap": round(float(slope), 1), "intercept": round(float(intercept), 2),
            "gap_range": [round(float(g.min()), 3), round(float(g.max()), 3)]}


def backtest_gaps() -> dict:
    from advise_backtest import SIZES, TASKS
    from handful.classifier import Classifier
    from handful.evaluate.learning_curve import measure_learning_curve
    from handful.heads import create_head

    out = {}
    for name, task in TASKS.items():
        backbone, train, test = task()
        clf = Classifier(backbone)
        X, train = clf.embed_examples(train)
        X_test, test = clf.embed_examples(test)
        y, y_test = np.asarray(train.labels, dtype=object), np.asarray(test.labels, dtype=object)
        curves = {}
        for head, params in (("logistic", {"C": 1.0}), ("prototype", {})):
            def fit_predict(a, b, c, head=head, params=params):
                return create_head(head, **params).fit(a, b).predict(c)
            measured = measure_learning_curve(X, y, fit_predict, list(SIZES), repeats=10,
                                              X_test=X_test, y_test=y_test)
            curves[head] = {"points": [{"size": p["size"], "mean": round(p["mean"], 4)} for p in measured["points"]]}
        out[name] = {"accuracy": {h: {p["size"]: p["mean"] for p in c["points"]} for h, c in curves.items()},
                     "gap": {k: round(gap(curves["logistic"], curves["prototype"], k), 3) for k in (10, 30)}}
        print(name, out[name]["gap"], file=sys.stderr)
    return out


def backtest_refits(gaps: dict, width: float = 0.06) -> dict:
    """The back-test's saved curves (`advise_backtest.py`) predicted with the pooled prior and with
    the best re-weighted one (same-head curves, kernel ``width`` on the gap): error in points."""
    saved = json.loads((RESULTS / "advise_backtest.json").read_text())["results"]
    logistic = [(c, f) for c, f in zip(CURVES, FITS) if c["head"] == "logistic"]
    out = {}
    for name, row in saved.items():
        points, full = row["measured"], row["measured"][-1]
        for up_to in (10, 30):
            g = np.array([curve_gap(c, up_to) for c, _ in logistic])
            for label, shapes, w in (("pooled", FITS, np.ones(len(FITS))),
                                     ("gap_weighted", [f for _, f in logistic],
                                      np.exp(-0.5 * ((g - gaps[name]["gap"][up_to]) / width) ** 2) + 1e-12)):
                n_ref = [p for p in points if p["size"] <= up_to][-1]["n"]
                main, _ = posterior_fits({"points": points}, max_size=up_to,
                                         prior=weighted_prior(n_ref, shapes, w / w.sum()))
                out.setdefault(name, {}).setdefault(label, {})[f"fit_up_to_{up_to}"] = round(
                    100 * (float(main.accuracy(full["n"])) - full["mean"]), 1)
    return out


def main() -> None:
    result = {"kernel_on_gap": {}, "linear_correction": {}}
    for up_to in (10, 30):
        result["kernel_on_gap"][f"fit_up_to_{up_to}"] = [
            kernel_loto(up_to, w, s) for s in (False, True) for w in (None, *WIDTHS)]
        result["linear_correction"][f"fit_up_to_{up_to}"] = correction_loto(up_to)
        for row in result["kernel_on_gap"][f"fit_up_to_{up_to}"]:
            print(up_to, row, file=sys.stderr)
        print(up_to, result["linear_correction"][f"fit_up_to_{up_to}"], file=sys.stderr)
    if "--no-backtest" not in sys.argv:
        result["backtest_gaps"] = backtest_gaps()
        for row in result["backtest_gaps"].values():
            row["correction_points"] = {
                k: round(-float(np.polyval([result["linear_correction"][f"fit_up_to_{k}"]["slope_points_per_unit_gap"],
                                            result["linear_correction"][f"fit_up_to_{k}"]["intercept"]], g)), 1)
                for k, g in row["gap"].items()}
        result["backtest_error_points"] = backtest_refits(result["backtest_gaps"])
        print(result["backtest_error_points"], file=sys.stderr)
    print(write_result("curve_prior_gap_probe", result))


if __name__ == "__main__":
    main()
