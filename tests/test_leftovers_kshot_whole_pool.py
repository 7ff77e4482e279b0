"""``handful kshot`` at a K no pool class reaches: every draw is the whole pool, and it says so."""

import json
import warnings

import numpy as np

from handful.cli import main
from handful.evaluate.kshot import run_kshot


def _nearest_mean(X_train, y_train, X_eval):
    classes = sorted(set(y_train))
    means = np.stack([X_train[y_train == c].mean(axis=0) for c in classes])
    return np.asarray(classes)[np.argmin(((X_eval[:, None] - means) ** 2).sum(-1), axis=1)]


def test_run_kshot_says_every_draw_is_the_whole_pool_when_k_reaches_every_class():
    rng = np.random.default_rng(0)
    y_pool = np.array(["a"] * 4 + ["b"] * 3, dtype=object)
    X_pool = rng.normal(size=(7, 2)) + (y_pool == "a")[:, None] * 3
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        result = run_kshot(X_pool, y_pool, X_pool, y_pool, [2, 4, 20], 3, _nearest_mean)
    shown = [str(w.message) for w in log]
    # K=20 and K=4 take all of both classes: 3 identical draws, a spread of 0 that tells nothing
    whole = [m for m in shown if "is the whole pool" in m]
    assert len(whole) == 2 and all("measures nothing" in m for m in whole), shown
    assert any(m.startswith("K=20 exceeds the smallest pool class (3)") for m in whole)
    assert any(m.startswith("K=4 exceeds the smallest pool class (3)") for m in whole)
    assert not [m for m in shown if m.startswith("K=2 ")]  # both classes have more than 2
    assert result["shots"]["20"]["std"] == 0.0 and len(result["shots"]["20"]["runs"]) == 3


def test_run_kshot_at_the_size_of_every_class_says_whole_pool_without_exceeds():
    y_pool = np.array(["a", "a", "b", "b"], dtype=object)
    X_pool = np.array([[0.0], [0.1], [1.0], [1.1]])
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        run_kshot(X_pool, y_pool, X_pool, y_pool, [2], 1, _nearest_mean)
    (message,) = [str(w.message) for w in log]
    assert message.startswith("K=2 is the size of every pool class (2)") and "whole pool" in message
    assert "measures nothing" not in message  # one draw shows no spread at all


def test_kshot_cli_at_k_above_every_class_warns_and_keeps_one_score_per_draw(capsys, color_splits):
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        code = main(["kshot", str(color_splits), "--shots", "20", "--repeats", "3", "--backbone",
                     "test_tiny_image", "--head", "prototype", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert len(result["shots"]["20"]["runs"]) == 3  # per-draw lists are unchanged
    shown = " ".join(str(w.message) for w in log) + captured.err
    assert "each of the 3 draws at K=20 is the whole pool" in shown, shown
