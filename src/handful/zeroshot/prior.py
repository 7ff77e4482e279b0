"""ZeroShotPriorHead: a K-shot head with the zero-shot class scores as a prior.

``log p(k | x) = log p_head(k | x) + weight * score_k(x) / TEMPERATURE + const``: a product of
the K-shot head's probabilities and the zero-shot probabilities raised to ``weight``. The weight
is picked by cross-validation on the training examples over a grid (so it shrinks by itself as
K grows and the head gets better), scored as the model search scores heads: accuracy, or balanced
accuracy when the classes are imbalanced (``select.search.selection_metric``). With a single
example in some class there is nothing to cross-validate; then the zero-shot scores are checked
on the training examples themselves (they never saw the labels, so this is a fair test): the
better they predict the true labels, the larger the weight, and a zero-shot scorer no better than
chance gets weight 0.

The saved state is the base head's arrays plus the zero-shot map (ImageNet classifier, label
and class-name embeddings), so a loaded model predicts from embeddings alone.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from ..errors import DataError
from ..heads.base import HeadMixin, softmax
from ..heads.params import at_least, check_params, either, one_of, whole_at_least
from .semantic import ZeroShotMap

TEMPERATURE = 0.05  # cosine scores -> zero-shot logits
WEIGHT_GRID = (0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 50.0)
NO_CV_MAX_WEIGHT = 20.0  # weight for a zero-shot scorer that is certain and right on every example


class ZeroShotPriorHead(HeadMixin, BaseEstimator):
    """Combine a K-shot head with zero-shot class-name scores.

    Args:
        base: the K-shot head's registry name (``prototype``, ``logistic``, ...).
        base_params: its parameters.
        weight: the prior's weight, or ``"auto"`` (cross-validated; see the module doc).
        kind: ``"conse"`` (ImageNet classifier + label embeddings) or ``"cosine"``.
        top_t: ConSE's number of ImageNet labels per image.

    The class-name scorer (``with_zero_shot``) is not a parameter, since ``get_params()`` is
    written as JSON (model.json, ``--json``) and the map is saved as arrays; ``clone`` (so
    ``cross_val_score``, ``GridSearchCV``) keeps it all the same.

    Example:
        >>> zs = build_zero_shot_map(backbone, ["ant", "bee"])
        >>> head = ZeroShotPriorHead("prototype", kind=zs.kind).with_zero_shot(zs).fit(X, y)
    """

    _param_rules = {"weight": either(one_of("auto"), at_least(0)), "kind": one_of("conse", "cosine"),
                    "top_t": whole_at_least(1)}

    def __init__(self, base: str = "prototype", base_params: dict | None = None,
                 weight: float | str = "auto", kind: str = "conse", top_t: int = 10,
                 random_state: int = 0):
        self.base = base
        self.base_params = base_params
        self.weight = weight
        self.kind = kind
        self.top_t = top_t
        self.random_state = random_state

    @property
    def _state_attrs(self) -> tuple[str, ...]:
        from ..heads import HEADS

        zs = ("zs_fc_weight_", "zs_fc_bias_", "zs_label_embeddings_") if self.kind == "conse" else ()
        base_attrs = tuple(f"base_{a}" for a in HEADS[self.base]._state_attrs)
        return zs + ("zs_class_embeddings_", "weight_") + base_attrs

    def with_zero_shot(self, zero_shot: ZeroShotMap) -> ZeroShotPriorHead:
        """Attach the class-name scorer (it must cover every class ``fit`` will see)."""
        self.zero_shot_map = zero_shot
        return self

    def __sklearn_clone__(self) -> ZeroShotPriorHead:
        """An unfitted copy with the same parameters and the same class-name scorer: without it
        the copy would fit a flat prior, and cross-validation would score another model."""
        copy = super().__sklearn_clone__()
        zero_shot = getattr(self, "zero_shot_map", None)
        return copy if zero_shot is None else copy.with_zero_shot(zero_shot)

    def _check_params(self) -> None:
        """This head's parameters, then its base head's (a registered head other than this one)."""
        from ..heads import HEADS, create_head

        check_params(self, self._param_rules)
        bases = [name for name in HEADS if name != "zeroshot_prior"]
        check_params(self, {"base": one_of(*bases)})
        create_head(self.base, **(self.base_params or {}))._check_params()

    def fit(self, X, y, groups=None) -> ZeroShotPriorHead:
        """Fit the base head; ``groups`` (n,): copies share a group and a side of the folds
        that choose the weight."""
        from ..heads import create_head

        X, y_idx = self._validate_fit(X, y)
        if groups is not None and len(groups) != len(y_idx):
            raise DataError(f"ZeroShotPriorHead.fit needs one group per example; got {len(groups)} "
                            f"groups for {len(y_idx)} examples.")
        zs = getattr(self, "zero_shot_map", None)
        if zs is None:  # no scorer attached: a flat prior, the head is the base head
            zs = flat_zero_shot_map([str(c) for c in self.classes_], X.shape[1], self.kind)
        missing = [c for c in self.classes_ if str(c) not in zs.class_names]
        if missing:
            raise DataError(f"ZeroShotPriorHead has no class-name embedding for {missing}. "
                             "Call with_zero_shot(map) with every class before fit.")
        zs = zs.select([str(c) for c in self.classes_])
        scores = zs.scores(X)  # (n, n_classes)
        params = self.base_params or {}
        # {"metric": ..., "without_prior": ..., "with_prior": ...} when CV ran; the scores are in
        # "metric" ("accuracy", or "balanced_accuracy" on imbalanced classes)
        self.cv_accuracy_, self._oof = None, None
        if self.weight == "auto":
            self.weight_, self.weight_source_, self.cv_accuracy_ = choose_weight(
                X, y_idx, scores, self.base, params, self.random_state, groups)
            self._oof = self.cv_accuracy_.pop("_oof") if self.cv_accuracy_ else None
        else:
            self.weight_, self.weight_source_ = float(self.weight), "given"
        self._base_head = create_head(self.base, **params).fit(X, self.classes_[y_idx])
        self._zs = zs
        for name, array in zs.state_arrays().items():
            setattr(self, f"{name}_", array)
        for name, array in self._base_head.state_arrays().items():
            setattr(self, f"base_{name}", array)
        self.weight_ = np.array([self.weight_], dtype=np.float64)
        return self

    def _parts(self):
        """The base head and the zero-shot map (rebuilt from the arrays after loading)."""
        if getattr(self, "_base_head", None) is None:
            from ..heads import HEADS, create_head

            base = create_head(self.base, **(self.base_params or {}))
            for name in HEADS[self.base]._state_attrs:
                setattr(base, name, getattr(self, f"base_{name}"))
            base.classes_, base.n_features_in_ = self.classes_, self.n_features_in_
            self._base_head = base
            arrays = {name[:-1]: getattr(self, name) for name in self._state_attrs
                      if name.startswith("zs_")}
            self._zs = ZeroShotMap.from_arrays([str(c) for c in self.classes_], arrays, self.top_t)
        return self._base_head, self._zs

    def oof_calibration(self, n_examples: int) -> dict | None:
        """The temperature fitted on the answers of the folds that chose the weight, at that
        weight (``evaluate.calibration_summary``: none below 20 distinct examples), the answers
        of the first ``n_examples`` rows only (rows after them are augmented views, not examples);
        None when the weight was not cross-validated (given, or one example in a class)."""
        from ..evaluate.calibration import calibration_summary

        if getattr(self, "_oof", None) is None:
            return None
        proba, y_idx, index = self._oof
        keep = index < n_examples
        return calibration_summary(proba[keep], y_idx[keep], n_examples=len(np.unique(index[keep])))

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities (n_samples, n_classes): head times zero-shot prior, renormalized."""
        X = self._validate_predict(X)
        base, zs = self._parts()
        log_head = np.log(np.clip(base.predict_proba(X), 1e-12, None))
        return self._calibrated(softmax(log_head + float(self.weight_[0]) * zs.scores(X) / TEMPERATURE))


