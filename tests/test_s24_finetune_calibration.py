"""s24: a fine-tuned model's confidence is calibrated on its validation split, as `handful train`
calibrates on out-of-fold answers; without a validation split it says so, and why."""

import json
from pathlib import Path

import numpy as np
import pytest

import handful
from conftest import make_color_tree, make_noisy_color_tree
from handful.cli import main
from handful.data import scan_folder
from handful.evaluate.calibration import MIN_EXAMPLES, temperature_scaled
from handful.finetune.calibration import validation_calibration
from handful.finetune.tune import FinetuneConfig, finetune

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py
FAST = dict(epochs=1, patience=0, batch_size=8, unfreeze=1)
NOISY_VAL = 0.6  # of 12 per class: 7 held out per class, 21 in all (MIN_EXAMPLES is 20)


def make_noisy_tree(root: Path) -> Path:
    """3 colour classes of 12 images, 3 of each looking like the next class: a network that
    fits its 15 training images says it is sure of every answer, and about a quarter of the
    validation answers cannot be right, so its validation answers are over-confident."""
    return make_noisy_color_tree(root, every=4)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> Path:
    return make_noisy_tree(tmp_path_factory.mktemp("noisy") / "train")


# -- the fitter on validation answers ---------------------------------------------------------

def test_overconfident_validation_answers_get_a_temperature_above_1_and_a_lower_nll():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    logits = np.eye(3)[y] * 8.0  # 99.9% sure of every answer...
    wrong = np.arange(60) % 4 == 0  # ...and a quarter of them are the next class
    logits[wrong] = np.eye(3)[(y[wrong] + 1) % 3] * 8.0
    summary = validation_calibration(logits, y, before_refit=False)
    assert summary["temperature"] > 1, summary  # 99.9% sure for 75% right: softened
    assert summary["val_nll_after"] < summary["val_nll_before"], summary  # what the fit minimizes
    assert summary["val_ece_after"] < summary["val_ece_before"], summary


def test_underconfident_validation_answers_get_a_temperature_below_1():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    logits = np.eye(3)[y] * 0.3  # always right, yet about 40% sure: 200 answers say "be sharper"
    summary = validation_calibration(logits, y, before_refit=True)
    assert summary["temperature"] < 1, summary
    assert summary["val_confidence_after"] > summary["val_confidence_before"], summary
    assert summary["before_refit"] is True and summary["n"] == 200


def test_a_validation_split_under_min_examples_is_not_calibrated_and_says_so():
    y = np.array([0, 1] * 5)
    summary = validation_calibration(np.eye(2)[y] * 8.0, y, before_refit=False)
    assert summary["temperature"] == 1.0, summary  # 10 answers say too little (as train's rule)
    assert f"the validation split holds 10 images, at least {MIN_EXAMPLES}" in summary["note"]
    assert "--validation-fraction" in summary["note"]  # names the fix


# -- a fine-tuned model -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def noisy_model(noisy, tmp_path_factory):
    result = finetune(scan_folder(noisy), "efficientnet_lite0",
                      FinetuneConfig(validation_fraction=NOISY_VAL, refit=False, **FAST))
    path = result.classifier.save(tmp_path_factory.mktemp("m") / "model")
    return result, path


def test_a_finetuned_model_with_overconfident_validation_answers_is_softened(noisy_model):
    result, path = noisy_model
    calibration = result.classifier.calibration_
    assert calibration["n"] == result.summary["n_val"] >= MIN_EXAMPLES, calibration
    # trained on 15 images it fits, it is surer than it is right on validation: T > 1
    assert calibration["val_confidence_before"] > calibration["val_accuracy"], calibration
    assert calibration["temperature"] > 1, calibration
    assert calibration["val_nll_after"] < calibration["val_nll_before"], calibration
    doc = json.loads((path / "model.json").read_text())
    # stored as `handful train` stores it: the summary, and the temperature with the head
    assert doc["calibration"]["temperature"] == doc["head"]["calibration"] == calibration["temperature"]


def test_predict_of_a_saved_finetuned_model_applies_its_temperature(noisy_model, noisy):
    result, path = noisy_model
    loaded = handful.load(path)
    T = loaded.head_.calibration_
    assert T == result.classifier.calibration_["temperature"] != 1.0
    files = sorted(str(p) for p in noisy.rglob("*.png"))[:9]
    calibrated = loaded.predict_proba(files)
    loaded.head_.calibration_ = 1.0  # the network's own probabilities
    raw = loaded.predict_proba(files)
    np.testing.assert_allclose(calibrated, temperature_scaled(raw, T), atol=1e-6)
    assert calibrated.max(axis=1).mean() < raw.max(axis=1).mean()  # T > 1: less sure...
    np.testing.assert_array_equal(calibrated.argmax(axis=1), raw.argmax(axis=1))  # ...same answers


def test_finetune_cli_prints_the_calibration_and_that_it_predates_the_refit(noisy, tmp_path, capsys):
    code = main(["finetune", str(noisy), "--out", str(tmp_path / "m"), "--epochs", "1", "--unfreeze", "1",
                 "--validation-fraction", str(NOISY_VAL), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.strip().splitlines()
    result = json.loads(lines[-1])
    calibration = result["calibration"]
    assert calibration["before_refit"] is True and calibration["temperature"] > 1, calibration
    said = " ".join(captured.err.split())  # the human lines (stdout holds the JSON), unwrapped
    assert f"Confidence: calibrated on the validation split of {calibration['n']} images (temperature" in said, said
    assert "before the refit on all images" in said, said  # the saved model trained on those too
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    assert report["calibration"] == calibration


@pytest.mark.parametrize("n_red, args, reason", [
    (3, ["--validation-fraction", "0"], "--validation-fraction is 0"),
    (2, [], "the smallest class, 'red', has 2 images; 3 are needed"),
])
def test_without_a_validation_split_the_model_keeps_not_calibrated_with_the_reason(tmp_path, capsys, n_red,
                                                                                    args, reason):
    data = make_color_tree(tmp_path / "data", 4)
    for extra in sorted((data / "red").iterdir())[n_red:]:
        extra.unlink()  # 2 reds are fewer than a validation split needs; 3 are enough
    code = main(["finetune", str(data), "--out", str(tmp_path / "m"), "--epochs", "1", "--unfreeze", "1", *args,
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    calibration = json.loads(captured.out.strip().splitlines()[-1])["calibration"]
    assert calibration["temperature"] == 1.0 and calibration["note"].startswith("not calibrated"), calibration
    assert reason in calibration["note"], calibration
    assert f"Confidence: {calibration['note']}" in " ".join(captured.err.split())  # human lines, unwrapped
    # `handful evaluate` gives the same reason, not "saved without cross-validated answers"
    assert main(["evaluate", str(tmp_path / "m"), str(data)]) == 0
    assert reason in " ".join(capsys.readouterr().out.split())
