"""Learning curves, the curve fit, the advice sentence, ``handful advise`` and train's report."""

import json

import numpy as np
import pytest

from handful.cli import main
from handful.errors import DataError
from handful.evaluate.advice import advise, posterior_fits
from handful.evaluate.curve_fit import CurveFit, fit_curve
from handful.evaluate.curve_prior import EXPONENTS, FLOOR_SHARES, PRIOR_FILE, prior_density, prior_shapes
from handful.evaluate.data_need import estimate_data_need
from handful.evaluate.learning_curve import default_sizes, measure_learning_curve
from handful.heads import create_head


def _curve_from(fn, sizes=(1, 2, 3, 5, 8, 10, 15, 20), repeats=6, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    points = [{"size": s, "n": float(s), "mean": 0.0, "std": 0.0,
               "runs": list(fn(s) + rng.normal(0, noise, repeats))} for s in sizes]
    for p in points:
        p["mean"], p["std"] = float(np.mean(p["runs"])), float(np.std(p["runs"]))
    return {"points": points, "repeats": repeats, "n_per_class": float(sizes[-1]), "n_classes": 2}


def test_power_law_with_a_floor_is_recovered_from_exact_points():
    truth = CurveFit("power", (0.05, 0.5, 0.7), 0)
    n = np.array([1, 2, 3, 5, 8, 10, 20, 40], dtype=float)
    fit = fit_curve(n, truth.accuracy(n), np.full(len(n), 0.001))
    # extrapolating 5x past the data stays within half a point of the true curve
    assert abs(fit.accuracy(200) - truth.accuracy(200)) < 0.005
    assert fit.ceiling == pytest.approx(0.95, abs=0.01)


def test_piecewise_curve_is_continuous_at_its_break_point():
    fit = CurveFit("piecewise", (0.02, 0.4, 0.9, 0.3, 8.0), 0)
    assert fit.error(8.0 - 1e-9) == pytest.approx(fit.error(8.0 + 1e-9), abs=1e-6)
    assert fit.size_for(fit.accuracy(50.0)) == pytest.approx(50.0, rel=1e-3)


def test_well_measured_points_decide_the_averaged_curve_whatever_the_prior():
    truth = CurveFit("power", (0.08, 0.5, 0.6), 0)
    curve = _curve_from(lambda n: truth.accuracy(n), sizes=(1, 2, 3, 5, 8, 10, 15, 20, 30, 40),
                        repeats=10, noise=0.002)
    for prior in (None, np.full((len(EXPONENTS), len(FLOOR_SHARES)), 1.0 / (len(EXPONENTS) * len(FLOOR_SHARES)))):
        main_fit, draws = posterior_fits(curve, prior=prior)
        # 5x past the data, within a point of the true curve
        assert abs(main_fit.accuracy(200) - truth.accuracy(200)) < 0.01
        assert main_fit.ceiling == pytest.approx(truth.ceiling, abs=0.02)


def _prior_at(share: float) -> np.ndarray:
    """A prior that puts all weight on one floor share (any exponent)."""
    prior = np.zeros((len(EXPONENTS), len(FLOOR_SHARES)))
    prior[:, np.argmin(np.abs(FLOOR_SHARES - share))] = 1.0
    return prior / prior.sum()


def test_a_short_noisy_curve_is_extrapolated_by_the_prior_s_shapes():
    # 1-10 per class cannot tell a climb to 100% from a curve about to level off: a prior
    # saying "most of the error stays" forecasts less at 300 per class than one saying "it goes"
    curve = _curve_from(lambda n: 1 - (0.1 + 0.5 * n ** -0.5), sizes=(1, 2, 3, 5, 8, 10), noise=0.03)
    levels_off = posterior_fits(curve, prior=_prior_at(0.8))[0].accuracy(300)
    climbs = posterior_fits(curve, prior=_prior_at(0.0))[0].accuracy(300)
    assert levels_off + 0.05 < climbs


def test_draws_scatter_around_the_averaged_curve_and_size_for_inverts_it():
    curve = _curve_from(lambda n: 1 - (0.05 + 0.5 * n ** -0.7), repeats=10, noise=0.02)
    main_fit, draws = posterior_fits(curve, n_draws=200, seed=1)
    at_100 = np.array([d.accuracy(100) for d in draws])
    assert np.percentile(at_100, 10) <= main_fit.accuracy(100) <= np.percentile(at_100, 90)
    assert main_fit.ceiling == pytest.approx(1 - main_fit.error(1e12), abs=1e-4)
    assert main_fit.size_for(float(main_fit.accuracy(50.0))) == pytest.approx(50.0, rel=1e-3)
    assert set(main_fit.params) == {"floor", "exponent", "exponent_range"}


def test_the_prior_density_sums_to_one_and_peaks_at_its_one_shape():
    shape = CurveFit("power", (0.1, 0.1 * 10 ** 0.5, 0.5), 0)  # e(10) = 0.2, half of it floor
    density = prior_density(10.0, (shape,))
    assert density.sum() == pytest.approx(1.0)
    i, j = np.unravel_index(np.argmax(density), density.shape)
    assert EXPONENTS[i] == pytest.approx(0.5, rel=0.15) and FLOOR_SHARES[j] == pytest.approx(0.5, abs=0.03)


def test_the_shipped_prior_leaves_the_back_test_data_sets_out():
    names = json.loads(PRIOR_FILE.read_text())["curves"]
    assert len(prior_shapes()) == len(names) >= 20
    assert not [c["curve"] for c in names if any(k in c["curve"] for k in ("hymenoptera", "flowers", "trec"))]


def test_advice_names_how_many_more_examples_reach_a_higher_accuracy_with_a_range():
    curve = _curve_from(lambda n: 1 - (0.05 + 0.5 * n ** -0.7), noise=0.01)
    main_fit, draws = posterior_fits(curve, n_draws=30)
    result = advise(curve, main_fit, draws)
    target = result["target"]
    assert result["accuracy_now"] < target["accuracy"] < result["ceiling"]
    assert target["more_per_class"] >= 1
    lo, hi = target["range_more_per_class"]
    assert lo <= target["more_per_class"] <= (hi if hi is not None else np.inf)
    assert result["sentence"].startswith(f"≈ {target['more_per_class']} more examples per class")


def test_a_flat_curve_says_more_data_will_not_help():
    curve = _curve_from(lambda n: 0.9 + 0 * n, noise=0.002)
    main_fit, draws = posterior_fits(curve, n_draws=20)
    result = advise(curve, main_fit, draws)
    assert result["target"] is None and "unlikely to help" in result["sentence"]
    assert "try another backbone or fine-tuning" in result["sentence"]  # 90%: there is room to grow


def test_a_flat_curve_near_100_percent_does_not_send_the_user_to_another_backbone():
    # at ~100% "try another backbone or fine-tuning" sent users after a gain that is not there
    curve = _curve_from(lambda n: 0.999 + 0 * n, noise=0.0005)
    main_fit, draws = posterior_fits(curve, n_draws=20)
    for head in (None, "logistic head"):
        sentence = advise(curve, main_fit, draws, head=head)["sentence"]
        assert "unlikely to help" in sentence and "another backbone" not in sentence, sentence
        assert "little is left to gain" in sentence, sentence


def test_learning_curve_holds_out_each_class_and_rises_with_size():
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 30)
    X = rng.normal(0, 1, (60, 20)) + np.where(y == "a", 0.6, -0.6)[:, None]

    def fit_predict(Xt, yt, Xe):
        return create_head("prototype").fit(Xt, yt).predict(Xe)

    curve = measure_learning_curve(X, y, fit_predict, repeats=8)
    sizes = [p["size"] for p in curve["points"]]
    assert sizes == default_sizes(22)  # 30 per class minus 8 held out
    assert curve["points"][-1]["mean"] > curve["points"][0]["mean"]


