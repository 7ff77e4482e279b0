"""The web UI walked as a new user walks it, in headless Chromium: every tab at a phone's width
(400 px) and at 1280 px, and the feedback after renaming or deleting a class or a project.

The project is seeded straight into the catalog (examples through the upload code, a version
with a report), so nothing trains and each test takes seconds.
"""

from __future__ import annotations

import pytest

from handful.server import Catalog
from handful.server.ingest import add_images
from handful.server.uploads import Limits
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, color_png, cv_report, seed_version

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)

TABS = ("data", "train", "results", "test", "versions")


def seed_colors(home, name: str = "A project with a rather long name, as people write them") -> int:
    """A trained-looking image project: red and blue (4 images each), two versions with reports."""
    catalog = Catalog(home)
    project = catalog.create_project(name, "image")
    for c_idx, color in enumerate(("red", "blue")):
        files = [(f"{color}_{i}.png", color_png(color, 100 * c_idx + i)) for i in range(4)]
        add_images(catalog, project, files, color, Limits())
    y_true = ["red"] * 4 + ["blue"] * 4
    for accuracy, y_pred in ((0.875, ["red"] * 4 + ["red"] + ["blue"] * 3), (1.0, y_true)):
        report = cv_report(y_true, y_pred, ["blue", "red"])
        report["leaderboard"] = {
            "scheme": "1x3-fold stratified CV",
            "rows": [{"label": "logistic(C=1.0)", "mean": accuracy, "std": 0.05},
                     {"label": "prototype()", "mean": accuracy - 0.1, "std": 0.1}],
            "baseline": {"label": "majority class (baseline)", "mean": 0.5, "std": 0.0}}
        seed_version(catalog, project["id"], report, {"accuracy": accuracy}, ["blue", "red"], 8)
    catalog.close()
    return project["id"]


@pytest.fixture
def served(tmp_path):
    home = tmp_path / "home"
    pid = seed_colors(home)
    with ServerProcess(home) as server:
        yield server, pid


def overlaps(page, a: str, b: str) -> bool:
    boxes = [page.locator(sel).bounding_box() for sel in (a, b)]
    (ax, ay, aw, ah), (bx, by, bw, bh) = ([x["x"], x["y"], x["width"], x["height"]] for x in boxes)
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


@pytest.mark.parametrize("width", [400, 1280])
def test_every_tab_fits_the_window_width_with_a_readable_title(served, browser, width):
    # at 400 px the page was 509-555 px wide (tabs, toolbar, versions table), the project name
    # wrapped one letter per line, and the crumbs ran under the server status
    server, pid = served
    page = browser.new_page(viewport={"width": width, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        for tab in TABS:
            page.goto(f"{server.url}/#/p/{pid}/{tab}")
            page.wait_for_selector(f".tab-content[data-tab={tab}] > *")
            page.wait_for_timeout(300)  # the Versions tab draws its comparison after the table
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"the {tab} tab is {scroll} px wide in a {width} px window"
            title = page.locator(".title-row h1").bounding_box()
            # a name wider than the row gets a line of its own, not a column one letter wide
            assert title["width"] > 0.6 * min(width - 32, 1180), f"the name is {title['width']} px wide on {tab}"
            assert not overlaps(page, "#crumbs", ".topbar-right"), f"the crumbs run under the status on {tab}"
            last_tab = page.locator(".tabs .tab").last.bounding_box()
            assert last_tab["x"] + last_tab["width"] <= width, "the Versions tab is cut off"
    finally:
        page.close()
    assert errors == []


def test_results_leaderboard_ends_with_the_majority_baseline(served, page):
    # the report carries the floor every head must beat (the largest class share); it was not shown
    server, pid = served
    page.goto(f"{server.url}/#/p/{pid}/results")
    row = page.wait_for_selector("[data-testid=baseline]")
    assert "majority class (baseline)" in row.inner_text() and "50.0%" in row.inner_text()


def test_renaming_deleting_a_class_and_deleting_the_project_each_say_what_happened(served, page):
    # all three were silent: the page changed under the dialog with no word of what was done
    server, pid = served
    page.goto(f"{server.url}/#/p/{pid}/data")
    page.click("[data-class=blue] button[title='Rename class']")
    page.fill(".modal input", "navy")
    page.click(".modal .primary")
    page.wait_for_selector("text=Renamed blue to navy. Retrain for the model to use the new name.")
    page.wait_for_selector("[data-class=navy]")
    page.click("[data-class=navy] button[title='Delete class']")
    page.click(".modal .danger")
    page.wait_for_selector("text=Deleted class navy and its 4 examples.")
    # the toast comes once the page shows the change (it came before the refresh, and CI saw 2 cards)
    assert page.locator(".class-card[data-class]").count() == 1
    page.click("text=Delete project")
    page.click(".modal .danger")
    page.wait_for_selector("text=Deleted “A project with a rather long name, as people write them”.")
    page.wait_for_selector("[data-testid=new-project]")


def test_an_upload_toast_names_the_class_it_went_to(served, page, tmp_path):
    # "Added 2 examples" after two drops in a row did not say which class got which
    server, pid = served
    files = []
    for i in range(2):
        path = tmp_path / f"more_{i}.png"
        path.write_bytes(color_png("red", 900 + i))
        files.append(str(path))
    page.goto(f"{server.url}/#/p/{pid}/data")
    page.set_input_files("[data-testid=drop-red] input[type=file]", files)
    page.wait_for_selector("text=Added 2 examples to red")
