"""The learning-curve chart is drawn at the size it is shown, so its text stays 11 px in a 400 px
window (it was drawn 420 units wide and scaled down, to about 8 px), and its forecast starts at
the fitted curve at the data's size, where the forecast's gains are counted from (it started at
the last measured point, which lies below the data's size: the curve is measured on held-out
splits of part of the data)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from handful.data import Examples
from handful.heads import LogisticHead
from handful.server import extras
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, serve_report_versions

MEASURED = {"sizes": [1, 2, 3, 5], "accuracy": [0.6, 0.7, 0.76, 0.82], "std": [0.08, 0.06, 0.05, 0.04]}
# advise() at 6 per class with the fitted curve at 84% there: each gain is accuracy - 0.84
NOW = {"n_per_class": 6.0, "accuracy_now": 0.84}
FORECAST = [{"n_per_class": 12.0, "accuracy": 0.871, "range": [0.84, 0.9], "gain": 0.031},
            {"n_per_class": 30.0, "accuracy": 0.905, "range": [0.86, 0.94], "gain": 0.065},
            {"n_per_class": 60.0, "accuracy": 0.92, "range": [0.865, 0.96], "gain": 0.08}]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(server, project id): v1's curve has the fitted point at the data's size (the server's
    report now), v2's does not (an older report), v3 keeps both in a separate ``advice`` (the
    CLI's report)."""
    home = tmp_path_factory.mktemp("chart") / "home"
    reports = [{"learning_curve": {**MEASURED, **NOW, "forecast": FORECAST, "advice": "≈ 20 more."}},
               {"learning_curve": {**MEASURED, "forecast": FORECAST, "advice": "≈ 20 more."}},
               {"learning_curve": {**MEASURED, "advice": "≈ 20 more."}, "advice": {**NOW, "forecast": FORECAST}}]
    with serve_report_versions(home, "chart", reports) as served:
        yield served


# the size in screen pixels of each text of the chart: its font size times the SVG's scale
SHOWN_SIZES = """(svg) => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text')].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
}"""


def open_chart(page, server, pid: int, number: int):
    page.goto(f"{server.url}/#/p/{pid}/results/{number}")
    page.wait_for_selector("svg.chart")
    return page.locator("svg.chart")


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
@pytest.mark.parametrize("width", [400, 1280])
def test_the_charts_text_is_at_least_11px_at_any_window_width(served, browser, width):
    server, pid = served
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        chart = open_chart(page, server, pid, 1)
        sizes = chart.evaluate(SHOWN_SIZES)
        assert len(sizes) > 5 and min(sizes) >= 10.9, sizes  # was 8.6 px at 400 (420 units in 330 px)
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    finally:
        page.close()


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_the_chart_is_drawn_again_when_the_window_narrows(served, page):
    server, pid = served
    chart = open_chart(page, server, pid, 1)
    wide = chart.evaluate("(svg) => svg.viewBox.baseVal.width")
    page.set_viewport_size({"width": 400, "height": 860})
    # the redraw replaces the SVG: wait for one whose drawing is as wide as the box shows it
    page.wait_for_function("""() => {
      const svg = document.querySelector('svg.chart');
      return svg && Math.abs(svg.viewBox.baseVal.width - svg.getBoundingClientRect().width) < 1.5;
    }""")
    narrow = page.locator("svg.chart").evaluate("(svg) => svg.viewBox.baseVal.width")
    assert narrow < wide, (narrow, wide)
    assert min(page.locator("svg.chart").evaluate(SHOWN_SIZES)) >= 10.9


def forecast_start(chart) -> tuple[float, float]:
    first = chart.locator("[data-testid=forecast] polyline.forecast-line").get_attribute("points").split()[0]
    return tuple(float(v) for v in first.split(","))


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
@pytest.mark.parametrize("number", [1, 3])
def test_the_forecast_starts_at_the_fitted_curve_at_the_datas_size(served, page, number):
    server, pid = served
    chart = open_chart(page, server, pid, number)
    now = chart.locator("[data-testid=forecast-now]")
    cx, cy = (float(now.get_attribute(k)) for k in ("cx", "cy"))
    assert forecast_start(chart) == pytest.approx((cx, cy))  # the line leaves from the marked point
    dots = chart.locator("circle.dot")
    last = dots.nth(dots.count() - 1)
    # 6 per class lies right of the last measured size (5), and 84% above the last measured 82%
    assert cx > float(last.get_attribute("cx")) and cy < float(last.get_attribute("cy"))
    title = now.locator("title").text_content()
    assert "at 6 per class" in title and "84.0%" in title and "gains are counted from here" in title, title
    assert "6" in chart.locator("text.now-axis").all_text_contents()  # the data's size is labeled


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_an_older_report_without_the_fitted_point_starts_at_the_last_measured_point(served, page):
    server, pid = served
    chart = open_chart(page, server, pid, 2)
    assert chart.locator("[data-testid=forecast-now]").count() == 0  # nothing to mark: not made up
    dots = chart.locator("circle.dot")
    last = dots.nth(dots.count() - 1)
    assert forecast_start(chart) == pytest.approx((float(last.get_attribute("cx")), float(last.get_attribute("cy"))))


@pytest.mark.skipif(not extras.has_advice(), reason="handful.evaluate.data_need not installed")
def test_the_servers_curve_carries_the_fitted_accuracy_the_forecast_gains_start_from():
    # the chart needs the point the gains are counted from: each forecast's accuracy less its
    # gain is the fitted accuracy at the data's size, whose size is all the examples per class
    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b"], 12)
    X = (rng.normal(0, 1, (24, 8)) + np.where(labels == "a", 0.8, -0.8)[:, None]).astype(np.float32)
    clf = SimpleNamespace(head_=LogisticHead().fit(X, labels), random_state=0)
    examples = Examples(items=tuple(f"text {i}" for i in range(24)), labels=tuple(labels), modality="text")
    curve = extras.advice(clf, X, examples)
    assert curve is not None and curve["forecast"]
    assert curve["n_per_class"] == 12
    for f in curve["forecast"]:
        assert f["accuracy"] - f["gain"] == pytest.approx(curve["accuracy_now"])