def test_a_class_with_one_example_cannot_have_a_learning_curve():
    with pytest.raises(DataError, match="at least 2 per class"):
        measure_learning_curve(np.zeros((3, 2)), np.array(["a", "a", "b"]), lambda *a: None)


def test_estimate_data_need_writes_the_plot(tmp_path):
    rng = np.random.default_rng(1)
    y = np.repeat(["a", "b", "c"], 20)
    X = rng.normal(0, 1, (60, 10)) + np.repeat(rng.normal(0, 1.2, (3, 10)), 20, axis=0)
    advice = estimate_data_need(X, y, "mlp", {}, repeats=4, plot=tmp_path / "lc.png")
    assert advice["head"]["type"] == "logistic"  # mlp is too slow to refit this often
    assert (tmp_path / "lc.png").stat().st_size > 1000 and "sentence" in advice


def test_advise_command_writes_json_and_png(capsys, color_tree, tmp_path):
    code = main(["advise", str(color_tree), "--backbone", "test_tiny_image", "--repeats", "3",
                 "--out", str(tmp_path / "adv"), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (tmp_path / "adv" / "learning_curve.png").is_file()
    assert json.loads((tmp_path / "adv" / "advice.json").read_text())["sentence"] == out["sentence"]
    assert out["counts"] == {"blue": 6, "green": 6, "red": 6}


def test_train_report_includes_the_advice(capsys, color_tree, tmp_path):
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone",
                 "test_tiny_image", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    assert report["advice"]["sentence"] == out["advice"]["sentence"]
    assert (tmp_path / "m" / "learning_curve.png").is_file()


@pytest.mark.parametrize("lo,hi,expected", [
    (45.0, 80.0, "range 5–40 more"),
    (45.0, float("inf"), "at least 5 more, perhaps far more"),
    # draws from "already there" to "never" read "range 0 or more"
    (30.0, float("inf"), "range from none more to out of reach: too noisy to bound"),
])
def test_the_sentence_states_the_range_of_more_examples_in_words(lo, hi, expected):
    from handful.evaluate.advice import _sentence

    sentence = _sentence(0.80, 0.85, 20, lo, hi, 40)
    assert sentence == f"≈ 20 more examples per class should reach 85.0% ({expected}; now ~80.0% with 40 per class)."


def test_a_target_beyond_ten_times_the_data_is_not_given_as_a_precise_count():
    # "≈ 5792 more examples per class should reach 67.6%" from 5 per class: a 1000x extrapolation
    # stated to the example, where the forecasts stop at 10x
    curve = _curve_from(lambda n: 1 - (0.05 + 0.5 * n ** -0.15), sizes=(1, 2, 3, 4, 5), noise=0.002)
    main_fit, draws = posterior_fits(curve, n_draws=20)
    result = advise(curve, main_fit, draws)
    assert result["target"]["n_per_class"] > 10 * 5  # the situation: far beyond the data
    ten = result["forecast"][2]
    assert result["sentence"].startswith("At ~") and "more than 10 times the data" in result["sentence"]
    assert f"~{100 * ten['accuracy']:.1f}% at 50 per class" in result["sentence"]
    assert "≈" not in result["sentence"]


def test_small_sizes_average_several_draws_and_the_progress_bar_counts_them():
    # which one example per class is drawn moves the score most: size 1 is drawn ~20 times per
    # repeat and averaged; the progress total must count those fits
    from handful.evaluate.data_need import n_curve_fits
    from handful.evaluate.learning_curve import draws_at

    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 30)
    X = rng.normal(0, 1, (60, 5)) + np.where(y == "a", 1.0, -1.0)[:, None]
    train_sizes, fits = [], []

    def fit_predict(Xt, yt, Xe):
        train_sizes.append(len(yt))
        return create_head("prototype").fit(Xt, yt).predict(Xe)

    curve = measure_learning_curve(X, y, fit_predict, repeats=3, on_fit=lambda: fits.append(1))
    assert train_sizes.count(2) == 3 * draws_at(1) == 60  # 1 per class, 20 draws x 3 repeats
    assert train_sizes.count(2 * 22) == 3  # the whole pool: one draw, every draw would be the same
    assert len(fits) == len(train_sizes) == n_curve_fits(y, repeats=3)
    assert all(len(p["runs"]) == 3 for p in curve["points"])  # one averaged score per repeat
