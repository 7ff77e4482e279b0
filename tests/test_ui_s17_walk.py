"""What walking the web UI as a new user turned up (headless Chromium, seeded catalog): the
Versions tab with a single version asked to "tick two versions", and at 400 px the Results
tiles of a row had unequal widths (the model tile's 30 px "Prototype" widened its column)."""

from __future__ import annotations

import json

import pytest

from handful.server import Catalog
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, cv_report

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
def one_version(tmp_path_factory):
    """(server, project id): a project with one version whose head is the prototype head (the
    longest name a Results tile shows)."""
    home = tmp_path_factory.mktemp("walk") / "home"
    catalog = Catalog(home)
    pid = catalog.create_project("shapes", "image")["id"]
    job = catalog.create_job(pid, {})
    catalog.claim_next_job()
    path = catalog.models_dir / str(pid) / "job-1"
    path.mkdir(parents=True)
    report = cv_report(["circles"] * 4 + ["squares"] * 4, ["circles"] * 4 + ["squares"] * 4, ["circles", "squares"])
    (path / "report.json").write_text(json.dumps(report))
    catalog.commit_version(job["id"], path, "efficientnet_lite0", "PrototypeHead()", ["circles", "squares"],
                           8, {"accuracy": 1.0})
    catalog.close()
    with ServerProcess(home) as server:
        yield server, pid


def test_a_single_version_says_how_to_get_a_second_to_compare(one_version, page):
    server, pid = one_version
    page.goto(f"{server.url}/#/p/{pid}/versions")
    hint = page.locator("[data-testid=compare-hint]")
    hint.wait_for()
    # there is nothing to tick a second time: the page says what makes a second version
    assert "Train again" in hint.inner_text()
    assert page.locator("text=Tick two versions").count() == 0
    page.locator("tbody input[type=checkbox]").uncheck()  # unticking the only one changes nothing
    page.wait_for_timeout(200)
    assert page.locator("text=Tick two versions").count() == 0 and hint.is_visible()


@pytest.mark.parametrize("width", [400, 1280])
def test_the_results_tiles_share_the_row_equally_and_show_the_model_whole(one_version, browser, width):
    server, pid = one_version
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(f"{server.url}/#/p/{pid}/results")
        page.wait_for_selector("[data-testid=accuracy]")
        column = page.locator(".tiles").bounding_box()
        boxes = [t.bounding_box() for t in page.locator(".tile").all()]
        for box in boxes:
            assert box["x"] + box["width"] <= column["x"] + column["width"] + 0.5, (box, column)
        # a grid of equal columns (1fr each): at 400 px they were 162 and 196 px wide
        widths = [b["width"] for b in boxes]
        assert max(widths) - min(widths) < 1, widths
        model = page.locator(".tile:has(.tile-label:text-is('Model')) .tile-value")
        assert model.inner_text() == "Prototype"
        assert model.evaluate("(el) => el.scrollWidth <= el.clientWidth")  # shown whole, not cut to "Protot…"
    finally:
        page.close()
