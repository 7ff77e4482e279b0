"""How much more data? Fit the learning curve and answer in words, with a range.

Error ``e(n) = 1 - accuracy`` at ``n`` examples per class is fitted two ways:

* **power law with a floor**, ``e = f + b * n**-c``: the floor ``f`` is the error no amount of
  this kind of data removes (Mahmood et al., CVPR 2022, on why floorless power laws
  over-promise);
* **piecewise power law with a floor**: the exponent changes at a break point ``n0``, because
  the first few examples per class teach more than later ones (Jain et al., CVPR 2023).

The fit with the lower AICc wins (the piecewise one pays for its two extra parameters).
The range comes from refitting on bootstrap resamples of the repeats, widened by the Birge
ratio ``sqrt(chi2 / dof)`` of the fit when the measured points scatter around the curve more
than their own noise allows: resampling the repeats sees the noise of each point, not the
curve family being wrong, and back-tests showed the unwidened range too narrow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares

N_BOOTSTRAP = 100
# Exponents below this make a flat curve look like a slow climb to 100%; measured
# learning-curve exponents for classification are ~0.1-1 (Hestness et al. 2017).
MIN_EXPONENT = 0.1


@dataclass
class CurveFit:
    """A fitted error curve: ``kind`` is "power" or "piecewise"; ``params`` its numbers."""

    kind: str
    params: tuple[float, ...]  # power: (f, b, c); piecewise: (f, b, c1, c2, n0)
    aicc: float
    # a bootstrap fit widened around the main fit: error = around + scale * (own - around)
    around: CurveFit | None = None
    scale: float = 1.0

    def error(self, n) -> np.ndarray:
        own = self._own_error(n)
        if self.around is None:
            return own
        base = self.around.error(n)
        return base + self.scale * (own - base)

    def _own_error(self, n) -> np.ndarray:
        n = np.maximum(np.asarray(n, dtype=float), 1e-9)
        if self.kind == "power":
            f, b, c = self.params
            return f + b * n ** -c
        f, b, c1, c2, n0 = self.params
        before = b * n ** -c1
        after = b * n0 ** -c1 * (n / n0) ** -c2
        return f + np.where(n <= n0, before, after)

    def accuracy(self, n) -> np.ndarray:
        return 1.0 - self.error(n)

    @property
    def ceiling(self) -> float:
        """The accuracy the curve approaches with unlimited data of this kind."""
        if self.around is None:
            return 1.0 - self.params[0]
        floor = self.around.params[0]
        return 1.0 - (floor + self.scale * (self.params[0] - floor))

    def size_for(self, accuracy: float, upper: float = 1e6) -> float:
        """Examples per class at which the curve reaches ``accuracy`` (inf if never)."""
        if accuracy >= self.ceiling:
            return math.inf
        lo, hi = 0.0, math.log(upper)
        if self.accuracy(math.exp(hi)) < accuracy:
            return math.inf
        for _ in range(60):  # bisection in log n; the curve is increasing
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if self.accuracy(math.exp(mid)) < accuracy else (lo, mid)
        return math.exp(hi)


def _aicc(rss: float, n_points: int, n_params: int) -> float:
    rss = max(rss, 1e-12)
    aic = n_points * math.log(rss / n_points) + 2 * n_params
    if n_points - n_params - 1 > 0:
        return aic + 2 * n_params * (n_params + 1) / (n_points - n_params - 1)
    return math.inf


def _solve(kind: str, n, err, w, start, n0: float = 0.0):
    """Weighted least squares for one curve kind from one start: (params, rss)."""
    f_hi = max(float(err.min()), 1e-6)
    k = 3 if kind == "power" else 4
    lower, upper = [0.0, 0.0] + [MIN_EXPONENT] * (k - 2), [f_hi, 10.0] + [3.0] * (k - 2)
    start = np.clip(start, np.array(lower) + 1e-9, np.array(upper) - 1e-9)

    def resid(p):
        return w * (CurveFit(kind, (*p, n0) if kind == "piecewise" else tuple(p), 0).error(n) - err)

    r = least_squares(resid, start, bounds=(lower, upper))
    return tuple(map(float, r.x)), 2 * float(r.cost)


def _fit_power(n, err, w) -> CurveFit:
    f0 = max(float(err.min()), 1e-6) / 2
    best = min((_solve("power", n, err, w, (f0, max(float(err[0]) - f0, 1e-3), c0))
                for c0 in (0.3, 0.7, 1.5)), key=lambda r: r[1])
    return CurveFit("power", best[0], _aicc(best[1], len(n), 3))


def _fit_piecewise(n, err, w) -> CurveFit | None:
    if len(n) < 6:
        return None
    f0 = max(float(err.min()), 1e-6) / 2
    best = None
    for n0 in n[2:-2]:  # a break point with at least 3 points up to it and 2 after
        for c0 in (0.3, 1.0):
            params, rss = _solve("piecewise", n, err, w, (f0, max(float(err[0]) - f0, 1e-3), c0, c0), n0)
            if best is None or rss < best[1]:
                best = ((*params, float(n0)), rss)
    return CurveFit("piecewise", best[0], _aicc(best[1], len(n), 5))


def fit_curve(n: np.ndarray, accuracy: np.ndarray, sem: np.ndarray) -> CurveFit:
    """The better (by AICc) of the power law and the piecewise power law, both with a floor."""
    n, err, w = _prepare(n, accuracy, sem)
    fits = [f for f in (_fit_power(n, err, w), _fit_piecewise(n, err, w)) if f is not None]
    return min(fits, key=lambda f: f.aicc)


def refit(fit: CurveFit, n: np.ndarray, accuracy: np.ndarray, sem: np.ndarray) -> CurveFit:
    """The same kind of curve (and break point) refitted to new means, starting from ``fit``."""
    n, err, w = _prepare(n, accuracy, sem)
    if fit.kind == "power":
        params, rss = _solve("power", n, err, w, fit.params)
        return CurveFit("power", params, _aicc(rss, len(n), 3))
    params, rss = _solve("piecewise", n, err, w, fit.params[:4], fit.params[4])
    return CurveFit("piecewise", (*params, fit.params[4]), _aicc(rss, len(n), 5))


def birge_ratio(fit: CurveFit, n, accuracy, sem) -> float:
    """``sqrt(chi2 / dof)`` of the fit with the weights it was fitted with, at least 1: how
    much more the means scatter around the curve than their noise explains."""
    n, err, w = _prepare(n, accuracy, sem)
    n_params = 3 if fit.kind == "power" else 4  # the piecewise break point is picked, not fitted
    dof = len(n) - n_params
    if dof < 1:
        return 1.0
    chi2 = float(np.sum((w * (fit.error(n) - err)) ** 2))
    return max(1.0, math.sqrt(chi2 / dof))


def _prepare(n, accuracy, sem):
    n, err = np.asarray(n, dtype=float), 1.0 - np.asarray(accuracy, dtype=float)
    w = 1.0 / (np.asarray(sem, dtype=float) + 0.005)  # a 0.5-point noise floor per point
    return n, err, w


def bootstrap_fits(curve: dict, max_size: float | None = None, seed: int = 0,
                   n_boot: int = N_BOOTSTRAP) -> tuple[CurveFit, list[CurveFit]]:
    """The fit on the measured means and ``n_boot`` fits on resampled repeats.

    Only points with ``n <= max_size`` are used (the back-test fits on the small sizes). The
    bootstrap fits are widened around the main one by its Birge ratio (see the module doc).
    """
    points = [p for p in curve["points"] if max_size is None or p["size"] <= max_size]
    n = np.array([p["n"] for p in points])
    runs = np.array([p["runs"] for p in points])  # (n_points, repeats)
    repeats = runs.shape[1]
    sem = runs.std(axis=1) / math.sqrt(repeats)
    main = fit_curve(n, runs.mean(axis=1), sem)
    scale = birge_ratio(main, n, runs.mean(axis=1), sem)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        pick = rng.integers(0, repeats, repeats)  # resample whole repeats: points stay paired
        sample = runs[:, pick]
        boot = refit(main, n, sample.mean(axis=1), sample.std(axis=1) / math.sqrt(repeats))
        boots.append(replace(boot, around=main, scale=scale) if scale > 1.0 else boot)
    return main, boots


def advise(curve: dict, main: CurveFit, boots: list[CurveFit], current: float | None = None) -> dict:
    """The answer: accuracy now, the ceiling, and how many more examples per class reach
    a target (with a 10-90% range), in numbers and in one sentence.

    ``main, boots`` come from ``bootstrap_fits(curve)``; ``current`` is the examples per class
    in the whole data (default: ``curve["n_per_class"]``).
    """
    current = float(current or curve["n_per_class"])
    now = float(main.accuracy(current))
    ceiling = main.ceiling
    result = {"n_per_class": current, "accuracy_now": now, "ceiling": ceiling,
              "fit": {"kind": main.kind, "params": list(main.params)},
              "forecast": [_forecast(main, boots, current * m) for m in (2, 5, 10)]}
    gap = ceiling - now
    if gap < 0.01:
        result["target"] = None
        result["sentence"] = (f"The curve is flat at ~{100 * now:.1f}%: more examples of the same "
                              "kind are unlikely to help; try another backbone or fine-tuning.")
        return result
    target = now + max(0.005, round(gap / 2 * 200) / 200)  # halfway to the ceiling, 0.5 pt steps
    need = main.size_for(target)
    need_boot = np.array([b.size_for(target) for b in boots])
    lo, hi = (v if v < 1e12 else math.inf
              for v in np.percentile(np.minimum(need_boot, 1e15), [10, 90]))
    more = max(1, math.ceil(need - current)) if math.isfinite(need) else None
    result["target"] = {"accuracy": target, "n_per_class": need, "more_per_class": more,
                        "range_more_per_class": [_more(lo, current), _more(hi, current)]}
    far = more is not None and need > FAR * current
    result["sentence"] = (_far_sentence(now, target, current, result["forecast"][-1]) if far
                          else _sentence(now, target, more, lo, hi, current))
    return result


FAR = 10  # the forecasts stop at 10x the data; a count of examples further out is not stated


def _far_sentence(now: float, target: float, current: float, forecast: dict) -> str:
    """The answer when the target lies beyond ``FAR`` times the data: the forecast at ``FAR``x,
    not a count of examples from a far extrapolation ("≈ 5792 more" from 5 per class)."""
    lo, hi = forecast["range"]
    return (f"At ~{100 * now:.1f}% with {current:.0f} per class, {100 * target:.1f}% needs more than "
            f"{FAR} times the data by the fitted curve, further than it can forecast; it forecasts "
            f"~{100 * forecast['accuracy']:.1f}% at {forecast['n_per_class']:.0f} per class "
            f"(range {100 * lo:.1f}–{100 * hi:.1f}%).")


def _forecast(main: CurveFit, boots: list[CurveFit], n: float) -> dict:
    values = np.clip([b.accuracy(n) for b in boots], 0.0, 1.0)  # a fitted curve may pass 100%
    lo, hi = np.percentile(values, [10, 90])
    return {"n_per_class": n, "accuracy": float(np.clip(main.accuracy(n), 0.0, 1.0)),
            "range": [float(lo), float(hi)]}


def _more(n: float, current: float) -> float | None:
    return None if not math.isfinite(n) else float(max(0, math.ceil(n - current)))


def _sentence(now, target, more, lo, hi, current) -> str:
    if more is None:
        return (f"At ~{100 * now:.1f}% now, {100 * target:.1f}% looks out of reach with more data "
                "of this kind.")
    lo_more = int(_more(lo, current))
    if math.isfinite(hi):
        span = f"range {lo_more}–{int(_more(hi, current))} more"
    elif lo_more == 0:  # the bootstrap spans "already there" to "never": say so, not "0 or more"
        span = "too noisy to bound: from none to out of reach"
    else:  # "range 71 or more" next to "71.7%" read as a percentage
        span = f"at least {lo_more} more, perhaps far more"
    return (f"≈ {more} more examples per class should reach {100 * target:.1f}% "
            f"({span}; now ~{100 * now:.1f}% with {current:.0f} per class).")
