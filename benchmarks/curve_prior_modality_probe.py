"""Probe: should the prior lean on curves of the user's own modality (image or text)?

40 of the prior's 56 curves are text curves, 36 of them sentiment tasks that level off early; an
image user's curve is predicted mostly from text curves. Here each prior curve of the same
modality as the curve being predicted shares ``s`` of the kernel weight and the other modality
``1 - s`` (``s = None``: every curve weighs the same, the shipped prior). Scored as
`curve_prior.py` scores the shipped estimator, leave-one-task-out on the 56 curves, and then on
the back-test's saved draws (`advise_backtest.json`, 5 draws each).
Run: `.venv/bin/python benchmarks/curve_prior_modality_probe.py` (seconds) ->
`benchmarks/results/curve_prior_modality_probe.json`.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from common import RESULTS, write_result
from curve_prior import whole_fit
from curve_prior_gap_probe import weighted_prior
from handful.evaluate.advice import posterior_fits

SAVED = json.loads((RESULTS / "curve_prior.json").read_text())
CURVES = SAVED["curves"]
FITS = [whole_fit(c["points"]) for c in CURVES]
TEXT_BACKBONES = {"minilm", "e5_small"}
SHARES = (None, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
BACKTEST_MODALITY = {"hymenoptera": "image", "flowers5": "image", "trec (text)": "text"}


def modality(curve: dict) -> str:
    return "text" if curve["backbone"] in TEXT_BACKBONES else "image"


def modality_weights(others: list[dict], target: str, share: float | None) -> np.ndarray:
    same = np.array([modality(c) == target for c in others])
    if share is None or same.all() or not same.any():
        return np.ones(len(others)) / len(others)
    return np.where(same, share / same.sum(), (1 - share) / (~same).sum()) + 1e-12


def predict(points: list[dict], up_to: int, shapes: list, weights: np.ndarray, n_full: float):
    n_ref = [p for p in points if p["size"] <= up_to][-1]["n"]
    main, draws = posterior_fits({"points": points}, max_size=up_to,
                                 prior=weighted_prior(n_ref, shapes, weights / weights.sum()))
    lo, hi = np.percentile([d.accuracy(n_full) for d in draws], [10, 90])
    return float(main.accuracy(n_full)), lo, hi


def loto(up_to: int, share: float | None) -> dict:
    errors, inside, by_modality = [], [], {"image": [], "text": []}
    for curve in CURVES:
        others = [(c, f) for c, f in zip(CURVES, FITS) if c["task"] != curve["task"]]
        w = modality_weights([c for c, _ in others], modality(curve), share)
        full = curve["points"][-1]
        predicted, lo, hi = predict(curve["points"], up_to, [f for _, f in others], w, full["n"])
        errors.append(100 * (predicted - full["mean"]))
        by_modality[modality(curve)].append(errors[-1])
        inside.append(lo <= full["mean"] <= hi)
    e = np.array(errors)
    return {"share": share, "mean_abs_error": round(float(np.abs(e).mean()), 2),
            "mean_error": round(float(e.mean()), 2), "coverage_10_90": round(float(np.mean(inside)), 2),
            **{f"{m}_mean_abs_error": round(float(np.abs(v).mean()), 2) for m, v in by_modality.items()},
            **{f"{m}_mean_error": round(float(np.mean(v)), 2) for m, v in by_modality.items()}}


def backtest(share: float | None) -> dict:
    saved = json.loads((RESULTS / "advise_backtest.json").read_text())["results"]
    out = {}
    for name, row in saved.items():
        w = modality_weights(CURVES, BACKTEST_MODALITY[name], share)
        full = row["measured"][-1]
        draws = [row["measured"]] + [r["measured"] + [full] for r in row.get("seeds", [])[1:]]
        for up_to in (10, 30):
            e = [round(100 * (predict(d, up_to, FITS, w, full["n"])[0] - full["mean"]), 2) for d in draws]
            out.setdefault(name, {})[f"fit_up_to_{up_to}"] = {
                "seed0": e[0], "mean": round(float(np.mean(e)), 2), "sd": round(float(np.std(e, ddof=1)), 2)}
    return out


def main() -> None:
    result = {"loto": {}, "backtest": {}}
    for up_to in (10, 30):
        result["loto"][f"fit_up_to_{up_to}"] = [loto(up_to, s) for s in SHARES]
        for row in result["loto"][f"fit_up_to_{up_to}"]:
            print(up_to, row, file=sys.stderr)
    for s in SHARES:
        result["backtest"][str(s)] = backtest(s)
        print(s, result["backtest"][str(s)], file=sys.stderr)
    print(write_result("curve_prior_modality_probe", result))


if __name__ == "__main__":
    main()
