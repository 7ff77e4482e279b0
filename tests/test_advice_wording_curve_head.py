"""The advice sentence leads with the gain and names the head whose learning curve it quotes.

A curve refits one head on sub-samples; its level (98.9%) sat beside the saved model's CV
accuracy (98.0%) as if it were the model's. These tests pin the wording on synthetic curves.
"""

import json
import re

import numpy as np
import pytest

from handful.cli import main
from handful.evaluate.advice import advise, posterior_fits
from handful.evaluate.data_need import estimate_data_need


def _curve_from(fn, sizes=(1, 2, 3, 5, 8, 10, 15, 20), repeats=6, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    points = [{"size": s, "n": float(s), "runs": list(fn(s) + rng.normal(0, noise, repeats))}
              for s in sizes]
    for p in points:
        p["mean"], p["std"] = float(np.mean(p["runs"])), float(np.std(p["runs"]))
    return {"points": points, "repeats": repeats, "n_per_class": float(sizes[-1]), "n_classes": 2}


def _advice(fn, head="prototype head", **kw):
    curve = _curve_from(fn, **kw)
    main_fit, draws = posterior_fits(curve, n_draws=30)
    return advise(curve, main_fit, draws, head=head)


def test_a_flat_curve_names_its_head_and_states_the_gain_not_a_level():
    result = _advice(lambda n: 0.99 + 0 * n, noise=0.002)
    sentence = result["sentence"]
    assert result["target"] is None
    assert "learning curve of the prototype head" in sentence, "say whose curve it is"
    assert "10 times the data adds under 1 point" in sentence, "the gain is the curve's message"
    # a bare level ("flat at ~99.0%") read as the saved model's accuracy
    assert not re.search(r"\d%", sentence), sentence


def test_a_rising_curve_gives_the_gain_first_and_labels_its_levels_as_the_curves():
    result = _advice(lambda n: 1 - (0.05 + 0.5 * n ** -0.7), noise=0.01)
    target, sentence = result["target"], result["sentence"]
    gain = target["accuracy"] - result["accuracy_now"]
    assert target["gain"] == pytest.approx(gain)
    assert sentence.startswith(f"≈ {target['more_per_class']} more examples per class should add "
                               f"~{100 * gain:.1f} point")
    assert "on the learning curve of the prototype head" in sentence
    # every percentage comes after "the curve:", never as a bare "now ~X%"
    assert "the curve: ~" in sentence and "now ~" not in sentence
    assert sentence.index("%") > sentence.index("the curve:")


def test_a_target_beyond_ten_times_the_data_gives_the_ten_times_gain_of_the_named_curve():
    result = _advice(lambda n: 1 - (0.05 + 0.5 * n ** -0.15), sizes=(1, 2, 3, 4, 5), noise=0.002)
    ten, sentence = result["forecast"][-1], result["sentence"]
    assert result["target"]["n_per_class"] > 10 * 5  # the situation: far beyond the data
    assert sentence.startswith("On the learning curve of the prototype head, at ~")
    assert f"adds ~{100 * ten['gain']:.1f} point" in sentence and "≈" not in sentence


def test_every_forecast_carries_its_gain_over_the_curve_now():
    result = _advice(lambda n: 1 - (0.05 + 0.5 * n ** -0.7), noise=0.01)
    for f in result["forecast"]:
        assert f["gain"] == pytest.approx(f["accuracy"] - result["accuracy_now"])
        assert f["gain"] >= 0, "a power law with a floor does not fall with more data"


def test_a_slow_head_swapped_for_logistic_is_named_with_what_it_stood_in_for():
    rng = np.random.default_rng(1)
    y = np.repeat(["a", "b", "c"], 20)
    X = rng.normal(0, 1, (60, 10)) + np.repeat(rng.normal(0, 1.2, (3, 10)), 20, axis=0)
    advice = estimate_data_need(X, y, "mlp", {}, repeats=3)
    assert advice["head"] == {"type": "logistic", "params": {"C": 1.0}, "replaces": "mlp"}
    # said after the advice, not as a second bracket beside the range's "(range ...)"
    assert advice["sentence"].endswith("The logistic head stands in for mlp, too slow to refit this often.")
    assert ") (" not in advice["sentence"], advice["sentence"]


def test_train_prints_the_gains_and_names_the_curve_head_beside_the_models_accuracy(
        capsys, color_tree, tmp_path):
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone",
                 "test_tiny_image", "--head", "prototype", "--json"]) == 0
    captured = capsys.readouterr()  # the human text goes to stderr under --json
    advice = json.loads(captured.out.strip().splitlines()[-1])["advice"]
    lines = captured.err.splitlines()
    assert "learning curve of the prototype head" in advice["sentence"]
    assert all("gain" in f for f in advice["forecast"])  # added; the old keys stay
    assert {"accuracy_now", "ceiling", "forecast", "target", "sentence", "head"} <= set(advice)
    forecast_lines = [ln for ln in lines if ln.strip().startswith("at ") and "per class:" in ln]
    assert forecast_lines and all(re.search(r"per class: \+\d+\.\d pt \(curve ~", ln)
                                  for ln in forecast_lines), forecast_lines
