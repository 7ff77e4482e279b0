"""Fit one learning curve: error ``e(n) = 1 - accuracy`` at ``n`` examples per class.

Two forms, both with a floor ``f``, the error no amount of this kind of data removes
(Mahmood et al., CVPR 2022, on why floorless power laws over-promise):

* **power law**, ``e = f + b * n**-c``;
* **piecewise power law**: the exponent changes at a break point ``n0``, because the first few
  examples per class teach at another rate than later ones (Jain et al., CVPR 2023).

``fit_curve`` keeps the one with the lower AICc (the piecewise one pays for its two extra
parameters). It describes a curve measured far enough to show its shape: the prior's tasks
(``curve_prior``); ``advice.posterior_fits`` extrapolates a short one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

# Exponents below this make a flat curve look like a slow climb to 100%; measured
# learning-curve exponents for classification are ~0.1-1 (Hestness et al. 2017).
MIN_EXPONENT = 0.1


@dataclass
class CurveFit:
    """A fitted error curve: ``kind`` is "power" or "piecewise"; ``params`` its numbers."""

    kind: str
    params: tuple[float, ...]  # power: (f, b, c); piecewise: (f, b, c1, c2, n0)
    aicc: float

    def error(self, n) -> np.ndarray:
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
        return 1.0 - self.params[0]

    def size_for(self, accuracy: float, upper: float = 1e6) -> float:
        """Examples per class at which the curve reaches ``accuracy`` (inf if never)."""
        return size_for(self, accuracy, upper)


def size_for(curve, accuracy: float, upper: float = 1e6) -> float:
    """Examples per class at which an increasing ``curve`` (``accuracy(n)``, ``ceiling``)
    reaches ``accuracy``: inf if never (below ``upper``)."""
    if accuracy >= curve.ceiling:
        return math.inf
    lo, hi = 0.0, math.log(upper)
    if curve.accuracy(math.exp(hi)) < accuracy:
        return math.inf
    for _ in range(60):  # bisection in log n; the curve is increasing
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if curve.accuracy(math.exp(mid)) < accuracy else (lo, mid)
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
    n, err, w = error_and_weights(n, accuracy, sem)
    fits = [f for f in (_fit_power(n, err, w), _fit_piecewise(n, err, w)) if f is not None]
    return min(fits, key=lambda f: f.aicc)


def error_and_weights(n, accuracy, sem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sizes, errors ``1 - accuracy`` and least-squares weights ``1 / (sem + 0.005)`` as arrays."""
    n, err = np.asarray(n, dtype=float), 1.0 - np.asarray(accuracy, dtype=float)
    w = 1.0 / (np.asarray(sem, dtype=float) + 0.005)  # a 0.5-point noise floor per point
    return n, err, w
