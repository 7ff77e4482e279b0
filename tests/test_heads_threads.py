"""Heads fit with one BLAS/OpenMP thread (many small products; two threads busy-wait), and the
libraries get their own setting back afterwards."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from handful.classifier import Classifier
from handful.data import Examples
from handful.evaluate import data_need
from handful.heads import HEADS, PrototypeHead, threads
from handful.select import search_heads


def _threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info()}


class SpyHead(PrototypeHead):
    """A prototype head that records the thread counts it was fitted under."""

    seen: list[set[int]] = []

    def fit(self, X, y):
        SpyHead.seen.append(_threads())
        return super().fit(X, y)


@pytest.fixture
def spy(monkeypatch):
    SpyHead.seen = []
    monkeypatch.setitem(HEADS, "spy", SpyHead)
    with threadpool_limits(2):  # two threads outside, whatever this machine's default
        yield SpyHead.seen


def _data(n_per_class=12):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 1.0, (n_per_class, 8)) for c in (0, 4)])
    return X, np.repeat(["a", "b"], n_per_class).astype(object)


def test_one_thread_limits_every_library_and_restores_it():
    with threadpool_limits(2):
        assert _threads() == {2}
        with threads.one_thread():
            assert _threads() == {1}
        assert _threads() == {2}


def test_without_a_limit_the_libraries_keep_their_setting(monkeypatch):
    monkeypatch.setattr(threads, "LIMIT", None)
    with threadpool_limits(2), threads.one_thread():
        assert _threads() == {2}


def test_the_head_search_fits_every_fold_on_one_thread(spy):
    X, y = _data()
    search_heads(X, y, candidates=(("spy", {}),))
    assert len(spy) == 5 and all(seen == {1} for seen in spy)  # 5 folds
    assert _threads() == {2}


def test_the_data_need_curve_and_the_final_fit_run_on_one_thread(spy, monkeypatch):
    X, y = _data()
    monkeypatch.setattr(data_need, "FAST_HEADS", ("spy",))  # the curve refits the spy
    data_need.estimate_data_need(X, y, "spy", {}, repeats=2)
    n_curve = len(spy)
    Classifier(backbone="test_tiny_image", head="spy").fit_embeddings(
        X, Examples(tuple(map(str, range(len(y)))), tuple(y), "image"))
    assert n_curve >= 10 and len(spy) == n_curve + 1
    assert all(seen == {1} for seen in spy)
    assert _threads() == {2}


def test_episodes_on_embeddings_are_scored_on_one_thread():
    from handful.fewshot.episodes import EpisodeSampler, euclidean_scorer, evaluate_episodes

    seen = []

    def scorer(support, support_y, query, n_way):
        seen.append(_threads())
        return euclidean_scorer(support, support_y, query, n_way)

    labels = [f"c{i}" for i in range(6) for _ in range(4)]
    X = np.random.default_rng(0).normal(size=(len(labels), 8))
    with threadpool_limits(2):
        evaluate_episodes(X, EpisodeSampler(labels, 3, 1, 2), 5, scorer)
    assert seen == [{1}] * 5


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_import_handful_makes_openmp_threads_sleep_unless_the_user_chose(given, expected):
    # Spinning OpenMP threads halve torch's speed when another process wants a core.
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", "import os, handful; print(os.environ['OMP_WAIT_POLICY'])"],
                         env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out[-1] == expected


def test_the_search_scores_the_same_one_fit_at_a_time_or_two_at_once():
    from handful.select.search import DEFAULT_CANDIDATES

    X, y = _data(20)
    fast = tuple(c for c in DEFAULT_CANDIDATES if c[0] != "mlp")
    with threads.fits_at_once(1):
        one = search_heads(X, y, candidates=fast)
    with threads.fits_at_once(2):
        two = search_heads(X, y, candidates=fast)
    # every fit is independent of the others: threads change when, not what
    assert [(r["label"], r["fold_scores"]) for r in one.rows] == [(r["label"], r["fold_scores"]) for r in two.rows]
    np.testing.assert_array_equal(one.best["_oof"][0], two.best["_oof"][0])
