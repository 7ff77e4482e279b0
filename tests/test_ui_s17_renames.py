"""Comparing two versions across a class rename: the catalog logs each rename, a version says
which of its classes were renamed since it was trained (API), and the Versions tab's comparison
shows one row "kitty (was cat)" (headless Chromium), not the old and the new name as two rows
each half empty."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from handful.server import Catalog, ServerSettings, create_app
from handful.server.errors import ConflictError, NotFoundError
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, cv_report, seed_version


def seed(catalog: Catalog, pid: int, classes: list[str]) -> int:
    """A version whose out-of-fold predictions are all right but one (the first class's last
    example taken for the second class)."""
    truth = [c for c in classes for _ in range(4)]
    pred = list(truth)
    pred[3] = classes[1]
    return seed_version(catalog, pid, cv_report(truth, pred, sorted(classes)), {"accuracy": 0.9},
                        sorted(classes), len(truth))


def add(catalog: Catalog, pid: int, label: str, n: int = 2) -> None:
    for i in range(n):
        catalog.add_example(pid, label, f"{label}-{i}-{pid}", f"{label} {i}", text=f"{label} {i}")


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))) as c:
        yield c


def renamed(client, pid: int, number: int) -> dict:
    res = client.get(f"/api/projects/{pid}/versions/{number}")
    assert res.status_code == 200, res.text
    return res.json()["renamed_since"]


def test_a_version_names_its_classes_renamed_since_training_by_their_names_now(client):
    catalog = client.app.state.catalog
    pid = client.post("/api/projects", json={"name": "pets", "modality": "text"}).json()["id"]
    for label in ("cat", "dog"):
        add(catalog, pid, label)
    seed(catalog, pid, ["cat", "dog"])
    res = client.patch(f"/api/projects/{pid}/classes/cat", json={"name": "kitty"})
    assert res.status_code == 200, res.text
    seed(catalog, pid, ["dog", "kitty"])
    # v1 was trained on 'cat', which is 'kitty' now; v2 was trained after the rename
    assert renamed(client, pid, 1) == {"cat": "kitty"}
    assert renamed(client, pid, 2) == {}
    # a chain resolves to the name now, for both versions
    assert client.patch(f"/api/projects/{pid}/classes/kitty", json={"name": "feline"}).status_code == 200
    assert renamed(client, pid, 1) == {"cat": "feline"}
    assert renamed(client, pid, 2) == {"kitty": "feline"}


def test_swapping_two_class_names_maps_each_to_the_other(client):
    # a through tmp, b to a, tmp to b: a map by name alone would send both to one class
    catalog = client.app.state.catalog
    pid = client.post("/api/projects", json={"name": "swap", "modality": "text"}).json()["id"]
    for label in ("a", "b"):
        add(catalog, pid, label)
    seed(catalog, pid, ["a", "b"])
    for old, new in (("a", "tmp"), ("b", "a"), ("tmp", "b")):
        assert client.patch(f"/api/projects/{pid}/classes/{old}", json={"name": new}).status_code == 200
    assert renamed(client, pid, 1) == {"a": "b", "b": "a"}


@pytest.mark.parametrize(("old", "new", "error"), [("cat", "dog", ConflictError),  # onto a class
                                                     ("owl", "bird", NotFoundError)])  # no such class
def test_a_refused_rename_is_not_logged(tmp_path, old, new, error):
    # it did not happen, so it must not remap an older version's classes
    catalog = Catalog(tmp_path / "home")
    pid = catalog.create_project("pets", "text")["id"]
    for label in ("cat", "dog"):
        add(catalog, pid, label)
    with pytest.raises(error):
        catalog.rename_class(pid, old, new)
    catalog.rename_class(pid, "cat", " cat ")  # the same name once trimmed: nothing to log either
    assert catalog.class_renames(pid, since=0.0) == []


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_the_comparison_shows_a_renamed_class_as_one_row_with_its_old_name(tmp_path, page):
    home = tmp_path / "home"
    catalog = Catalog(home)
    pid = catalog.create_project("pets", "text")["id"]
    for label in ("cat", "dog", "owl"):
        add(catalog, pid, label)
    seed(catalog, pid, ["cat", "dog", "owl"])
    catalog.rename_class(pid, "cat", "kitty")
    catalog.delete_class(pid, "owl")
    add(catalog, pid, "emu")
    seed(catalog, pid, ["dog", "emu", "kitty"])
    catalog.close()
    with ServerProcess(home) as server:
        page.goto(f"{server.url}/#/p/{pid}/versions")
        page.wait_for_selector("[data-testid=compare] h3:text-is('v1 → v2')")
        page.screenshot(path=str(tmp_path / "compare.png"))
        rows = [r.split("\t") for r in page.inner_text("[data-testid=compare] tbody").split("\n")]
    f1 = {r[0]: r[1:3] for r in rows if r[0].startswith("F1")}
    # one row per class: the renamed one under its new name with the old beside it, a class
    # deleted since v1 and one added for v2 each on a row of their own
    assert list(f1) == ["F1 · kitty (was cat)", "F1 · dog", "F1 · owl", "F1 · emu"], rows
    assert all(v.endswith("%") for v in f1["F1 · kitty (was cat)"]), f1  # both halves filled
    assert f1["F1 · owl"][1] == "–" and f1["F1 · emu"][0] == "–", f1  # absent from that version