def choose_weight(X: np.ndarray, y_idx: np.ndarray, scores: np.ndarray, base: str, params: dict,
                  random_state: int = 0, groups: np.ndarray | None = None
                  ) -> tuple[float, str, dict | None]:
    """The prior weight: by cross-validated score (log-likelihood breaks ties), else by how
    well the zero-shot scores alone predict the training labels.

    The score is the model search's (``selection_metric``): balanced accuracy when the largest
    class has ``IMBALANCE_RATIO`` times the smallest's examples, since plain accuracy would buy
    the big classes' hits with the small class's recall; else accuracy.
    Returns the weight, how it was chosen, and ``{"metric", "without_prior", "with_prior", "_oof"}``:
    the CV score without and with it, in ``metric``, and the out-of-fold answers at the chosen
    weight, ``(proba (m, n_classes), y_idx (m,), row index (m,))``, to calibrate it on (or None
    without CV).
    ``groups`` (n,): copies of one example stay on one side of every fold.
    """
    from ..heads import create_head
    from ..select.search import cv_splits, fold_score, selection_metric

    splits, _ = cv_splits(y_idx, random_state, groups=groups)
    if splits is None:
        return weight_without_cv(scores, y_idx), "zero-shot fit on the training examples", None
    metric = selection_metric(y_idx)
    n_classes = scores.shape[1]
    score = np.zeros(len(WEIGHT_GRID))
    loglik = np.zeros(len(WEIGHT_GRID))
    log_heads = []  # (len(test), n_classes) per fold: the answers at the chosen weight, afterwards
    for train, test in splits:
        head = create_head(base, **params).fit(X[train], y_idx[train])
        proba = np.zeros((len(test), n_classes))
        proba[:, head.classes_.astype(int)] = head.predict_proba(X[test])
        log_head = np.log(np.clip(proba, 1e-12, None))
        log_heads.append(log_head)
        for j, w in enumerate(WEIGHT_GRID):
            p = softmax(log_head + w * scores[test] / TEMPERATURE)
            score[j] += fold_score(y_idx[test], p.argmax(axis=1), metric)
            loglik[j] += float(np.log(p[np.arange(len(test)), y_idx[test]] + 1e-12).mean())
    best = int(np.argmax(score + 1e-3 * loglik / len(splits)))  # ties: the smaller weight
    weight = float(WEIGHT_GRID[best])
    index = np.concatenate([test for _, test in splits])
    oof = softmax(np.vstack(log_heads) + weight * scores[index] / TEMPERATURE)
    cv = {"metric": metric, "without_prior": score[0] / len(splits), "with_prior": score[best] / len(splits),
          "_oof": (oof, y_idx[index], index)}
    return weight, "cross-validation", cv


