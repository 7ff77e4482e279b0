"""MAP temperature: a Gaussian prior on log T below 1 lets clear evidence sharpen an
under-confident head, while a few mistake-free answers leave it near 1."""

import json

import numpy as np
import pytest

from handful import Classifier, load
from handful.evaluate.calibration import (
    PRIOR_SD,
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
)
from handful.heads.base import temperature_scaled
from test_calibration import overconfident

FREE = (np.inf, np.inf)  # no prior: the maximum-likelihood temperature


def answers(n, accuracy, confidence, seed=0):
    """Binary answers right ``accuracy`` of the time, each claiming ``confidence``."""
    return overconfident(n, accuracy, confidence, seed)


def test_an_under_confident_head_with_many_answers_is_sharpened_and_its_held_out_ece_drops():
    proba, y = answers(400, accuracy=0.95, confidence=0.7)  # 70% claimed, 95% right
    t = fit_temperature(proba, y)
    held_proba, held_y = answers(1000, accuracy=0.95, confidence=0.7, seed=1)
    before = expected_calibration_error(held_proba, held_y)
    after = expected_calibration_error(temperature_scaled(held_proba, t), held_y)
    # 400 answers are clear evidence: T < 1 brings the claim near the 95% the head gets right
    assert t < 0.5, t
    assert after < 0.03 < 0.2 < before, (before, after)


def test_twenty_answers_without_a_mistake_sharpen_only_a_little():
    proba, y = answers(20, accuracy=1.0, confidence=0.9)
    # without the prior the fit runs to the edge of its range (the hymenoptera-10 failure)
    assert fit_temperature(proba, y, FREE) < 0.1
    # with it, 20 answers move log T by about one prior sd at most: T stays within ~e^-1 of 1
    assert 0.5 < fit_temperature(proba, y) < 1.0


def test_the_prior_weighs_less_as_the_answers_grow():
    gaps = []
    for n in (20, 80, 320, 1280):
        proba, y = answers(n, accuracy=0.95, confidence=0.7, seed=n)
        free, shrunk = fit_temperature(proba, y, FREE), fit_temperature(proba, y)
        assert free <= shrunk <= 1.0, (n, free, shrunk)  # pulled towards 1, never past it
        gaps.append(np.log(shrunk) - np.log(free))
    # the prior is one term against n answers: its pull on log T shrinks as n grows
    assert all(a > b for a, b in zip(gaps, gaps[1:])), gaps
    assert gaps[-1] < 0.05 < gaps[0], gaps


def test_softening_an_over_confident_head_is_as_before_with_no_prior_above_one():
    proba, y = answers(60, accuracy=0.7, confidence=0.99)
    # the prior is on the sharpening side only: the softening fit is the maximum-likelihood one
    assert fit_temperature(proba, y) == pytest.approx(fit_temperature(proba, y, FREE), rel=1e-2)
    assert fit_temperature(proba, y) > 3


def test_repeated_answers_of_the_same_examples_count_once_against_the_prior():
    proba, y = answers(40, accuracy=1.0, confidence=0.8)
    as_answers = fit_temperature(proba, y)
    as_20_examples = fit_temperature(proba, y, n_examples=20)  # each example answered twice
    # half the evidence against the same prior: less sharpening
    assert as_answers < as_20_examples < 1.0
    assert calibration_summary(proba, y, n_examples=20)["temperature"] == as_20_examples


def test_a_wider_prior_lets_the_same_answers_sharpen_more():
    proba, y = answers(20, accuracy=1.0, confidence=0.9)
    looser = fit_temperature(proba, y, (2 * PRIOR_SD, np.inf))
    assert looser < fit_temperature(proba, y)  # a wider prior lets the same answers sharpen more


def test_a_sharpened_model_saves_loads_and_answers_the_same(tmp_path):
    from conftest import make_color_tree
    from handful.data import scan_folder

    data = make_color_tree(tmp_path / "data", 8)
    # cosine / 1.0: a prototype head whose votes are soft (about 40% for 3 classes) but always right
    clf = Classifier("test_tiny_image", head="prototype", head_params={"temperature": 1.0})
    X, examples = clf.embed_examples(scan_folder(data))
    clf.fit_embeddings(X, examples, score_head=True)  # as `handful train --head prototype`
    summary = clf.calibration_
    # 24 answers, all right and under-confident: sharpened, and saved as the one number it was
    assert summary["cv_accuracy"] == 1.0 and summary["temperature"] < 1.0, summary
    assert summary["cv_ece_after"] < summary["cv_ece_before"]
    clf.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["head"]["calibration"] == summary["temperature"] == clf.head_.calibration_
    items = sorted(str(p) for p in data.rglob("*.*"))
    np.testing.assert_allclose(load(tmp_path / "m").predict_proba(items), clf.predict_proba(items))
