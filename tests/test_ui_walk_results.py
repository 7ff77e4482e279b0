"""The Results page's "Worth a second look" cards after the examples changed since training, and
the API they read (GET one example) and what deleting leaves on disk (no thumbnails).

A version's report is as old as the version; the cards used to repeat it as if nothing happened:
an example already moved still offered the same move, and after a click read "labeled dog,
looks like dog".
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from handful.server import Catalog, create_app
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, color_png, cv_report, seed_version


def seed_mistakes(home) -> tuple[int, dict[str, int]]:
    """(project id, example ids by text): a text project whose v1 took 'purr?' and 'yip' (both
    labeled cat) for dogs."""
    catalog = Catalog(home)
    pid = catalog.create_project("pets", "text")["id"]
    ids = {}
    for label, texts in {"cat": ["meow", "purr?", "yip"], "dog": ["woof", "bark"]}.items():
        for text in texts:
            ids[text], _ = catalog.add_example(pid, label, f"digest-{text}", text, text=text)
    report = cv_report(["cat"] * 3 + ["dog"] * 2, ["cat", "dog", "dog", "dog", "dog"], ["cat", "dog"])
    report["evaluation"]["mistakes"] = [
        {"example": f"#{ids[t]} {t}", "label": "cat", "predicted": "dog", "confidence": c}
        for t, c in (("purr?", 0.9), ("yip", 0.8))]
    seed_version(catalog, pid, report, {"accuracy": 0.6}, ["cat", "dog"], 5)
    catalog.close()
    return pid, ids


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_a_mistake_moved_since_training_says_so_instead_of_offering_the_move_again(tmp_path, page):
    home = tmp_path / "home"
    pid, ids = seed_mistakes(home)
    with ServerProcess(home) as server:
        api = httpx.Client(base_url=server.url, timeout=30)
        # moved on the Data tab (or in another window) after v1 was trained
        assert api.patch(f"/api/projects/{pid}/examples/{ids['purr?']}", json={"label": "dog"}).status_code == 200
        page.goto(f"{server.url}/#/p/{pid}/results")
        first = page.locator(f".mistake[data-example='{ids['purr?']}']")
        first.locator("[data-testid=moved]").wait_for()
        assert "moved from cat to dog" in first.inner_text()
        assert first.locator("[data-testid=relabel]").count() == 0  # not "Relabel as dog" again

        # moved here: the card says what happened, not "labeled dog, looks like dog"
        second = page.locator(f".mistake[data-example='{ids['yip']}']")
        assert "labeled cat, looks like dog" in second.inner_text()
        second.locator("[data-testid=relabel]").click()
        second.locator("[data-testid=moved]").wait_for()
        assert "moved from cat to dog" in second.inner_text()
        assert "looks like dog" not in second.inner_text()
        assert api.get(f"/api/projects/{pid}").json()["classes"] == {"cat": 1, "dog": 4}

        # deleted since training: said so, and nothing to click
        api.delete(f"/api/projects/{pid}/examples/{ids['yip']}")
        page.reload()
        gone = page.locator(f".mistake[data-example='{ids['yip']}'] [data-testid=mistake-gone]")
        gone.wait_for()
        assert page.locator(f".mistake[data-example='{ids['yip']}'] [data-testid=relabel]").count() == 0


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_a_mistake_whose_class_was_renamed_still_offers_a_relabel(tmp_path, page):
    # a rename moves every example of the class: that is no decision about this one
    home = tmp_path / "home"
    pid, ids = seed_mistakes(home)
    catalog = Catalog(home)
    catalog.rename_class(pid, "cat", "kitten")
    catalog.close()
    with ServerProcess(home) as server:
        page.goto(f"{server.url}/#/p/{pid}/results")
        card = page.locator(f".mistake[data-example='{ids['purr?']}']")
        page.wait_for_selector("text=kitten since training")
        assert card.locator("[data-testid=relabel]").inner_text() == "Relabel as dog"


def test_get_one_example_answers_its_label_now_and_404_once_deleted(tmp_path):
    home = tmp_path / "home"
    pid, ids = seed_mistakes(home)
    with TestClient(create_app(Catalog(home))) as client:
        url = f"/api/projects/{pid}/examples/{ids['purr?']}"
        assert client.get(url).json() | {"created": 0} == {
            "id": ids["purr?"], "label": "cat", "name": "purr?", "text": "purr?", "created": 0, "url": None}
        client.patch(url, json={"label": "dog"})
        assert client.get(url).json()["label"] == "dog"
        client.delete(url)
        res = client.get(url)
        assert res.status_code == 404 and f"Example {ids['purr?']} does not exist" in res.json()["detail"]


def test_deleting_images_also_deletes_their_thumbnails(tmp_path):
    # the UI's 160 px previews stayed in HOME/thumbs after the example, class or project was
    # deleted: a deleted image was still on disk
    home = tmp_path / "home"
    with TestClient(create_app(Catalog(home))) as client:
        pid = client.post("/api/projects", json={"name": "colors"}).json()["id"]
        for label, color in (("red", "red"), ("blue", "blue"), ("green", "green")):
            files = [("files", (f"{label}{i}.png", color_png(color, i), "image/png")) for i in range(2)]
            client.post(f"/api/projects/{pid}/examples", files=files, data={"label": label})
        items = client.get(f"/api/projects/{pid}/examples").json()["items"]
        for e in items:
            assert client.get(f"{e['url']}?size=160").status_code == 200
        thumbs = lambda: sorted(p.name for p in (home / "thumbs").rglob("*.jpg"))  # noqa: E731
        assert len(thumbs()) == 6
        client.delete(f"/api/projects/{pid}/examples/{items[0]['id']}")
        assert len(thumbs()) == 5, "deleting an example leaves its thumbnail"
        client.delete(f"/api/projects/{pid}/classes/blue")
        assert len(thumbs()) == 3, "deleting a class leaves its thumbnails"
        client.delete(f"/api/projects/{pid}")
        assert thumbs() == [], "deleting the project leaves its thumbnails"
