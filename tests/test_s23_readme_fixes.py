"""s23 README audit fixes that tests/test_s23_readme_audit.py does not cover (``handful finetune``
models and their familiarity data)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_color_tree
from handful import Classifier, load
from handful.data import scan_folder
from handful.finetune.tune import FinetuneConfig, finetune, fit_familiarity_of


def test_fit_familiarity_of_judges_20_or_more_training_examples_and_says_why_not_below(tmp_path):
    # a fine-tuned model is built by hand (no Classifier.fit), so it must be given familiarity data
    # the way train gives it: fitted on its training examples, none below 20 (MIN_JUDGED), and said
    many = scan_folder(make_color_tree(tmp_path / "many", n_per_class=8))  # 24 >= 20
    few = scan_folder(make_color_tree(tmp_path / "few", n_per_class=5))  # 15 < 20
    for examples, judged in ((many, True), (few, False)):
        clf = Classifier(backbone="test_tiny_image", head="logistic").fit(examples)
        clf.familiarity_ = None
        clf.training_ = {}
        fit_familiarity_of(clf, examples, seed=0)
        assert (clf.familiarity_ is not None) is judged, (len(examples), clf.familiarity_)
        assert ("familiarity_not_judged" in clf.training_) is not judged, clf.training_


@pytest.mark.slow  # real EfficientNet-Lite0 weights, 1 epoch on 24 tiny images
def test_a_finetuned_model_keeps_familiarity_data_through_save_and_load(tmp_path):
    # README: predict marks inputs "unlike training data" for a model of 20+ examples; a model of
    # `handful finetune` had no familiarity at all, so predict never marked anything for it
    data = make_color_tree(tmp_path / "colors", n_per_class=8)
    result = finetune(scan_folder(data), "efficientnet_lite0",
                      FinetuneConfig(unfreeze=1, epochs=1, validation_fraction=0, batch_size=8))
    assert result.summary["backbone_tuned"], result.summary  # the tuned backbone's embeddings are judged
    assert result.classifier.familiarity_ is not None
    result.classifier.save(tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.familiarity_ is not None, "the saved model lost its familiarity data"
    assert loaded.familiarity_.embeddings.shape[0] == 24  # one stored row per training example


# -- the zero-shot prior is calibrated on the answers of the folds that chose its weight ----------

def test_train_with_the_zero_shot_prior_saves_a_calibration_of_its_examples_and_evaluate_says_so(
        capsys, tmp_path, tiny_text_names):
    # model.json's calibration was null with --zero-shot-prior (train said nothing; evaluate blamed a
    # model "saved without cross-validated answers"): the weight's folds answer each example once
    import json

    import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
    from handful.cli import main

    data = make_color_tree(tmp_path / "colors", n_per_class=8)  # 24 examples: >= 20, so calibrated
    out = tmp_path / "m"
    assert main(["train", str(data), "--out", str(out), "--backbone", "test_imagenet_colors",
                 "--zero-shot-prior", "--no-advise"]) == 0
    said = capsys.readouterr().out
    calibration = json.loads((out / "model.json").read_text(encoding="utf-8"))["calibration"]
    assert calibration is not None and "note" not in calibration, calibration
    assert calibration["n"] == 24  # one out-of-fold answer per example (5 stratified folds)
    assert "Confidence:" in said, said
    assert main(["evaluate", str(out), str(data)]) == 0
    evaluated = capsys.readouterr().out
    assert "calibrated at training" in evaluated and "without cross-validated" not in evaluated, evaluated


def test_prior_oof_calibration_counts_only_the_examples_and_is_none_without_cv():
    # views appended after the examples are answered by the folds too; they are not examples, so
    # they neither count toward the 20 nor fit the temperature; a weight given was never cross-validated
    from handful.zeroshot.prior import ZeroShotPriorHead

    rng = np.random.default_rng(0)
    y = np.repeat(np.array(["a", "b"]), 20)  # 30 examples (rows < 30) and 10 views after them
    X = rng.normal(size=(40, 4)) + (y == "b")[:, None] * 2.0
    head = ZeroShotPriorHead("prototype").fit(X, y)
    summary = head.oof_calibration(30)
    assert summary is not None and summary["n"] == 30, summary
    assert "note" in head.oof_calibration(15)  # 15 examples < 20: not calibrated, and said
    assert ZeroShotPriorHead("prototype", weight=1.0).fit(X, y).oof_calibration(40) is None


# -- train --finetune for texts says why it is not calibrated --------------------------------------

def test_only_a_text_encoder_tuned_on_the_training_texts_gets_the_not_calibrated_reason():
    # after SetFit tuning no answer is out of fold, so no temperature; the Confidence line said nothing
    from types import SimpleNamespace

    from handful.evaluate.calibration import not_calibrated_after_tuning

    def backbone(modality: str, weights: str, **extra) -> SimpleNamespace:
        return SimpleNamespace(modality=modality, info=SimpleNamespace(weights=weights), **extra)

    said = not_calibrated_after_tuning(backbone("text", "tuned-ab12"))
    assert said["note"].startswith("not calibrated:") and "--finetune" in said["note"], said
    assert said["temperature"] == 1.0  # the head's own probabilities: nothing rescaled
    assert not_calibrated_after_tuning(backbone("text", "pretrained")) is None
    assert not_calibrated_after_tuning(backbone("image", "tuned-ab12")) is None  # handful finetune: another path
    assert not_calibrated_after_tuning(backbone("text", "tuned-ab12", fit_unlabeled=len)) is None  # word2vec
    assert not_calibrated_after_tuning(None) is None  # fit_embeddings without a backbone


@pytest.mark.slow  # real MiniLM weights
def test_train_finetune_on_texts_says_on_its_confidence_line_why_it_is_not_calibrated(tmp_path, text_csv, capsys):
    from handful.cli import main

    assert main(["train", str(text_csv), "--out", str(tmp_path / "m"), "--finetune", "--max-pairs", "32"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Confidence:")]
    assert lines and "not calibrated" in lines[0] and "--finetune" in lines[0], lines
