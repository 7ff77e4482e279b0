"""Calibrated confidence: a temperature fitted on the model search's out-of-fold answers."""

import json

import numpy as np
import pytest

from handful import Classifier, load
from handful.errors import BundleError
from handful.evaluate.calibration import (
    MIN_EXAMPLES,
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
)
from handful.heads import create_head
from handful.heads.base import temperature_scaled
from handful.select.search import search_heads


def overconfident(n=400, accuracy=0.7, confidence=0.99, seed=0):
    """Binary answers right ``accuracy`` of the time, each claiming ``confidence``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    right = rng.random(n) < accuracy
    predicted = np.where(right, y, 1 - y)
    proba = np.full((n, 2), 1 - confidence)
    proba[np.arange(n), predicted] = confidence
    return proba, y


def test_an_overconfident_head_is_softened_to_about_its_accuracy():
    proba, y = overconfident()
    t = fit_temperature(proba, y)
    scaled = temperature_scaled(proba, t)
    # 99% claimed, 70% right: the NLL-optimal temperature brings the claim to ~70%
    assert t > 3 and abs(scaled.max(axis=1).mean() - 0.7) < 0.03
    assert expected_calibration_error(scaled, y) < 0.05 < 0.25 < expected_calibration_error(proba, y)
    assert (scaled.argmax(axis=1) == proba.argmax(axis=1)).all()  # no prediction changes


def test_answers_that_are_all_right_sharpen_the_head_only_as_far_as_the_prior_allows():
    # the unbounded fit would take T towards 0 (sharper is always better on them); a few dozen
    # answers without mistakes show only a little that the head is too modest on new data
    proba, y = overconfident(n=40, accuracy=1.0, confidence=0.8)
    assert fit_temperature(proba, y, prior_sd=(np.inf, np.inf)) < 0.1
    assert 0.3 < fit_temperature(proba, y) < 1.0


def test_too_few_answers_leave_the_head_as_it_is():
    proba, y = overconfident(n=MIN_EXAMPLES - 1)
    summary = calibration_summary(proba, y)
    assert summary["temperature"] == 1.0 and "at least 20" in summary["note"]


def test_answers_repeated_over_too_few_examples_leave_the_head_as_it_is():
    # repeated CV answers 10 examples 3 times: 30 answers, but the evidence of 10 (the audit's
    # 10-image model was softened to T = 5.8, and its calibration error rose 21.8% -> 30.4%)
    proba, y = overconfident(n=10, accuracy=0.7)
    proba, y = np.tile(proba, (3, 1)), np.tile(y, 3)
    assert fit_temperature(proba, y, n_examples=10) > 1.5  # the fit alone would soften it
    summary = calibration_summary(proba, y, n_examples=10)
    assert summary["temperature"] == 1.0, summary
    assert "10 examples answered out of fold, at least 20" in summary["note"], summary["note"]
    assert calibration_summary(proba, y, n_examples=MIN_EXAMPLES)["temperature"] > 1.5  # enough examples


def test_calibration_keeps_every_heads_predictions():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 8))
    y = np.array(["a", "b", "c"] * 20, dtype=object)
    X[y == "a", 0] += 2
    for name in ("logistic", "prototype", "knn", "mlp"):
        head = create_head(name).fit(X, y)
        plain = head.predict_proba(X)
        head.calibrate(4.0)
        soft = head.predict_proba(X)
        assert (head.predict(X) == head.classes_[plain.argmax(axis=1)]).all(), name
        assert soft.max(axis=1).mean() < plain.max(axis=1).mean(), name  # softer, same order
        np.testing.assert_allclose(soft.sum(axis=1), 1.0)
        head.fit(X, y)  # a new fit starts uncalibrated
        np.testing.assert_allclose(head.predict_proba(X), plain)


def test_the_search_keeps_the_out_of_fold_answers_of_every_candidate_but_never_saves_them():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 5))
    y = np.array(["a", "b"] * 20, dtype=object)
    X[y == "a"] += 0.5
    board = search_heads(X, y)
    proba, y_idx = board.best["_oof"]
    # one answer per example per repeat, scored by the same folds as the leaderboard's accuracy
    assert proba.shape == (40, 2) and sorted(np.bincount(y_idx)) == [20, 20]
    assert abs((proba.argmax(axis=1) == y_idx).mean() - board.best["mean"]) < 1e-9
    assert "_oof" not in json.dumps(board.to_json())
    assert board.calibration()["n"] == 40


@pytest.fixture
def noisy_tree(tmp_path):
    """Two colour classes that overlap (some images of each drawn in the other's colour), so the
    cross-validated answers include mistakes the heads are sure of."""
    from conftest import make_color_image

    root = tmp_path / "data"
    for c, (color, other) in enumerate((((200, 40, 40), (40, 40, 200)), ((40, 40, 200), (200, 40, 40)))):
        for i in range(16):
            (root / f"class{c}").mkdir(parents=True, exist_ok=True)
            make_color_image(root / f"class{c}" / f"{i}.png", other if i % 4 == 0 else color, seed=100 * c + i)
    return root


def test_a_fitted_model_is_calibrated_and_keeps_it_through_save_and_load(noisy_tree, tmp_path):
    clf = Classifier("test_tiny_image").fit(noisy_tree)
    summary = clf.calibration_
    # a quarter of each class looks like the other: the heads are sure and wrong on those
    assert summary["temperature"] > 1.0 and summary["cv_ece_after"] < summary["cv_ece_before"]
    assert clf.head_.calibration_ == summary["temperature"]
    clf.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["head"]["calibration"] == summary["temperature"] and doc["calibration"]["n"] == 32
    again = load(tmp_path / "m")
    items = sorted(str(p) for p in noisy_tree.rglob("*.png"))
    np.testing.assert_allclose(again.predict_proba(items), clf.predict_proba(items))


def test_models_saved_before_calibration_load_as_they_were(noisy_tree, tmp_path):
    clf = Classifier("test_tiny_image").fit(noisy_tree)
    items = sorted(str(p) for p in noisy_tree.rglob("*.png"))
    clf.head_.calibrate(1.0)
    plain = clf.predict_proba(items)
    clf.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert "calibration" not in doc["head"]  # temperature 1 is not written: older files look alike
    np.testing.assert_allclose(load(tmp_path / "m").predict_proba(items), plain)


@pytest.mark.parametrize("value", [-1, 0, "warm", True])
def test_a_damaged_calibration_is_refused_in_one_line(noisy_tree, tmp_path, value):
    Classifier("test_tiny_image").fit(noisy_tree).save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    doc = json.loads(path.read_text())
    doc["head"]["calibration"] = value
    path.write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="head.calibration must be a number > 0"):
        load(tmp_path / "m")


def test_a_head_given_by_name_is_not_calibrated_without_cross_validation(noisy_tree):
    clf = Classifier("test_tiny_image", head="logistic").fit(noisy_tree)
    assert clf.leaderboard_ is None and clf.calibration_ is None and clf.head_.calibration_ == 1.0


def test_the_onnx_graph_carries_the_temperature(noisy_tree, tmp_path):
    pytest.importorskip("onnxruntime")
    from handful.export import export_onnx, load_predictor

    clf = Classifier("test_tiny_image", head="logistic").fit(noisy_tree)
    clf.head_.calibrate(3.0)
    clf.save(tmp_path / "m")
    assert export_onnx(tmp_path / "m", samples=[str(noisy_tree)]).max_abs_diff < 1e-5
    items = sorted(str(p) for p in noisy_tree.rglob("*.png"))
    np.testing.assert_allclose(load_predictor(tmp_path / "m", runtime="onnx").predict_proba(items),
                               clf.predict_proba(items), atol=1e-5)


def test_train_says_how_sure_the_model_is_and_how_that_held_up(capsys, noisy_tree, tmp_path):
    import shutil

    from conftest import run_json

    split = tmp_path / "split"
    shutil.copytree(noisy_tree, split / "train")
    shutil.copytree(noisy_tree, split / "val")
    result = run_json(capsys, ["train", str(split), "--out", str(tmp_path / "m"), "--backbone",
                               "test_tiny_image", "--no-advise"])
    assert result["calibration"]["temperature"] > 1.0
    assert 0 < result["metrics"]["heldout_ece"] < 1 and result["metrics"]["heldout_mean_confidence"] > 0.5
    from handful.cli import main

    assert main(["train", str(split), "--out", str(tmp_path / "m2"), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    out = capsys.readouterr().out
    assert "Confidence: calibrated on the cross-validation answers (temperature" in out
    assert "held-out: mean confidence" in out


def test_evaluate_reports_confidence_against_accuracy(capsys, noisy_tree, tmp_path):
    from conftest import run_json
    from handful.cli import main

    Classifier("test_tiny_image").fit(noisy_tree).save(tmp_path / "auto")
    Classifier("test_tiny_image", head="logistic").fit(noisy_tree).save(tmp_path / "named")
    result = run_json(capsys, ["evaluate", str(tmp_path / "auto"), str(noisy_tree)])
    assert 0.5 < result["confidence"]["mean_confidence"] <= 1 and result["confidence"]["temperature"] > 1
    assert main(["evaluate", str(tmp_path / "auto"), str(noisy_tree), "--out", str(tmp_path / "e1")]) == 0
    assert "(calibrated at training, temperature" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "named"), str(noisy_tree), "--out", str(tmp_path / "e2")]) == 0
    assert "not calibrated: the model was saved without cross-validated answers" in capsys.readouterr().out


def test_train_says_when_the_answers_asked_for_no_softening(capsys, tmp_path):
    from conftest import make_color_tree
    from handful.cli import main

    data = make_color_tree(tmp_path / "data", 8)  # 24 answers, every one right: nothing to soften
    assert main(["train", str(data), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    out = capsys.readouterr().out
    assert "Confidence: left as it was: on the cross-validation answers the head was" in out
    assert "100.0% right" in out and "-> " not in out.split("Confidence:")[1].splitlines()[0]
