"""What a new user met going through the web UI's flows (headless Chromium): a text project's
Classify button that showed no sign of working, and links to a model version's results."""

from __future__ import annotations

import httpx
import pytest

from handful.server import Catalog
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, cv_report, seed_version, wait_job

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    """(server, project id): a text project trained on two topics with the tiny text backbone."""
    home = tmp_path_factory.mktemp("texts") / "home"
    home.mkdir()
    with ServerProcess(home) as server:
        api = httpx.Client(base_url=server.url, timeout=30)
        pid = api.post("/api/projects", json={"name": "topics", "modality": "text"}).json()["id"]
        for label, words in (("sports", "goal match team"), ("food", "soup bread salt")):
            api.post(f"/api/projects/{pid}/examples/texts",
                     json={"texts": [f"{w} {i}" for i in range(3) for w in words.split()], "label": label})
        job = api.post(f"/api/projects/{pid}/jobs", json={"backbone": "test_tiny_text", "head": "logistic"}).json()
        assert wait_job(api, job["id"])["status"] == "succeeded"
        yield server, pid


def test_classifying_texts_shows_it_is_working_until_the_answer_comes(texts, page):
    # the first request loads the model (seconds): Classify showed nothing meanwhile, and could
    # be clicked again and again
    server, pid = texts
    held = []
    page.route("**/api/projects/*/predict/texts", lambda route: held.append(route))
    page.goto(f"{server.url}/#/p/{pid}/test")
    page.fill("[data-testid=test-text]", "a goal in the match\nsalt in the soup")
    page.click("[data-testid=classify]")
    page.wait_for_selector(".test-results .spinner")
    assert "Classifying 2 texts" in page.inner_text(".test-results")
    assert page.is_disabled("[data-testid=classify]")
    held[0].continue_()
    page.wait_for_selector("[data-testid=prediction] >> nth=1")
    assert page.locator(".test-results .spinner").count() == 0
    assert page.is_enabled("[data-testid=classify]")


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """(server, project id): v1 and v2 seeded (records with a learning curve, no models), v1
    made live again."""
    home = tmp_path_factory.mktemp("versions") / "home"
    catalog = Catalog(home)
    classes = ["a", "b"]
    pid = catalog.create_project("rollback", "image")["id"]
    for n_wrong in (0, 1):
        y_pred = ["a", "a", "b", "b"] if not n_wrong else ["a", "b", "b", "b"]
        report = cv_report(["a", "a", "b", "b"], y_pred, classes)
        report["learning_curve"] = {"sizes": [1, 2], "accuracy": [0.6, 0.75], "std": [0.05, 0.05],
                                    "advice": "Add more examples."}
        seed_version(catalog, pid, report, {"accuracy": report["evaluation"]["accuracy"]}, classes, 4)
    catalog.set_current_version(pid, 1)
    catalog.close()
    with ServerProcess(home) as server:
        yield server, pid


def shown_version(page) -> str:
    page.wait_for_selector(".results-head select")
    return page.eval_on_selector(".results-head select", "(s) => s.selectedOptions[0].textContent")


def test_a_version_in_the_training_history_opens_that_versions_results(two_versions, page):
    # the link went to the Results tab of the live version: after a rollback to v1, "v2" showed v1
    server, pid = two_versions
    page.goto(f"{server.url}/#/p/{pid}/train")
    page.click(".card:has(h3:text-is('History')) a:text-is('v2')")
    assert shown_version(page) == "v2"
    assert page.inner_text("[data-testid=accuracy] .tile-value") == "75.0%"  # v2's, not v1's 100%
    page.select_option(".results-head select", "1")
    page.wait_for_function("document.querySelector('[data-testid=accuracy] .tile-value').textContent === '100.0%'")
    page.reload()  # the address says which version is shown
    assert shown_version(page) == "v1 (current)"


def test_a_link_to_a_version_that_does_not_exist_shows_the_live_one_and_says_so(two_versions, page):
    server, pid = two_versions
    page.goto(f"{server.url}/#/p/{pid}/results/9")
    assert shown_version(page) == "v1 (current)"
    assert "no model v9" in page.inner_text(".toast")


def test_a_new_class_whose_upload_was_all_skipped_stays_for_another_try(tmp_path, page):
    # the class card vanished with the upload ("Add your classes"), its name to be typed again
    home = tmp_path / "home"
    home.mkdir()
    with ServerProcess(home) as server:
        pid = httpx.post(f"{server.url}/api/projects", json={"name": "fresh"}).json()["id"]
        (tmp_path / "notes.jpg").write_text("not an image")
        page.goto(f"{server.url}/#/p/{pid}/data")
        page.fill("[data-testid=class-name]", "ants")
        page.click("[data-testid=add-class]")
        page.set_input_files("[data-testid=drop-ants] input[type=file]", str(tmp_path / "notes.jpg"))
        page.wait_for_selector(".toast.warn")
        assert "notes.jpg: not an image" in page.inner_text(".toast.warn")
        page.wait_for_load_state("networkidle")  # the project reloaded, the tab drawn again
        assert page.locator("[data-class=ants] .drop-hint").is_visible()  # still there, empty
        page.set_input_files("[data-testid=drop-ants] input[type=file]", str(tmp_path / "notes.jpg"))
        page.wait_for_selector(".toast.warn >> nth=1")  # the card still takes files


def test_the_learning_curves_gridlines_fall_on_whole_tens(two_versions, page):
    # from a lowest point of 55% - 5% the lines were at 50, 62.5, 75, 87.5 and 100%, labeled
    # "62%" and "88%"
    server, pid = two_versions
    page.goto(f"{server.url}/#/p/{pid}/results")
    page.wait_for_selector("svg.chart")
    labels = page.locator("svg.chart text.axis[text-anchor=end]").all_text_contents()
    assert labels == ["50%", "60%", "70%", "80%", "90%", "100%"]
