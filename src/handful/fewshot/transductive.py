"""Transductive prototypes: refine the class means with the unlabeled batch being classified.

With one example per class a prototype is one drawing; the queries of the same batch show
how each class varies. ``refined_logits`` runs EM steps (three by default) of a mixture whose
components are the classes (soft k-means, as in Ren et al. 2018, "Meta-learning for
semi-supervised few-shot classification"): each query is assigned to the classes by a softmax
over minus the squared distance / temperature, each prototype becomes the mean of its support
examples and its share of the queries, and the class proportions of the batch are
re-estimated too, with a Dirichlet prior of ``PRIOR_STRENGTH`` pseudo-queries per class. The
temperature is a share (``RELATIVE_TEMPERATURE``) of the median squared distance between the
prototypes, so it suits any encoder's distance scale.

The class proportions keep a batch that holds only some of the classes (say, 15 drawings of
one character classified among 19) from dragging the absent classes' prototypes onto the
present ones: on the validation characters of the Omniglot benchmark model, plain soft
k-means lost up to 19 points in that case at these settings, while these kept a gain in all
six query mixes tried (``benchmarks/omniglot_transductive_probe.py``, which chose the three
constants). The answer for a query depends on the rest of the batch, so it is off by
default: ``--transductive`` on ``episodes``, ``omniglot-runs`` and ``predict --support``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..heads.base import softmax, squared_distances

ITERATIONS = 3
RELATIVE_TEMPERATURE = 0.08  # the softmax temperature as a share of the median squared prototype distance
PRIOR_STRENGTH = 2.0  # pseudo-queries per class in the Dirichlet prior of the class proportions


def prototype_spread(prototypes: np.ndarray) -> float:
    """The median squared distance between distinct prototypes (1.0 when there is no pair)."""
    d = squared_distances(prototypes, prototypes)[np.triu_indices(len(prototypes), 1)]
    return float(np.median(d)) if len(d) and np.median(d) > 0 else 1.0


def refined_logits(prototypes: np.ndarray, counts: np.ndarray, query: np.ndarray,
                   temperature: float | None = None, iterations: int = ITERATIONS,
                   prior_strength: float | None = PRIOR_STRENGTH,
                   relative_temperature: float = RELATIVE_TEMPERATURE) -> np.ndarray:
    """Class logits (n_query, n_classes) after ``iterations`` EM refinements of the prototypes.

    Args:
        prototypes: (n_classes, d) support means.
        counts: (n_classes,) support examples behind each mean (their weight against queries).
        query: (n_query, d) the unlabeled batch; an empty batch gives a (0, n_classes) result.
        temperature: the softmax temperature of the distances; None: ``relative_temperature``
            times the median squared distance between the prototypes, so the assignments are as
            sharp for an encoder whose distances are small as for one whose are large.
        iterations: EM steps (0: plain nearest prototype).
        prior_strength: Dirichlet pseudo-count per class for the batch's class proportions
            (None: the proportions stay equal, plain soft k-means).

    Example:
        >>> refined_logits(np.array([[0.0], [4.0]]), np.array([1, 1]), np.array([[1.5], [3.0]])).argmax(1)
        array([0, 1])
    """
    prototypes = np.asarray(prototypes, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64).reshape(-1, prototypes.shape[1])
    counts = np.asarray(counts, dtype=np.float64)
    n_classes = len(prototypes)
    log_prior = np.full(n_classes, -np.log(n_classes))
    if len(query) == 0:
        return np.zeros((0, n_classes))
    if temperature is None:
        temperature = relative_temperature * prototype_spread(prototypes)
    sums = prototypes * counts[:, None]
    for _ in range(iterations):
        resp = softmax(log_prior - squared_distances(query, prototypes) / temperature)
        mass = resp.sum(axis=0)
        if prior_strength is not None:
            log_prior = np.log((mass + prior_strength) / (len(query) + n_classes * prior_strength))
        prototypes = (sums + resp.T @ query) / (counts + mass)[:, None]
    return log_prior - squared_distances(query, prototypes) / temperature


def check_transductive_head(head) -> None:
    """Raise unless ``head`` is a euclidean PrototypeHead fitted in this session (it knows its counts).

    Two causes, two fixes: a model that is not a ProtoNet (a support set does not help), and a
    ProtoNet model not fitted on a support set.
    """
    from ..heads import PrototypeHead

    if not isinstance(head, PrototypeHead) or head.metric != "euclidean":
        scores = (f"compares {head.metric} prototypes" if isinstance(head, PrototypeHead)
                  else f"answers with a {type(head).__name__}")
        raise DataError("Transductive prediction refines the euclidean prototypes of a ProtoNet model "
                        f"(`handful protonet train`), and this model {scores}, support set or not. Drop "
                        "--transductive (Python: transductive=False), or use a model from `handful protonet "
                        "train` with its --support DIR.")
    if not hasattr(head, "counts_"):
        raise DataError("Transductive prediction refines the prototypes of a support set, and this ProtoNet "
                        "model has not been fitted on one. Pass --support DIR (Python: clf.fit_support(dir) "
                        "first), or drop --transductive.")


def transductive_proba(head, X: np.ndarray) -> np.ndarray:
    """Class probabilities (n, n_classes) of a fitted euclidean PrototypeHead, refined with ``X``.

    The head must have been fitted in this session (``Classifier.fit_support``): a loaded model
    does not keep the support counts.
    """
    check_transductive_head(head)
    return softmax(refined_logits(head.prototypes_, head.counts_, X))


def transductive_scorer(support: np.ndarray, support_y: np.ndarray, query: np.ndarray,
                        n_way: int) -> np.ndarray:
    """Episode scorer: nearest refined prototype (squared Euclidean, relative temperature)."""
    counts = np.bincount(support_y, minlength=n_way)
    prototypes = np.stack([support[support_y == k].mean(axis=0) for k in range(n_way)])
    return refined_logits(prototypes, counts, query).argmax(axis=1)
