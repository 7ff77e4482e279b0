"""The Results page's "Worth a second look" cards after a class rename (headless Chromium): the
class a mistake was taken for is offered by its name now (the version's ``renamed_since``), not
refused as "'dog' is not a class any more", and two classes that swapped names are read as
renames, not as the example having been moved."""

from __future__ import annotations

import httpx
import pytest

from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, seed_mistake

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)


def test_a_mistake_taken_for_a_class_renamed_since_offers_its_new_name(tmp_path, page):
    home = tmp_path / "home"
    pid, eid = seed_mistake(home, [("dog", "puppy")])
    with ServerProcess(home) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        page.goto(f"{server.url}/#/p/{pid}/results")
        card = page.locator(f".mistake[data-example='{eid}']")
        button = card.locator("[data-testid=relabel]")
        button.wait_for()
        # 'dog' is 'puppy' now: one click moves it there, and the card shows both names
        assert button.inner_text() == "Relabel as puppy", card.inner_text()
        assert "not a class any more" not in card.inner_text()
        assert card.locator("[data-testid=relabel-class]").count() == 0  # no pick-a-class fallback
        assert card.locator("s").inner_text() == "dog", card.inner_text()
        button.click()
        card.locator("[data-testid=moved]").wait_for()
        assert "moved from cat to puppy" in card.inner_text()
        assert api.get(f"/api/projects/{pid}/examples/{eid}").json()["label"] == "puppy"


def test_a_mistake_whose_two_classes_swapped_names_is_not_taken_for_moved(tmp_path, page):
    # cat -> tmp, dog -> cat, tmp -> dog: the example's class is called 'dog' now and the class
    # it was taken for 'cat'; its label now equals the old prediction, which is no move
    home = tmp_path / "home"
    pid, eid = seed_mistake(home, [("cat", "tmp"), ("dog", "cat"), ("tmp", "dog")])
    with ServerProcess(home) as server:
        page.goto(f"{server.url}/#/p/{pid}/results")
        card = page.locator(f".mistake[data-example='{eid}']")
        page.wait_for_selector("text=since training")
        assert card.locator("[data-testid=moved]").count() == 0, card.inner_text()
        assert card.locator("[data-testid=relabel]").inner_text() == "Relabel as cat", card.inner_text()
