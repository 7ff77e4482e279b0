"""The learning curve's fits run in threads: same draws and scores, progress and cancel as before."""

import threading

import numpy as np
import pytest

from handful.evaluate.learning_curve import measure_learning_curve
from handful.heads import create_head


def data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(240, 8))
    y = np.array(list("abc") * 80, dtype=object)
    X[y == "a", 0] += 1.5
    X[y == "b", 1] += 1.0
    return X, y


def fit_predict(X_train, y_train, X_eval):
    return create_head("logistic").fit(X_train, y_train).predict(X_eval)


def test_threads_give_the_curve_of_one_thread_to_the_last_digit():
    X, y = data()
    one = measure_learning_curve(X, y, fit_predict, repeats=3, workers=1)
    two = measure_learning_curve(X, y, fit_predict, repeats=3, workers=2)
    # the draws are made before any fit, in the order they always were: a seed means one curve
    assert one["points"] == two["points"]


def test_fits_really_run_at_once():
    X, y = data()
    running, most, lock = 0, 0, threading.Lock()
    both = threading.Barrier(2, timeout=5)

    def slow(X_train, y_train, X_eval):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            both.wait()  # returns only once a second fit is in flight too
        except threading.BrokenBarrierError:
            pass
        with lock:
            running -= 1
        return fit_predict(X_train, y_train, X_eval)

    measure_learning_curve(X, y, slow, sizes=[5, 10], repeats=2, workers=2, draw_budget=1)
    assert most == 2


def test_progress_counts_every_fit_and_a_raise_there_stops_the_rest():
    X, y = data()
    calls = []
    measure_learning_curve(X, y, fit_predict, sizes=[2, 5], repeats=2, workers=2, on_fit=lambda: calls.append(1),
                           draw_budget=1)
    assert len(calls) == 4  # 2 sizes x 2 repeats, one draw each

    done = []

    def cancel():
        done.append(1)
        if len(done) == 3:
            raise KeyboardInterrupt  # a cancelled job (the server raises from its progress callback)

    with pytest.raises(KeyboardInterrupt):
        measure_learning_curve(X, y, fit_predict, repeats=10, workers=2, on_fit=cancel)
    assert len(done) == 3  # no progress after the raise: the pending fits were dropped
