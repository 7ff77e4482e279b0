"""Wherever the search's score is shown it names its metric: balanced accuracy on imbalanced
classes (CLI leaderboard and CV line, --json, report.json, the server's metrics, note and UI)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from conftest import make_color_tree
from handful.cli import main
from handful.select import Leaderboard
from handful.server import Catalog
from handful.server.training import _metrics, _optimism_note
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, cv_report, seed_version

TINY = ["--backbone", "test_tiny_image", "--no-advise"]


@pytest.fixture
def lopsided_tree(tmp_path):
    """Red and blue with 8 images each, green with 3: the largest class has 2.7x the smallest's."""
    root = tmp_path / "lopsided"
    make_color_tree(root, 8, ("red", "blue"))
    make_color_tree(root, 3, ("green",), seed=1)
    return root


def test_train_on_imbalanced_classes_prints_balanced_accuracy_and_the_class_sizes(lopsided_tree, tmp_path, capsys):
    assert main(["train", str(lopsided_tree), "--out", str(tmp_path / "m"), *TINY]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "CV bal. acc" in text and "CV acc " not in text
    assert re.search(r"Cross-validated balanced accuracy \(classes range from 3 to 8 examples\): \d+\.\d%", text)
    assert "Cross-validated accuracy" not in text


def test_train_json_and_report_name_the_metric_and_keep_cv_accuracy_for_accuracy(lopsided_tree, tmp_path, capsys):
    assert main(["train", str(lopsided_tree), "--out", str(tmp_path / "m"), *TINY, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["leaderboard"]["metric"] == "balanced_accuracy"
    metrics = out["metrics"]
    # a key named cv_accuracy never holds balanced accuracy: the balanced figure has its own keys
    assert "cv_accuracy" not in metrics and "cv_accuracy_adjusted" not in metrics
    assert metrics["cv_balanced_accuracy"] == out["leaderboard"]["rows"][0]["mean"]
    assert metrics["cv_balanced_accuracy_adjusted"] <= metrics["cv_balanced_accuracy"]
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    assert report["leaderboard"]["metric"] == "balanced_accuracy" and report["metrics"] == metrics
    # three classes, one answered always: a third of the recall
    assert out["leaderboard"]["baseline"]["mean"] == pytest.approx(1 / 3)


def test_train_on_balanced_classes_keeps_accuracy_everywhere(color_tree, tmp_path, capsys):
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), *TINY, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["leaderboard"]["metric"] == "accuracy" and "cv_accuracy" in out["metrics"]
    assert not any(key.startswith("cv_balanced") for key in out["metrics"])
    assert out["leaderboard"]["baseline"]["mean"] == pytest.approx(1 / 3), "6 + 6 + 6: the largest share"
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m2"), *TINY]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "CV acc" in text and "bal. acc" not in text and "Cross-validated accuracy:" in text


def balanced_board() -> Leaderboard:
    rows = [{"mean": 0.75, "fold_scores": [1.0, 0.5]}, {"mean": 0.75, "fold_scores": [0.5, 1.0]}]
    return Leaderboard(rows, "1x2-fold", metric="balanced_accuracy", class_sizes=(4, 12))


def test_server_metrics_and_note_name_balanced_accuracy():
    clf = SimpleNamespace(leaderboard_=balanced_board())
    selection = clf.leaderboard_.selection()
    assert _metrics(clf, None, selection) == {"cv_balanced_accuracy": 0.75, "cv_balanced_accuracy_adjusted": 0.5}
    note = _optimism_note(selection)
    assert "about 50.0% balanced accuracy" in note and "from 4 to 12 examples" in note


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_results_leaderboard_header_says_balanced_accuracy(tmp_path, page):
    home = tmp_path / "home"
    catalog = Catalog(home)
    pid = catalog.create_project("lopsided", "image")["id"]
    y_true = ["red"] * 6 + ["blue"] * 2
    report = cv_report(y_true, y_true, ["blue", "red"])
    report["leaderboard"] = {**balanced_board().to_json(), "baseline": None}
    for row, label in zip(report["leaderboard"]["rows"], ("logistic(C=1.0)", "prototype()")):
        row.update(label=label, std=0.1)
    seed_version(catalog, pid, report, {"accuracy": 1.0}, ["blue", "red"], 8)
    catalog.close()
    with ServerProcess(home) as server:
        page.goto(f"{server.url}/#/p/{pid}/results")
        header = page.wait_for_selector("[data-testid=leaderboard-metric]")
        assert header.inner_text().lower() == "cv balanced accuracy"  # the header row is upper-cased by CSS
        assert "4 to 12 examples" in header.get_attribute("title")
