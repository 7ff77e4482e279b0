"""What the web UI tells the user: undefined scores, which accuracy a version has, unknown
project ids and pages, failed deletes and loads, a project deleted elsewhere, skipped files,
and a dismissed token dialog (headless Chromium).

Pages that only render a report use a catalog seeded here (a version row and its report.json,
with no model behind it): a fine-tuned model or a class that cross-validation never predicted
would take minutes of real training, or luck, to get.
"""

from __future__ import annotations

import httpx
import pytest

from handful.server import Catalog, extras
from server_utils import (
    HAS_CHROMIUM,
    NO_CHROMIUM,
    ServerProcess,
    color_png,
    cv_report,
    seed_version,
    trained_project,
)

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """(server, project ids): 'rare' has a version whose CV never predicted class 'c';
    'tuned' has a cross-validated v1 and a fine-tuned v2 scored on a validation split."""
    home = tmp_path_factory.mktemp("seeded") / "home"
    catalog = Catalog(home)
    classes = ["a", "b", "c"]
    rare = catalog.create_project("rare", "image")["id"]
    # 'c' is never predicted: precision undefined; 'a' and 'b' are defined (a 0% among them)
    report = cv_report(["a", "a", "a", "b", "b", "b", "c", "c"],
                       ["b", "b", "b", "b", "b", "a", "a", "b"], classes)
    seed_version(catalog, rare, report, {"accuracy": report["evaluation"]["accuracy"]}, classes, 8)
    tuned = catalog.create_project("tuned", "image")["id"]
    report = cv_report(["a", "a", "b", "b", "c", "c"], ["a", "a", "b", "b", "c", "b"], classes)
    seed_version(catalog, tuned, report, {"accuracy": report["evaluation"]["accuracy"]}, classes, 6)
    seed_version(catalog, tuned, {"evaluation": None, "learning_curve": None, "leaderboard": None,
                                  "finetune": {"n_train": 9, "n_val": 3}},
                 {"val_accuracy": 2 / 3}, classes, 12)
    catalog.close()
    with ServerProcess(home) as server:
        yield server, {"rare": rare, "tuned": tuned}


def test_a_class_never_predicted_shows_an_undefined_precision_not_zero(seeded, page):
    # precision showed 0% where the CLI shows '-': the report keeps 0.0 for both cases, the
    # confusion matrix's all-zero column tells a class that was never predicted
    server, ids = seeded
    page.goto(f"{server.url}/#/p/{ids['rare']}/results")
    rows = page.locator(".card:has(h3:text-is('Per class')) tbody tr")
    rows.nth(2).wait_for()
    cells = rows.nth(2).locator("td")  # classes a, b, c
    assert [cells.nth(k).inner_text() for k in range(5)] == ["c", "–", "0%", "–", "2"]
    assert "never predicted" in cells.nth(1).get_attribute("title")
    assert "never predicted" in page.inner_text("[data-testid=undefined-legend]")
    # 'a' was predicted (wrongly), so its 0% precision is a real zero and stays one
    assert rows.nth(0).locator("td").nth(1).inner_text() == "0%"


def test_the_versions_table_shows_a_fine_tuned_versions_validation_accuracy_as_such(seeded, page):
    # the fine-tuned version showed '–' although its record has val_accuracy
    server, ids = seeded
    page.goto(f"{server.url}/#/p/{ids['tuned']}/versions")
    page.wait_for_selector("[data-testid=compare]")
    accuracy = page.locator(".card:has(h3:text-is('Versions')) tbody td:nth-child(3)")  # newest first
    assert accuracy.all_inner_texts() == ["66.7% validation", "83.3% CV"]
    assert "validation split" in accuracy.nth(0).get_attribute("title")
    compare = page.inner_text("[data-testid=compare]")
    assert "Validation accuracy\t–\t66.7%" in compare and "Accuracy (CV)\t83.3%\t–" in compare


@pytest.mark.parametrize("project_id", ["99999999999999999999999", "9007199254740993", "4242"])
def test_an_unknown_project_id_of_any_size_says_the_project_does_not_exist(seeded, page, project_id):
    # an id past 2^53 was sent as '1e+23' and its 422 shown as "Something went wrong"
    server, _ = seeded
    page.goto(f"{server.url}/#/p/{project_id}/data")
    page.wait_for_selector("#app .empty h2")
    assert page.inner_text("#app .empty h2") == "This project does not exist"
    page.click("text=Back to projects")
    page.wait_for_selector("[data-project]")


def test_failed_deletes_are_shown_not_swallowed(tmp_path, page):
    # the thumbnail's × and "Delete project" did nothing visible when the request failed
    home = tmp_path / "home"
    home.mkdir()
    with ServerProcess(home) as server:
        api = httpx.Client(base_url=f"{server.url}/api", timeout=30)
        pid = api.post("/projects", json={"name": "deletes"}).json()["id"]
        for color in ("red", "green"):
            files = [("files", (f"{color}{i}.png", color_png(color, i), "image/png")) for i in range(2)]
            api.post(f"/projects/{pid}/examples", files=files, data={"label": color})
        page.goto(f"{server.url}/#/p/{pid}/data")
        page.wait_for_selector("[data-class=red] .thumb >> nth=1")
        first = api.get(f"/projects/{pid}/examples", params={"label": "red"}).json()["items"][0]
        api.delete(f"/projects/{pid}/examples/{first['id']}")  # deleted elsewhere meanwhile
        page.click(f"[data-class=red] .thumb:has(img[alt='{first['name']}']) .remove", force=True)
        page.wait_for_selector(".toast.error")
        assert "does not exist" in page.inner_text(".toast.error")
        page.wait_for_function("document.querySelector('[data-class=red] .count').textContent === '1'")
        page.click("text=Delete project")
        page.wait_for_selector(".modal .danger")
        server.stop()
        page.click(".modal .danger")
        page.wait_for_selector(".toast.error:has-text('cannot be reached')")
        assert page.locator(".modal").count() == 1  # still open: Cancel, or Delete again later


@pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")
def test_suggestions_list_the_files_they_skipped(tmp_path, page):
    # the API named unreadable files in 'skipped'; the Test tab dropped them silently
    with trained_project(tmp_path, "Suggest", {"red": "red", "green": "green"},
                         {"backbone": "test_tiny_image", "head": "logistic"}) as (server, pid):
        files = tmp_path / "unlabeled"
        files.mkdir()
        (files / "maybe.png").write_bytes(color_png("red", 77))
        (files / "broken.png").write_bytes(b"not an image at all")
        page.goto(f"{server.url}/#/p/{pid}/test")
        page.set_input_files("[data-testid=suggest-drop] input[type=file]",
                             [str(files / "maybe.png"), str(files / "broken.png")])
        page.wait_for_selector("[data-testid=suggest-skipped]")
        assert page.locator(".suggestion").count() == 1
        skipped = page.inner_text("[data-testid=suggest-skipped]")
        assert "1 file skipped" in skipped and "broken.png: " in skipped


def test_escape_on_the_token_dialog_leaves_a_page_that_can_reopen_it(tmp_path, page):
    # Escape left a blank page until the health check 5 s later brought the dialog back
    home = tmp_path / "home"
    home.mkdir()
    with ServerProcess(home, args=("--token", "right-token-123")) as server:
        page.goto(server.url)
        page.wait_for_selector(".modal input[type=password]")
        page.keyboard.press("Escape")
        page.wait_for_selector(".modal", state="detached")
        assert "needs a token" in page.inner_text("[data-testid=locked]")
        assert page.evaluate("document.activeElement.dataset.testid") == "enter-token"
        page.evaluate("import('/static/js/api.js').then((m) => m.get('/health')).catch(() => null)")
        page.wait_for_timeout(300)
        assert page.locator(".modal").count() == 0  # a 401 in the background does not pop it up again
        page.keyboard.press("Enter")  # the focused "Enter token" button
        page.fill(".modal input[type=password]", "right-token-123")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-testid=new-project]")


@pytest.mark.parametrize("route", ["#/nonsense", "#/projects/5", "#/p/abc", "#/p/1x/data", "#/p//data"])
def test_an_unknown_page_says_page_not_found_and_links_back_to_the_projects(seeded, page, route):
    # any hash the router did not know showed the home page, as if the link had worked
    server, _ = seeded
    page.goto(f"{server.url}/{route}")
    page.wait_for_selector("#app .empty h2")
    assert page.inner_text("#app .empty h2") == "Page not found"
    assert route[1:] in page.inner_text("#app .empty")  # says which address it did not know
    page.click("text=Back to projects")
    page.wait_for_selector("[data-project]")


def test_deleting_a_project_deleted_elsewhere_says_it_no_longer_exists(seeded, page):
    # the toast showed the API's "Project 3 does not exist. List projects with GET /api/projects."
    server, _ = seeded
    api = httpx.Client(base_url=f"{server.url}/api", timeout=30)
    pid = api.post("/projects", json={"name": "gone"}).json()["id"]
    page.goto(f"{server.url}/#/p/{pid}/data")
    page.wait_for_selector("text=Delete project")
    assert api.delete(f"/projects/{pid}").status_code == 204  # in another tab, or by a script
    page.click("text=Delete project")
    page.click(".modal .danger")
    page.wait_for_selector(".toast")
    shown = page.inner_text(".toast")
    assert "“gone” no longer exists" in shown and "/api" not in shown
    page.wait_for_selector("[data-project]")  # back on the list, the dialog closed with its page
    assert page.locator(".modal").count() == 0
    assert "GET /api/projects" in api.delete(f"/projects/{pid}").json()["detail"]  # API users' wording


def test_showing_more_examples_says_when_it_failed(seeded, page):
    # the "show N more" button's request had no error handling: a failure did nothing visible
    server, _ = seeded
    api = httpx.Client(base_url=f"{server.url}/api", timeout=30)
    pid = api.post("/projects", json={"name": "more", "modality": "text"}).json()["id"]
    api.post(f"/projects/{pid}/examples/texts", json={"texts": [f"text {i}" for i in range(7)], "label": "a"})
    page.goto(f"{server.url}/#/p/{pid}/data")
    more = page.locator("[data-class=a] button:has-text('show 1 more')")
    more.wait_for()
    page.route("**/api/projects/*/examples?*offset=*", lambda route: route.abort())
    more.click()
    page.wait_for_selector(".toast.error")
    assert "cannot be reached" in page.inner_text(".toast.error")
    assert more.is_visible()  # still there to try again


def test_comparing_versions_says_when_a_version_could_not_be_loaded(seeded, page):
    # ticking a version whose request failed left the old comparison, with no word of the failure
    server, ids = seeded
    page.goto(f"{server.url}/#/p/{ids['tuned']}/versions")
    page.wait_for_selector("[data-testid=compare]")
    page.route("**/api/projects/*/versions/1", lambda route: route.abort())
    boxes = page.locator(".card:has(h3:text-is('Versions')) tbody input[type=checkbox]")
    boxes.nth(1).uncheck()
    boxes.nth(1).check()
    page.wait_for_selector(".toast.error")
    assert "cannot be reached" in page.inner_text(".toast.error")
    assert page.locator("[data-testid=compare]").count() == 0  # no stale comparison of other versions
