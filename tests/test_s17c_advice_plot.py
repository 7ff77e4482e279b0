"""The learning-curve picture says what the advice sentence says: no target drawn where the
sentence will not forecast, every line named in the legend, nothing hidden under the legend."""

import numpy as np
import pytest

from handful.evaluate import advice_plot
from handful.evaluate.advice import advise, posterior_fits


def _advice(fn, sizes, repeats=6, noise=0.002, seed=0):
    rng = np.random.default_rng(seed)
    points = [{"size": s, "n": float(s), "runs": list(fn(s) + rng.normal(0, noise, repeats))}
              for s in sizes]
    for p in points:
        p["mean"], p["std"] = float(np.mean(p["runs"])), float(np.std(p["runs"]))
    curve = {"points": points, "repeats": repeats, "n_per_class": float(sizes[-1]), "n_classes": 2}
    main_fit, draws = posterior_fits(curve, n_draws=30)
    result = advise(curve, main_fit, draws, head="logistic head")
    result["head"] = {"type": "logistic"}
    return curve, main_fit, draws, result


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Plot and hand back (axes, legend texts, stars as (x, y)), read before the figure closes."""
    def plot(curve, main_fit, draws, result):
        seen = {}

        def keep(fig, path):
            ax = fig.axes[0]
            fig.canvas.draw()
            seen["ax"], seen["renderer"] = ax, fig.canvas.get_renderer()
            seen["legend"] = [t.get_text() for t in ax.get_legend().get_texts()]
            seen["stars"] = [(float(line.get_xdata()[0]), float(line.get_ydata()[0]))
                             for line in ax.get_lines() if line.get_marker() == "*"]
            seen["texts"] = list(ax.texts)

        monkeypatch.setattr(advice_plot, "save_figure", keep)
        advice_plot.plot_learning_curve(curve, main_fit, draws, result, tmp_path / "c.png")
        return seen
    return plot


def test_a_target_beyond_ten_times_the_data_is_not_drawn_the_ten_times_forecast_is(drawn):
    # flowers5 on efficientnet_lite0: the sentence said "+5.0 points needs more than 10 times the
    # data, further than it can forecast" while the plot put the target star at 9,968 per class
    curve, main_fit, draws, result = _advice(lambda n: 1 - (0.05 + 0.5 * n ** -0.15), (1, 2, 3, 4, 5))
    target = result["target"]
    assert target["beyond_forecast"] is True, "the JSON says the count is not a forecast"
    assert target["n_per_class"] > 10 * 5
    seen = drawn(curve, main_fit, draws, result)
    ten = result["forecast"][-1]
    assert seen["stars"] == [pytest.approx((ten["n_per_class"], 100 * ten["accuracy"]))]
    assert seen["ax"].get_xlim()[1] < 2 * ten["n_per_class"], "the axis stops near 10x the data"
    assert any("10x the data" in t and "is further" in t for t in seen["legend"]), seen["legend"]


def test_a_target_within_reach_keeps_its_star_and_flag(drawn):
    curve, main_fit, draws, result = _advice(lambda n: 1 - (0.05 + 0.5 * n ** -0.7),
                                             (1, 2, 3, 5, 8, 10, 15, 20), noise=0.01)
    target = result["target"]
    assert target is not None and target["beyond_forecast"] is False
    seen = drawn(curve, main_fit, draws, result)
    assert seen["stars"] == [pytest.approx((target["n_per_class"], 100 * target["accuracy"]))]


def test_every_line_is_named_and_no_label_sits_under_the_legend(drawn):
    # hymenoptera: "your data" was written at the foot of its line, under the legend box, and the
    # dotted ceiling line was named nowhere
    curve, main_fit, draws, result = _advice(lambda n: 0.97 - 0.3 * n ** -0.7,
                                             (1, 2, 3, 5, 8, 10, 20, 40, 80))
    seen = drawn(curve, main_fit, draws, result)
    assert any(t.startswith("your data, 80 per class") for t in seen["legend"]), seen["legend"]
    assert any(t.startswith("ceiling of the fit, ") for t in seen["legend"]), seen["legend"]
    box = seen["ax"].get_legend().get_window_extent(seen["renderer"])
    hidden = [t.get_text() for t in seen["texts"] if t.get_window_extent(seen["renderer"]).overlaps(box)]
    assert not hidden, f"text under the legend: {hidden}"
