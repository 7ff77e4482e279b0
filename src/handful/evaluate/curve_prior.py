"""How learning curves of other tasks went on: a prior over curve shapes (``curve_prior.json``).

A curve measured on 1-10 examples per class cannot tell one that keeps climbing from one
about to level off; extrapolated alone, the noise of its few points decides (the back-test
over-shot flowers5 by 6 points that way). The prior says how the curves of this product's
backbones and heads went on other tasks. Each task's whole curve, from 1 example per class to
hundreds, was fitted with a power law with a floor (piecewise where that fits better, as Jain
et al., CVPR 2023, found for the few-shot regime); at the user's current size ``n_ref`` each
fitted curve gives an *exponent* (its late one) and a *floor share*: the part of its error at
``n_ref`` that no amount of data removed. The prior density on the grid of exponents and
floor shares is a Gaussian kernel density over those points in (log, logit) space.

``benchmarks/curve_prior.py`` measures the curves and writes the file: SentEval, SST and UCI
sentence tasks (MiniLM, e5-small) and Omniglot alphabets, scikit-learn digits, Fashion-MNIST and
simulated textile defects (EfficientNet-Lite0/2), each with the logistic and prototype heads. Hymenoptera, flowers5 and
TREC are not among them, so the back-test on those stays a test.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .curve_fit import CurveFit

PRIOR_FILE = Path(__file__).with_name("curve_prior.json")
EXPONENTS = np.geomspace(0.05, 2.0, 40)
FLOOR_SHARES = np.linspace(0.0, 1.0, 61)
BANDWIDTH = (0.35, 0.6)  # kernel widths in log(exponent) and logit(floor share)
UNIFORM_SHARE = 0.2  # of the prior spread evenly, so a curve unlike the tasks' can still win
_SHARE_CLIP = (1e-3, 0.999)


@lru_cache(maxsize=1)
def prior_shapes(path: Path = PRIOR_FILE) -> tuple[CurveFit, ...]:
    """The fitted whole curves of the prior's tasks."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return tuple(CurveFit(c["kind"], tuple(c["params"]), 0.0) for c in data["curves"])


def shape_at(fit: CurveFit, n_ref: float) -> tuple[float, float]:
    """``(exponent, floor share)`` of a fitted curve at ``n_ref`` examples per class; a
    piecewise curve gives its late exponent, the one that carries it past its break point."""
    exponent = fit.params[2] if fit.kind == "power" else fit.params[3]
    share = fit.params[0] / max(float(fit.error(n_ref)), 1e-9)
    return float(exponent), float(np.clip(share, *_SHARE_CLIP))


def prior_density(n_ref: float, shapes: tuple[CurveFit, ...] | None = None,
                  bandwidth: tuple[float, float] = BANDWIDTH, uniform: float = UNIFORM_SHARE,
                  ) -> np.ndarray:
    """Prior weight of every (exponent, floor share) pair on the grid, shape
    ``(len(EXPONENTS), len(FLOOR_SHARES))``, summing to 1: the kernel density of ``shapes``
    (default: the shipped ones) mixed with ``uniform`` of even weight."""
    shapes = prior_shapes() if shapes is None else shapes
    points = np.array([shape_at(fit, n_ref) for fit in shapes])
    exponents, shares = np.meshgrid(EXPONENTS, np.clip(FLOOR_SHARES, *_SHARE_CLIP), indexing="ij")
    log_c, logit_r = np.log(exponents), _logit(shares)
    density = np.zeros_like(exponents)
    for c, r in points:
        density += np.exp(-0.5 * (((log_c - np.log(max(c, EXPONENTS[0]))) / bandwidth[0]) ** 2
                                  + ((logit_r - _logit(r)) / bandwidth[1]) ** 2))
    return (1 - uniform) * density / density.sum() + uniform / density.size


def _logit(p):
    return np.log(p / (1 - p))
