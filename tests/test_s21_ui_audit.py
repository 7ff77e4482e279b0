"""What walking the web UI as a first-time user turned up (s21 audit, headless Chromium).

Each test states the behaviour a user should get; each failed (xfail, strict) against the UI the
audit walked, and passes since the fixes: a long class name that pushed dialog buttons off
screen, hid the per-class scores and widened the Test tab past a phone's width; views that went
stale after a job; a Versions tab that compared two versions while three were ticked; focus lost
after "Add class".
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from handful.server import Catalog
from server_utils import (
    HAS_CHROMIUM,
    NO_CHROMIUM,
    ServerProcess,
    color_png,
    cv_report,
    seed_version,
    upload_colors,
    wait_job,
)

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)

TINY = {"backbone": "test_tiny_image", "head": "logistic"}
# 98 characters with no space: a species or SKU name; the server takes up to 100
LONG = "Staphylococcus_aureus_methicillin_resistant_strain_from_the_hospital_ward_number_seventeen_isolate"
HTML = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture(scope="module")
def long_names(tmp_path_factory):
    """(server, project id): classes LONG, HTML and 'blue', 3 images each, trained (tiny backbone)."""
    home = tmp_path_factory.mktemp("long") / "home"
    home.mkdir()
    with ServerProcess(home) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        pid = api.post("/api/projects", json={"name": "layout"}).json()["id"]
        for label, color in ((LONG, "red"), (HTML, "green"), ("blue", "blue")):
            files = [("files", (f"{color}{i}.png", color_png(color, i), "image/png")) for i in range(3)]
            assert api.post(f"/api/projects/{pid}/examples", files=files, data={"label": label}).status_code == 201
        job = api.post(f"/api/projects/{pid}/jobs", json=TINY).json()
        assert wait_job(api, job["id"])["status"] == "succeeded"
        yield server, pid


def test_a_class_name_with_html_is_shown_as_text_and_never_run(long_names, page):
    server, pid = long_names
    for tab in ("data", "results"):
        page.goto(f"{server.url}/#/p/{pid}/{tab}")
        page.wait_for_selector(f"text={HTML}")
    assert page.evaluate("window.__pwned") is None  # the onerror handler never ran


def test_the_delete_class_dialog_keeps_its_buttons_on_screen_for_a_long_name(long_names, page):
    server, pid = long_names
    page.goto(f"{server.url}/#/p/{pid}/data")
    page.locator(f".class-card[data-class='{LONG}'] button[title='Delete class']").click()
    dialog = page.locator(".modal").bounding_box()
    button = page.locator(".modal button.danger").bounding_box()
    # the grid track grew to the unbreakable title: Delete sat at x = 1536..1627 in a 1280 px window
    assert button["x"] + button["width"] <= dialog["x"] + dialog["width"] + 0.5, (button, dialog)
    assert button["x"] + button["width"] <= 1280, button


def test_the_per_class_scores_stay_inside_their_card_for_a_long_class_name(long_names, page):
    server, pid = long_names
    page.goto(f"{server.url}/#/p/{pid}/results")
    table = page.locator("[data-testid=per-class]")
    table.wait_for()
    card = page.locator(".card:has([data-testid=per-class])").bounding_box()
    box = table.bounding_box()
    # `.table td:first-child { white-space: nowrap }`: the name's column pushed precision, recall
    # and F1 under "Worth a second look", where they cannot be read
    assert box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, (box, card)


def test_a_confusion_matrix_head_shows_the_start_of_a_long_class_name(long_names, page):
    server, pid = long_names
    page.goto(f"{server.url}/#/p/{pid}/results")
    head = page.locator(f".cm-head[title='{LONG}']")
    head.wait_for()
    # a centered flex box overflows on both sides: the head read "…t_strain_from_the…", no start
    offset = head.evaluate("""(el) => { const r = document.createRange(); r.setStart(el.firstChild, 0);
        r.setEnd(el.firstChild, 1); return r.getBoundingClientRect().left - el.getBoundingClientRect().left; }""")
    assert offset >= -0.5, f"the first letter starts {-offset:.0f} px left of its column"


def test_a_test_result_fits_a_phone_screen_with_a_long_class_name(long_names, browser, tmp_path):
    server, pid = long_names
    image = tmp_path / "query.png"
    image.write_bytes(color_png("red", 99))
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(f"{server.url}/#/p/{pid}/test")
        page.set_input_files("[data-testid=test-drop] input[type=file]", str(image))
        page.wait_for_selector("[data-testid=prediction]")
        # the "Correct class" select sized itself to the 98-character option: 903 px of page
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        add = page.locator("button:text-is('Add as example')").bounding_box()
        assert add["x"] + add["width"] <= 390, add
    finally:
        page.close()


@pytest.fixture(scope="module")
def three_versions(tmp_path_factory):
    """(server, project id): v1..v3 seeded; v1's metrics as a real run wrote them (6 texts,
    MLP chosen of 7): out-of-fold accuracy 66.7%, the leaderboard's 2x4-fold 75.0%, adjusted 70.8%."""
    home = tmp_path_factory.mktemp("versions") / "home"
    catalog = Catalog(home)
    pid = catalog.create_project("versions", "text")["id"]
    y_true = ["a", "a", "a", "b", "b", "b"]
    for y_pred, metrics in ((["a", "a", "b", "b", "b", "a"], {"cv_accuracy": 0.75, "cv_accuracy_adjusted": 0.7083}),
                            (y_true, {}), (y_true, {})):
        report = cv_report(y_true, y_pred, ["a", "b"])
        seed_version(catalog, pid, report, {"accuracy": report["evaluation"]["accuracy"], **metrics}, ["a", "b"], 6)
    catalog.close()
    with ServerProcess(home) as server:
        yield server, pid


