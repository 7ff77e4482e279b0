"""Transductive prototypes: the EM refinement, the class-proportion prior, the head check."""

import numpy as np
import pytest

from handful.errors import DataError
from handful.fewshot.transductive import (
    check_transductive_head,
    refined_logits,
    transductive_proba,
    transductive_scorer,
)
from handful.heads import PrototypeHead


def episode(rng: np.random.Generator, n_way: int = 5, n_query: int = 15, dim: int = 8, spread: float = 1.0):
    """Gaussian classes with unit spread per axis, centers ~3 apart: one support draw per class is
    often far from its center, so a single-example prototype misplaces the class boundary."""
    centers = rng.normal(0, 1.1, (n_way, dim))
    support = centers + rng.normal(0, spread, (n_way, dim))
    query_y = np.repeat(np.arange(n_way), n_query)
    query = centers[query_y] + rng.normal(0, spread, (len(query_y), dim))
    return support, np.arange(n_way), query, query_y


def mean_accuracy(scorer, n_episodes: int = 60, **kwargs) -> float:
    accs = []
    for i in range(n_episodes):
        s, sy, q, qy = episode(np.random.default_rng(i), **kwargs)
        accs.append(np.mean(scorer(s, sy, q, len(s)) == qy))
    return float(np.mean(accs))


def nearest(s, sy, q, n):
    return refined_logits(s, np.ones(n), q, iterations=0).argmax(1)


def test_zero_iterations_is_the_nearest_prototype_and_an_empty_batch_is_empty():
    s, sy, q, _ = episode(np.random.default_rng(0))
    d = ((q[:, None] - s[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(nearest(s, sy, q, 5), d.argmin(1))
    assert refined_logits(s, np.ones(5), np.zeros((0, 8))).shape == (0, 5)


def test_one_step_moves_a_prototype_by_its_share_of_the_queries_weighted_by_its_support_count():
    # one class: every query is all its own, so the new mean is (count * proto + sum(queries)) / (count + n)
    proto, query = np.array([[0.0]]), np.array([[10.0]])
    for count, expected in ((1, 5.0), (9, 1.0)):
        logits = refined_logits(proto, np.array([count]), query, temperature=1.0, iterations=1)
        assert logits[0, 0] == pytest.approx(-(10.0 - expected) ** 2)  # log prior of one class is 0


def test_refining_with_the_queries_beats_the_single_example_prototypes():
    inductive, transductive = mean_accuracy(nearest), mean_accuracy(transductive_scorer)
    # 60 seeded episodes, 5-way 1-shot, 15 queries per class: the batch shows where the classes are
    assert transductive > inductive + 0.03, (inductive, transductive)


def test_the_class_prior_protects_a_batch_that_holds_only_one_class():
    """15 queries of class 0 only: plain soft k-means drags the other prototypes onto them."""
    plain, with_prior, inductive = [], [], []
    for i in range(60):
        s, sy, q, qy = episode(np.random.default_rng(i))
        q, qy = q[qy == 0], qy[qy == 0]
        inductive.append(np.mean(nearest(s, sy, q, 5) == qy))
        with_prior.append(np.mean(refined_logits(s, np.ones(5), q, iterations=3).argmax(1) == qy))
        plain.append(np.mean(refined_logits(s, np.ones(5), q, iterations=3, prior_strength=None).argmax(1) == qy))
    assert np.mean(with_prior) >= np.mean(inductive) - 0.02, (np.mean(with_prior), np.mean(inductive))
    assert np.mean(with_prior) > np.mean(plain), (np.mean(with_prior), np.mean(plain))


def test_head_check_wants_a_euclidean_prototype_head_fitted_in_this_session():
    X, y = np.random.default_rng(0).normal(size=(6, 4)), np.array(list("aabbcc"))
    head = PrototypeHead(metric="euclidean", temperature=1.0).fit(X, y)
    proba = transductive_proba(head, X)
    assert proba.shape == (6, 3) and np.allclose(proba.sum(1), 1)
    with pytest.raises(DataError, match="--support"):
        check_transductive_head(PrototypeHead().fit(X, y))  # cosine
    del head.counts_  # as after load(): the support counts are not saved
    with pytest.raises(DataError, match="ProtoNet model"):
        check_transductive_head(head)
