"""The Versions tab shows the selection-adjusted accuracy beside the cross-validated one
(headless Chromium, on a catalog seeded with version records)."""

from __future__ import annotations

import pytest

from handful.server import Catalog
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, cv_report, seed_version

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)


def test_the_versions_table_and_comparison_show_the_accuracy_allowing_for_the_choice(tmp_path, page):
    # only the Results note gave the adjusted figure: a user comparing versions saw the flattering one
    home = tmp_path / "home"
    catalog = Catalog(home)
    classes = ["a", "b"]
    pid = catalog.create_project("choices", "image")["id"]
    truth = ["a"] * 10 + ["b"] * 10

    def report(n_wrong: int) -> dict:  # out-of-fold predictions with n_wrong 'b' taken for 'a'
        return cv_report(truth, ["a"] * (10 + n_wrong) + ["b"] * (10 - n_wrong), classes)

    # v1: its head was the best of several on the folds, which cost 8.8 points;
    # v2: a head given by the user, nothing chosen (no cv_accuracy); v3: chosen, at no cost
    seed_version(catalog, pid, report(1), {"accuracy": 0.95, "cv_accuracy": 0.95, "cv_accuracy_adjusted": 0.862},
                 classes, 20)
    seed_version(catalog, pid, report(2), {"accuracy": 0.9}, classes, 20)
    seed_version(catalog, pid, report(2), {"accuracy": 0.9, "cv_accuracy": 0.9, "cv_accuracy_adjusted": 0.9},
                 classes, 20)
    catalog.close()
    with ServerProcess(home) as server:
        page.goto(f"{server.url}/#/p/{pid}/versions")
        page.wait_for_selector("[data-testid=compare]")
        cells = page.locator("[data-testid=version-accuracy]")  # newest first
        assert cells.all_inner_texts() == ["90.0% CV", "90.0% CV", "95.0% CV\n≈ 86.2% allowing for the choice"]
        assert "about 86.2% on new data" in cells.nth(2).get_attribute("title")
        assert page.locator("[data-testid=version-adjusted]").count() == 1  # nothing to allow for in v2, v3
        boxes = page.locator(".card:has(h3:text-is('Versions')) tbody input[type=checkbox]")
        boxes.nth(0).uncheck()  # compare v1 and v2
        boxes.nth(2).check()
        page.wait_for_selector("[data-testid=compare] h3:text-is('v1 → v2')")
        compare = page.inner_text("[data-testid=compare]")
        # v2's own CV accuracy is its honest figure: it beats v1 once v1's choice is allowed for
        assert "Accuracy (CV)\t95.0%\t90.0%\t-5.0" in compare
        assert "Accuracy, allowing for the choice\t86.2%\t90.0%\t+3.8" in compare
