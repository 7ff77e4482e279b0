"""Selective classification in evaluation: at each confidence threshold, the share of examples
answered and the accuracy on those (``risk_coverage``; ``evaluate``, ``handful evaluate``/``train``)."""

import json
import re
import shutil

import numpy as np
import pytest

from conftest import make_color_image, run_json
from handful import Classifier
from handful.cli import main
from handful.evaluate.calibration import THRESHOLDS, risk_coverage


def two_class_proba(confidences, right):
    """Rows whose top probability is each of ``confidences``, right where ``right`` says; true
    class 0 throughout."""
    proba = np.array([[c, 1 - c] if ok else [1 - c, c] for c, ok in zip(confidences, right)])
    return proba, np.zeros(len(confidences), dtype=int)


def test_each_threshold_answers_the_examples_at_least_that_sure_and_scores_only_those():
    # the two least sure answers are the two mistakes: a threshold above them answers only right ones
    proba, y = two_class_proba([0.55, 0.75, 0.85, 0.92, 0.97, 0.995], [False, False, True, True, True, True])
    points = {p["min_confidence"]: p for p in risk_coverage(proba, y)}
    assert [points[t]["n_answered"] for t in THRESHOLDS] == [6, 5, 4, 3, 2, 1]
    assert points[0.5]["accuracy"] == pytest.approx(4 / 6) and points[0.5]["coverage"] == 1.0
    assert points[0.7]["accuracy"] == pytest.approx(4 / 5)  # 0.75 is answered, and wrong
    assert points[0.8]["accuracy"] == 1.0 and points[0.9]["coverage"] == pytest.approx(3 / 6)


def test_a_threshold_no_example_reaches_answers_none_and_has_no_accuracy():
    proba, y = two_class_proba([0.6, 0.7], [True, True])
    (point,) = risk_coverage(proba, y, thresholds=(0.95,))
    assert point == {"min_confidence": 0.95, "coverage": 0.0, "n_answered": 0, "accuracy": None}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """Two overlapping colour classes in train/ and val/ (a quarter of each class drawn in the
    other's colour), and a calibrated model of them."""
    root = tmp_path_factory.mktemp("selective")
    for c, (color, other) in enumerate((((200, 40, 40), (40, 40, 200)), ((40, 40, 200), (200, 40, 40)))):
        for i in range(16):
            make_color_image(root / "split" / "train" / f"class{c}" / f"{i}.png", other if i % 4 == 0 else color,
                             seed=100 * c + i)
    shutil.copytree(root / "split" / "train", root / "split" / "val")
    Classifier("test_tiny_image", cache=False).fit(root / "split" / "train").save(root / "m")
    return root


def test_the_evaluation_report_gives_coverage_and_accuracy_at_each_threshold(noisy):
    clf = Classifier("test_tiny_image", cache=False).fit(noisy / "split" / "train")
    report = clf.evaluate(noisy / "split")
    points = report["confidence"]["selective"]
    assert [p["min_confidence"] for p in points] == list(THRESHOLDS)
    # two classes: every top probability is >= 0.5, so that point answers all, at the plain accuracy
    assert points[0]["coverage"] == 1.0 and points[0]["accuracy"] == pytest.approx(report["accuracy"])
    answered = [p["n_answered"] for p in points]
    assert answered == sorted(answered, reverse=True) and answered[0] == report["n"]


def cells(line: str) -> list[str]:
    """The cells of one table row as printed, without the box lines."""
    return [c.strip() for c in re.split(r"[│|┃]", line) if c.strip()]


def test_handful_evaluate_prints_the_table_and_carries_it_in_json_and_report(capsys, noisy, tmp_path):
    model, data = str(noisy / "m"), str(noisy / "split")
    result = run_json(capsys, ["evaluate", model, data, "--out", str(tmp_path / "e1")])
    points = result["confidence"]["selective"]
    assert [p["min_confidence"] for p in points] == list(THRESHOLDS)
    saved = json.loads((tmp_path / "e1" / "report.json").read_text())
    assert saved["confidence"]["selective"] == points
    assert main(["evaluate", model, data, "--out", str(tmp_path / "e2")]) == 0
    out = capsys.readouterr().out
    table = out[out.index("Answering only when at least this sure"):out.index("Per class")]
    assert "≥90%" in table and "≥99%" in table
    # two classes: at >= 50% every example is answered, at the plain accuracy
    answers, right = (cells(next(x for x in table.splitlines() if word in x)) for word in ("answers", "right"))
    assert answers[:2] == ["answers", "100.0%"] and right[:2] == ["right", f"{100 * result['accuracy']:.1f}%"]


def test_train_quotes_one_point_on_its_confidence_line(capsys, noisy, tmp_path):
    assert main(["train", str(noisy / "split"), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Confidence:"))
    assert "held-out: mean confidence" in line and "at ≥ 90% confidence it answers" in line
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    assert len(report["evaluation"]["confidence"]["selective"]) == len(THRESHOLDS)
