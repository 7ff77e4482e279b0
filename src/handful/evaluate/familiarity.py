"""Does an input look like the training examples? k-nearest-neighbour novelty on embeddings.

A classifier answers every input with one of its classes, sure or not: a photo of a car given
to an ants-vs-bees model is an ant or a bee. Before trusting the answer, ask whether anything
like the input was among the examples. Following Sun et al. (ICML 2022, "Out-of-distribution
detection with deep nearest neighbors"): embeddings are L2-normalized, an input's *familiarity*
is the mean cosine similarity of its ``k`` nearest training examples, and the threshold is the
familiarity that 95% of the training examples reach among the others (leave-one-out; the conformal
rank, ``conformal_threshold``). So at most 1 in 20 inputs like the training data is flagged by
construction; inputs unlike it nearly all are: with EfficientNet-Lite0, a hymenoptera model
flags 96% of flowers5 photos and 100% of Omniglot drawings, a flowers5 model 100% of both; with
MiniLM, a TREC model flags 53% of SST-2 sentences and an SST-2 model 91% of TREC questions
(``benchmarks/familiarity.py``).

The flag never changes a prediction; it says "check this one". A model keeps at most
``MAX_STORED`` of its training embeddings for it (drawn per class), as float16.

A model, trained or fitted to a support set (``Classifier.fit_support``), is judged only with
``MIN_JUDGED`` (20) examples or more: "1 in 20" cannot be read off fewer than 20 numbers (it falls
below their lowest). Measured on 40 random draws per size (``benchmarks/familiarity_support.py``),
sets of 4-16 Lite0 embeddings flagged 10-16% of held-out hymenoptera photos (some draws 30%+) and
5-10% of flowers5's, a ProtoNet's Omniglot sets of 5-15 about 1%: not the rate the mark promises,
nor a predictable one. From 20 on it settles: 3-7% of photos at 20-60, about 4% from 100.
Sessions 18-20's ``np.quantile`` threshold flagged 6-12% at 20-60: its interpolated 5% point sits
above the conformal rank (``benchmarks/familiarity_shift.py``). The price: with 19-38 examples the
threshold is the lowest leave-one-out score, so one odd training photo lowers it, and hymenoptera
sets of 20-30 catch 57-66% of flowers5 photos where that rule caught 88-90%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import BundleError

K = 5
QUANTILE = 0.05  # of the training examples flagged by construction
MAX_STORED = 2000
MIN_EXAMPLES = 3  # below this, no neighbours to compare with: no familiarity
MIN_JUDGED = round(1 / QUANTILE)  # 20: below 19, floor((n + 1) * 5%) = 0: no rank to set the threshold at

__all__ = ["FAMILIARITY_FILE", "K", "MAX_STORED", "MIN_JUDGED", "QUANTILE", "Familiarity", "conformal_threshold",
           "familiarity_meta", "fit_familiarity", "load_familiarity", "not_judged", "save_familiarity"]


def _normalized(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


@dataclass
class Familiarity:
    """Stored training embeddings (L2-normalized), ``k`` and the threshold on familiarity."""

    embeddings: np.ndarray  # (m, dim) float16
    k: int
    threshold: float

    def scores(self, X: np.ndarray, batch: int = 512) -> np.ndarray:
        """Familiarity of each row of ``X`` (n, dim): the mean cosine similarity of its ``k``
        nearest stored examples, in [-1, 1]; NaN rows (unusable items) give NaN."""
        stored = self.embeddings.astype(np.float32)
        X = _normalized(np.nan_to_num(X))
        out = np.empty(len(X), dtype=np.float64)
        for start in range(0, len(X), batch):
            sims = X[start:start + batch] @ stored.T
            out[start:start + batch] = np.sort(sims, axis=1)[:, -self.k:].mean(axis=1)
        return out

    def familiar(self, X: np.ndarray) -> np.ndarray:
        """True where an input is at least as close to the training examples as 95% of them are."""
        return self.scores(X) >= self.threshold

    def to_meta(self) -> dict:
        return {"k": self.k, "threshold": self.threshold, "n_stored": int(len(self.embeddings)),
                "quantile": QUANTILE, "method": "k-nearest-neighbour cosine similarity (Sun et al. 2022)",
                "threshold_rule": "conformal rank floor((n + 1) * quantile) of the leave-one-out scores"}

    @classmethod
    def from_saved(cls, embeddings: np.ndarray, meta: dict, where: str) -> Familiarity:
        """Rebuild from ``model.json``'s ``familiarity`` and the stored embeddings; damaged -> BundleError."""
        k, threshold = meta.get("k"), meta.get("threshold")
        ok = (isinstance(k, int) and not isinstance(k, bool) and 1 <= k < max(2, len(embeddings))
              and isinstance(threshold, (int, float)) and abs(threshold) <= 1.01  # float16 rounding
              and embeddings.ndim == 2 and len(embeddings) >= MIN_EXAMPLES)
        if not ok:
            raise BundleError(f"{where} is damaged: its familiarity (k={k!r}, threshold={threshold!r}, "
                              f"{embeddings.shape} stored embeddings) does not fit together. Re-train the model.")
        return cls(embeddings.astype(np.float16), int(k), float(threshold))