def test_ticking_a_third_version_compares_it(three_versions, page):
    server, pid = three_versions
    page.goto(f"{server.url}/#/p/{pid}/versions")
    page.wait_for_selector("[data-testid=compare]")
    page.locator("tr:has(td b:text-is('v1')) input[type=checkbox]").check()
    page.wait_for_timeout(500)
    ticked = page.locator("tbody input[type=checkbox]:checked").count()
    heading = page.inner_text("[data-testid=compare] h3")
    # v3 and v2 are ticked at first; ticking v1 changed nothing shown ("v2 → v3", 3 boxes ticked)
    assert "v1" in heading and ticked == 2, (heading, ticked)


def test_the_choice_adjusted_accuracy_is_not_above_the_accuracy_it_adjusts(three_versions, page):
    server, pid = three_versions
    page.goto(f"{server.url}/#/p/{pid}/versions")
    cell = page.locator("tr:has(td b:text-is('v1')) [data-testid=version-accuracy]")
    cell.wait_for()
    shown, adjusted = (float(x) for x in re.findall(r"([\d.]+)%", cell.inner_text())[:2])
    # the note says the choice "flatters" the score, yet "66.7% CV / ≈ 70.8% allowing for the
    # choice": the adjustment is taken off the leaderboard's 75.0%, not the accuracy shown
    assert adjusted <= shown, cell.inner_text()


@pytest.fixture
def server(ui_server):
    return ui_server


def colors_project(server: ServerProcess) -> int:
    with httpx.Client(base_url=server.url, timeout=30) as api:
        pid = api.post("/api/projects", json={"name": "colors"}).json()["id"]
        upload_colors(api, pid, n=3, colors=("red", "green"))
    return pid


def still_running(route) -> None:
    """The real job, reported as still running: it must not finish before the test looks."""
    job = route.fetch().json()
    route.fulfill(json={**job, "status": "running", "stage": "embedding", "progress": 0.3, "version": None})


def test_the_training_history_lists_the_job_just_started(server, page):
    pid = colors_project(server)
    page.route("**/api/projects/*/jobs", lambda route: route.continue_(post_data=json.dumps(TINY))
               if route.request.method == "POST" else route.continue_())
    page.route("**/api/jobs/*", still_running)
    page.goto(f"{server.url}/#/p/{pid}/train")
    page.click("[data-testid=start-training]")
    page.wait_for_selector(".progress-card.running")
    history = page.inner_text(".card:has(h3:text-is('History'))")
    assert "No training yet" not in history and "running" in history, history


def test_the_results_tab_shows_the_model_a_watched_job_just_trained(server, page):
    pid = colors_project(server)
    with httpx.Client(base_url=server.url, timeout=30) as api:
        job_id = api.post(f"/api/projects/{pid}/jobs", json=TINY).json()["id"]
    held = {"on": True}

    def project(route):  # the project as the page sees it while the job runs
        body = route.fetch().json()
        route.fulfill(json={**body, "active_job": job_id, "current_version": None} if held["on"] else body)

    page.route(f"**/api/projects/{pid}", project)
    page.route(f"**/api/projects/{pid}/versions", lambda r: r.fulfill(json=[]) if held["on"] else r.continue_())
    page.route("**/api/jobs/*", lambda r: still_running(r) if held["on"] else r.continue_())
    page.goto(f"{server.url}/#/p/{pid}/results")
    page.wait_for_selector("text=No model yet")
    page.wait_for_selector(".job-banner:not([hidden])")
    held["on"] = False  # the job ends: the next poll sees it succeeded
    page.wait_for_selector(".toast:has-text('Model v1 trained')")
    assert page.inner_text("[data-testid=current-version]") == "model v1"  # the header caught up
    # the tab under it still said "No model yet · Go to training"
    page.wait_for_selector("[data-testid=accuracy]", timeout=5000)


def test_enter_adds_a_class_and_leaves_the_cursor_for_the_next(server, page):
    with httpx.Client(base_url=server.url, timeout=30) as api:
        pid = api.post("/api/projects", json={"name": "keys"}).json()["id"]
    page.goto(f"{server.url}/#/p/{pid}/data")
    page.focus("[data-testid=class-name]")
    page.keyboard.type("ants")
    page.keyboard.press("Enter")
    page.wait_for_selector(".class-card[data-class=ants]")
    page.keyboard.type("bees")  # the redraw replaced the input: focus went to <body>
    page.keyboard.press("Enter")
    page.wait_for_selector(".class-card[data-class=bees]", timeout=3000)
