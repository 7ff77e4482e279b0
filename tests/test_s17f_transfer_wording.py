"""The negative-transfer warning compares truly: a best model above the baseline but within its
folds' noise is "not clearly better", not "no better" (seen on a text column of numbers)."""

import re

from handful.select import transfer_warning
from handful.select.search import Leaderboard


def board(best: float, std: float, base: float = 0.5, n_folds: int = 5) -> Leaderboard:
    return Leaderboard(rows=[{"mean": best, "std": std}],
                       baseline={"mean": base, "std": 0.0, "n_folds": n_folds})


def test_a_best_model_above_the_baseline_but_within_the_noise_is_not_called_no_better():
    # 63.3% against 50.0% with a wide spread: it printed "63.3% is no better than ... 50.0%"
    message = transfer_warning(board(0.633, 0.17))
    assert message is not None and "no better than" not in message
    assert "13.3 points above" in message and "not clearly better than" in message
    noise = float(re.search(r"noise of its folds \(([\d.]+) points\)", message)[1])
    assert noise > 13.3, "the warning fires only when the gap is inside the noise it names"


def test_a_best_model_at_or_below_the_baseline_is_still_no_better():
    message = transfer_warning(board(0.25, 0.1))
    assert "(25.0%) is no better than always predicting the most frequent class (50.0%)" in message


def test_a_clear_gain_raises_no_warning():
    assert transfer_warning(board(0.9, 0.05)) is None