def fit_familiarity(X: np.ndarray, y: np.ndarray, seed: int = 0,
                    min_examples: int = MIN_EXAMPLES) -> Familiarity | None:
    """Keep up to ``MAX_STORED`` of the training embeddings ``X`` (n, dim) (all of them, or a
    per-class share of each class) and set the threshold by leave-one-out among them; None with
    fewer than ``min_examples`` usable examples (``Classifier`` asks for ``MIN_JUDGED``)."""
    X = np.asarray(X)
    y = np.asarray(y, dtype=object)
    keep = np.isfinite(X).all(axis=1)
    X, y = X[keep], y[keep]
    if len(X) < max(min_examples, MIN_EXAMPLES):
        return None
    if len(X) > MAX_STORED:
        rng = np.random.default_rng(seed)
        share = MAX_STORED / len(X)
        picked = [rng.choice(np.flatnonzero(y == c), max(1, int(share * np.sum(y == c))), replace=False)
                  for c in np.unique(y)]
        X = X[np.sort(np.concatenate(picked))]
    Z = _normalized(X)
    stored = Z.astype(np.float16)
    k = min(K, len(Z) - 1)
    sims = Z @ stored.astype(np.float32).T  # as ``scores`` will see them
    np.fill_diagonal(sims, -np.inf)  # leave each one out
    leave_one_out = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
    return Familiarity(stored, k, conformal_threshold(leave_one_out))


def conformal_threshold(scores: np.ndarray, quantile: float = QUANTILE) -> float:
    """The ``r``-th lowest of the n leave-one-out ``scores``, r = floor((n + 1) * quantile) (at least 1).

    A new input exchangeable with the n examples is equally likely to rank anywhere among the n + 1,
    so it falls below the r-th lowest with probability r / (n + 1) <= ``quantile`` (4.8% at n = 20).
    ``np.quantile``'s interpolated 5% point sits at rank 1 + 0.05 (n - 1) instead: 9.3% at 20, 7.2%
    at 40, 6.5% at 60 flagged (sessions 18-20; ``benchmarks/familiarity_shift.py``).
    """
    rank = max(1, math.floor((len(scores) + 1) * quantile))
    return float(np.sort(scores)[rank - 1])


def not_judged(n: int, what: Literal["support set", "training set"] = "support set") -> str:
    """Why no input is marked after fitting ``n`` (< ``MIN_JUDGED``) examples, ``what`` they were: one
    line (a training set's fix is to re-train)."""
    redo = " and re-train" if what == "training set" else ""
    return (f"Familiarity not judged: the {what} has only {n} example{'s' * (n != 1)}; it needs "
            f"{MIN_JUDGED} (fewer cannot set the threshold that 95% of them reach), so no input is marked "
            f"unlike it. Add examples to the {what} ({MIN_JUDGED}+ in all){redo} to have them marked.")


FAMILIARITY_FILE = "familiarity.safetensors"


def familiarity_meta(familiarity: Familiarity | None) -> dict:
    """``{"familiarity": ...}`` for ``model.json`` (empty without one)."""
    return {} if familiarity is None else {"familiarity": {"file": FAMILIARITY_FILE, **familiarity.to_meta()}}


def save_familiarity(familiarity: Familiarity | None, folder) -> None:
    """Write the stored embeddings beside ``model.json`` (nothing without them)."""
    if familiarity is not None:
        from safetensors.numpy import save_file

        save_file({"embeddings": np.ascontiguousarray(familiarity.embeddings)}, str(folder / FAMILIARITY_FILE))


def load_familiarity(folder, meta: dict | None, where: str) -> Familiarity | None:
    """The familiarity a model directory keeps (None for models saved without one)."""
    if not meta:
        return None
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = folder / FAMILIARITY_FILE
    try:
        embeddings = load_file(str(path))["embeddings"]
    except (OSError, SafetensorError, KeyError) as err:
        raise BundleError(f"{where} is damaged: model.json keeps familiarity data but {path.name} "
                          f"cannot be read ({type(err).__name__}). Re-train the model.") from None
    return Familiarity.from_saved(embeddings, meta, where)
