"""The Results page's learning curve draws the report's forecast (2x, 5x, 10x the data, with
its 10-90% range) beside the measured points, and the Test tab's drop zone says it takes several
images.

The forecast used to appear only in the advice sentence: the chart stopped at the measured
points, so the numbers it quoted had nothing to point at.
"""

from __future__ import annotations

import re

import pytest

from server_utils import HAS_CHROMIUM, NO_CHROMIUM, serve_report_versions

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)

MEASURED = {"sizes": [1, 2, 3, 5], "accuracy": [0.6, 0.7, 0.76, 0.82], "std": [0.08, 0.06, 0.05, 0.04]}
# what handful.evaluate.advice.advise() gives at 6 per class: 2x, 5x and 10x the data
FORECAST = [{"n_per_class": 12.0, "accuracy": 0.871, "range": [0.84, 0.9], "gain": 0.031},
            {"n_per_class": 30.0, "accuracy": 0.905, "range": [0.86, 0.94], "gain": 0.065},
            {"n_per_class": 60.0, "accuracy": 0.92, "range": [0.865, 0.96], "gain": 0.08}]


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """(server, project id): v1 with a forecast on its curve (the server's report), v2 with a
    measured curve only (an older version, or no data-need estimate), v3 with the forecast in
    a separate ``advice`` (the CLI's report)."""
    home = tmp_path_factory.mktemp("forecast") / "home"
    reports = [{"learning_curve": {**MEASURED, "forecast": FORECAST, "advice": "≈ 20 more per class."}},
               {"learning_curve": {**MEASURED, "advice": "Accuracy is still rising."}},
               {"learning_curve": {**MEASURED, "advice": "≈ 20 more."}, "advice": {"forecast": FORECAST}}]
    with serve_report_versions(home, "forecast", reports) as served:
        yield served


def open_curve(page, server, pid: int, number: int):
    page.goto(f"{server.url}/#/p/{pid}/results/{number}")
    page.wait_for_selector("svg.chart")
    return page.locator("svg.chart")


@pytest.mark.parametrize("number", [1, 3])
def test_the_learning_curve_draws_each_forecast_with_its_range_in_its_tooltip(versions, page, number):
    server, pid = versions
    chart = open_curve(page, server, pid, number)
    points = chart.locator("[data-testid=forecast] .forecast-point")
    assert points.count() == len(FORECAST)  # one marker per forecast: 2x, 5x, 10x
    titles = [points.nth(i).locator("title").text_content() for i in range(points.count())]
    for title, f in zip(titles, FORECAST):
        # the tooltip carries the numbers the advice sentence quotes, and the range
        assert f"at {f['n_per_class']:.0f} per class: {100 * f['accuracy']:.1f}%" in title, title
        assert f"range {100 * f['range'][0]:.1f}%–{100 * f['range'][1]:.1f}%" in title, title
        assert f"+{100 * f['gain']:.1f} points" in title, title
    # each marker has a whisker spanning its range: the top above the marker, the bottom below
    first = points.nth(0)
    whisker = first.locator("line.whisker").first
    y1, y2 = (float(whisker.get_attribute(k)) for k in ("y1", "y2"))
    cy = float(first.locator("polygon").get_attribute("points").split()[1].split(",")[1])
    assert y2 < cy < y1  # SVG y grows downwards: hi (90%) above, lo (10%) below
    # the x axis reaches the 10x forecast, right of the last measured point
    dots = chart.locator("circle.dot")
    last_measured = float(dots.nth(dots.count() - 1).get_attribute("cx"))
    assert float(first.locator("line.whisker").first.get_attribute("x1")) > last_measured
    ticks = chart.locator("text.forecast-axis").all_text_contents()
    assert "60" in ticks  # the largest forecast size is labeled on the axis
    legend = page.inner_text("[data-testid=curve-legend]")
    assert "forecast (10–90% range)" in legend and "measured" in legend


def test_a_version_without_a_forecast_draws_the_measured_curve_alone(versions, page):
    server, pid = versions
    chart = open_curve(page, server, pid, 2)
    assert chart.locator("circle.dot").count() == len(MEASURED["sizes"])
    assert chart.locator("[data-testid=forecast]").count() == 0
    assert page.locator("[data-testid=curve-legend]").count() == 0
    # the axis ends at the largest measured size, as before
    assert chart.locator("text.axis[text-anchor=middle]").all_text_contents()[0] == "5"


def test_the_forecast_chart_fits_a_400px_wide_window(versions, page):
    server, pid = versions
    page.set_viewport_size({"width": 400, "height": 860})
    open_curve(page, server, pid, 1)
    box = page.locator("svg.chart").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 400  # scaled to the card, not cut off
    legend = page.locator("[data-testid=curve-legend]").bounding_box()
    assert legend["x"] + legend["width"] <= 400
    # the axis labels stay apart: none closer than 24 units (the chart's own rule)
    xs = sorted(float(x) for x in page.locator("svg.chart text.axis[text-anchor=middle]").evaluate_all(
        "(ts) => ts.map((t) => t.getAttribute('x'))"))
    assert all(b - a >= 24 for a, b in zip(xs, xs[1:])), xs


def test_the_test_tabs_drop_zone_says_it_takes_several_images(versions, page):
    # it said "Drop an image to test" though a drop of many is tested, up to 24 at a time
    server, pid = versions
    page.goto(f"{server.url}/#/p/{pid}/test")
    zone = page.locator("[data-testid=test-drop]")
    zone.wait_for()
    text = zone.inner_text()
    assert "Drop images to test" in text
    assert not re.search(r"\ban image\b", text)
    assert "up to 24 at a time" in text

