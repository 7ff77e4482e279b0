"""Session 22 numbers audit: figures handful prints or writes that disagree with an independent
recomputation. Each test is an expected failure until the number is fixed (strict: it must fail)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from handful.cli.output import pct
from handful.evaluate.metrics import classification_report
from handful.select.baseline import transfer_warning
from handful.select.search import Leaderboard


@pytest.mark.parametrize(("n_correct", "n"), [(1999, 2000), (3999, 4000), (9995, 10000)])
def test_pct_never_prints_100_percent_when_an_answer_was_wrong(n_correct, n):
    shown = pct(n_correct / n)
    # 1 mistake in 2,000 is 99.95%: printed with one decimal it becomes "100.0%", which reads as
    # "no mistakes" on the accuracy, coverage and "right" lines of train/evaluate/predict
    assert shown != "100.0%", f"{n_correct}/{n} printed as {shown}"


def test_pct_never_prints_0_percent_when_one_answer_was_right():
    # the other end: 1 of 2,001 right (or answered) is not "0.0%"
    assert pct(1 / 2001) != "0.0%"


def test_report_recall_of_a_class_absent_from_the_test_set_is_undefined_not_zero():
    report = classification_report(["a", "a", "b"], ["a", "a", "b"], ["a", "b", "c"])
    c = report["per_class"]["c"]
    assert c["support"] == 0
    # no example of c was in the test set: its recall (and F1) is undefined, as evaluate's table
    # prints ('-'); report.json and --json say 0.0, which reads as "every c was missed"
    assert c["recall"] is None or math.isnan(c["recall"]), c
    assert c["f1"] is None or math.isnan(c["f1"]), c


def test_report_precision_of_a_never_predicted_class_is_undefined_not_zero():
    # all predictions one class: b is never predicted, so its precision is 0/0
    report = classification_report(["a", "a", "b", "b"], ["a", "a", "a", "a"], ["a", "b"])
    b = report["per_class"]["b"]
    assert sum(row[1] for row in report["confusion_matrix"]) == 0  # never predicted
    # the console table prints '-' for it (cli.core._per_class_rows); the JSON should agree
    assert b["precision"] is None or math.isnan(b["precision"]), b


def test_transfer_warning_noise_is_two_standard_errors_of_the_fold_scores():
    folds = [1.0, 0.875, 0.625, 1.0, 1.0]  # the 5 fold scores of a real hymenoptera run
    best = {"label": "prototype()", "mean": float(np.mean(folds)), "std": float(np.std(folds)),
            "fold_scores": folds}
    base = {"label": "majority class (baseline)", "mean": 0.5, "std": 0.0, "n_folds": 5}
    # the standard error of a mean of 5 scores is s / sqrt(5) with the sample std s (ddof=1):
    # 0.0729, so 2 standard errors = 14.6 points
    expected = 2 * np.std(folds, ddof=1) / math.sqrt(len(folds))
    base["mean"] = best["mean"] - 0.14  # 14 points above: inside 2 standard errors
    text = transfer_warning(Leaderboard([best], "1x5-fold stratified CV", base))
    assert text is not None, "0.14 above the baseline is within 2 standard errors (0.146): warn"
    printed = float(re.search(r"noise of its folds \(([\d.]+) points\)", text).group(1))
    assert printed == pytest.approx(100 * expected, abs=0.05), text


def test_label_check_line_rounds_each_probability_once(capsys):
    from handful.cli.label_check import print_label_check
    from handful.cli.output import Output
    from handful.evaluate.label_check import label_check

    # a real out-of-fold answer (hymenoptera, 8 ants + 4 bees): a bee held out was called an ant
    proba = np.array([[0.9150224, 0.0849776], [0.8, 0.2], [0.1, 0.9]])
    check = label_check(proba, np.array([1, 0, 1]), np.arange(3), ["bee.jpg", "ant.jpg", "bee2.jpg"],
                        ["ants", "bees"])
    print_label_check(Output(), check)
    line = next(line for line in capsys.readouterr().out.splitlines() if "bee.jpg" in line)
    # 0.0849776 is "0.08" to 2 decimals; the report's 4-decimal 0.085 rounded again gives "0.09",
    # so the line read "(p 0.09), called ants (p 0.92)": two probabilities summing to 1.01
    assert "labeled bees (p 0.08)" in line, line
