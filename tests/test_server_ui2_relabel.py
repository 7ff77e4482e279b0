"""The Results page's "Relabel as <class>" buttons name the classes of the version's report: a
class renamed since training must not come back through them (API, and headless Chromium on a
catalog seeded with a version whose report lists a mistake)."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from handful.server import Catalog, create_app
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, seed_mistake


def seed_renamed(home) -> tuple[int, int]:
    """(project id, example id): v1 took 'purr?' (labeled cat) for a dog; 'dog' is 'puppy' since."""
    return seed_mistake(home, [("dog", "puppy")])


def test_relabel_to_an_existing_class_only_refuses_a_class_renamed_since_training(tmp_path):
    pid, example = seed_renamed(tmp_path / "home")
    with TestClient(create_app(Catalog(tmp_path / "home"))) as client:
        res = client.patch(f"/api/projects/{pid}/examples/{example}?existing=true", json={"label": "dog"})
        assert res.status_code == 409, res.text
        detail = res.json()["detail"]
        assert "Class 'dog' is not a class of project" in detail
        assert "'cat', 'puppy'" in detail and "pick one of them" in detail  # names the fix
        assert client.get(f"/api/projects/{pid}").json()["classes"] == {"cat": 2, "puppy": 2}
        res = client.patch(f"/api/projects/{pid}/examples/{example}?existing=true", json={"label": "puppy"})
        assert res.status_code == 200 and res.json()["label"] == "puppy"
        # without the flag (the Data tab's drop on a new, still empty class) a new class is allowed
        res = client.patch(f"/api/projects/{pid}/examples/{example}", json={"label": "hamster"})
        assert res.status_code == 200 and res.json()["label"] == "hamster"


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_results_page_offers_the_current_classes_after_a_rename_and_never_recreates_the_old(tmp_path, page):
    # clicking "Relabel as dog" after 'dog' became 'puppy' silently brought 'dog' back
    home = tmp_path / "home"
    pid, example = seed_renamed(home)
    with ServerProcess(home) as server:
        api = httpx.Client(base_url=server.url, timeout=30)
        page.goto(f"{server.url}/#/p/{pid}/results")
        page.wait_for_selector(".mistake")
        assert page.locator("button:has-text('Relabel as dog')").count() == 0
        # the version records the rename: the card offers the class by its name now
        assert page.inner_text("[data-testid=relabel]") == "Relabel as puppy"
        page.click("[data-testid=relabel]")
        page.wait_for_selector("text=Moved to puppy")
        assert api.get(f"/api/projects/{pid}").json()["classes"] == {"cat": 1, "puppy": 3}

        # a page already offering 'puppy' when that class is renamed elsewhere (another tab)
        api.patch(f"/api/projects/{pid}/examples/{example}", json={"label": "cat"})
        page.reload()
        page.wait_for_selector("[data-testid=relabel]")
        assert api.patch(f"/api/projects/{pid}/classes/puppy", json={"name": "hound"}).status_code == 200
        page.click("[data-testid=relabel]")
        page.wait_for_selector("text=Class 'puppy' is not a class of project")
        assert api.get(f"/api/projects/{pid}").json()["classes"] == {"cat": 2, "hound": 2}
        page.wait_for_selector("[data-testid=relabel-class]")  # and it offers the new name
        choice = page.locator("[data-testid=relabel-class]")
        assert choice.locator("option").all_inner_texts() == ["hound"]