def weight_without_cv(scores: np.ndarray, y_idx: np.ndarray) -> float:
    """``NO_CV_MAX_WEIGHT * r**2``, ``r`` the zero-shot's log-likelihood gain over chance on the
    labeled examples, as a fraction of the most it could gain (log n_classes), clipped to [0, 1]."""
    n_classes = scores.shape[1]
    p = softmax(scores / TEMPERATURE)[np.arange(len(y_idx)), y_idx]
    gain = float(np.log(p + 1e-12).mean() + np.log(n_classes))
    r = min(1.0, max(0.0, gain / np.log(n_classes)))
    return NO_CV_MAX_WEIGHT * r * r


def flat_zero_shot_map(class_names: list[str], dim: int, kind: str) -> ZeroShotMap:
    """A map whose scores are all 0 (no information), in the layout of ``kind``."""
    n = len(class_names)
    if kind != "conse":
        return ZeroShotMap(tuple(class_names), np.zeros((n, dim), dtype=np.float32))
    return ZeroShotMap(tuple(class_names), np.zeros((n, 1), dtype=np.float32),
                       np.zeros((1000, dim), dtype=np.float32), np.zeros(1000, dtype=np.float32),
                       np.zeros((1000, 1), dtype=np.float32))


def with_prior(head, zero_shot: ZeroShotMap, random_state: int = 0) -> ZeroShotPriorHead:
    """Wrap an unfitted head: same head and parameters, plus the zero-shot prior."""
    from ..heads import head_name

    name = head_name(head)
    if name == "zeroshot_prior":
        return head.with_zero_shot(zero_shot)
    return ZeroShotPriorHead(name, head.get_params(), kind=zero_shot.kind, top_t=zero_shot.top_t,
                             random_state=random_state).with_zero_shot(zero_shot)


def zero_shot_map_for(backbone, labels, class_names: dict | None = None,
                      template: str | None = None, cache=None) -> ZeroShotMap:
    """The ZeroShotMap of ``backbone`` for ``labels``, each named ``class_names.get(label, label)``;
    the map's classes are the labels themselves."""
    from dataclasses import replace

    from .scorer import build_zero_shot_map

    names = [(class_names or {}).get(str(label), str(label)) for label in labels]
    zs = build_zero_shot_map(backbone, names, template, cache=cache)
    return replace(zs, class_names=tuple(str(label) for label in labels))


from ..heads import HEADS  # noqa: E402  (done here: heads imports this module last, or this one came first)

HEADS["zeroshot_prior"] = ZeroShotPriorHead
