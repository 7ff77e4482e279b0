"""The web UI's watch on a training job when its polls fail (headless Chromium).

A project deleted elsewhere (its job goes with it: 404) or a server that stopped answering
made `watchJob` poll every 500 ms until the page was left, showing nothing. The job's polls are
intercepted by Playwright, so the real job (tiny test backbone) can neither finish first nor
need a server that is really down.
"""

from __future__ import annotations

import json

import httpx
import pytest

from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, upload_colors

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
TINY = {"backbone": "test_tiny_image", "head": "logistic"}


@pytest.fixture
def server(ui_server):
    return ui_server


def new_project(server: ServerProcess) -> tuple[httpx.Client, int]:
    api = httpx.Client(base_url=server.url, timeout=30)
    pid = api.post("/api/projects", json={"name": "Watched"}).json()["id"]
    upload_colors(api, pid, n=2, colors=("red", "green"))
    return api, pid


def start_from_the_train_tab(page, server: ServerProcess, pid: int) -> None:
    """Click "Train model"; the job is queued with the tiny test backbone (the UI lists only real ones)."""
    page.route("**/api/projects/*/jobs", lambda route: route.continue_(post_data=json.dumps(TINY))
               if route.request.method == "POST" else route.continue_())
    page.goto(f"{server.url}/#/p/{pid}/train")
    page.click("[data-testid=start-training]")


def still_running(route) -> None:
    """The real job, reported as still running: it must not finish before the test is ready."""
    job = route.fetch().json()
    route.fulfill(json={**job, "status": "running", "stage": "embedding", "progress": 0.3, "version": None})


def test_a_job_whose_project_was_deleted_elsewhere_says_so_and_stops_polling(server, page):
    api, pid = new_project(server)
    deleted = False
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/api/jobs/" in r.url else None)
    page.route("**/api/jobs/*", lambda route: route.continue_() if deleted else still_running(route))
    start_from_the_train_tab(page, server, pid)
    page.wait_for_selector(".progress-card.running")
    assert api.delete(f"/api/projects/{pid}").status_code == 204  # in another tab, or by a script
    deleted = True
    page.wait_for_selector(".progress-card.lost")
    card = page.inner_text(".progress-card")
    assert "“Watched” no longer exists: it was deleted elsewhere" in card
    assert "Back to projects" in card and "%" not in card  # no progress it does not know
    assert "no longer exists" in page.inner_text(".toast.error")
    n_polls = len(polls)
    page.wait_for_timeout(1500)  # three poll intervals
    assert len(polls) == n_polls  # it stopped
    page.click(".progress-card >> text=Back to projects")
    page.wait_for_selector("[data-testid=new-project]")


def test_an_unreachable_server_is_retried_then_reported_and_checked_again_on_request(server, page):
    _, pid = new_project(server)
    down = True
    failed: list[str] = []

    def poll(route):
        if down:
            failed.append(route.request.url)
            return route.abort()  # as when the server is stopped: fetch fails
        route.continue_()

    page.route("**/api/jobs/*", poll)
    start_from_the_train_tab(page, server, pid)
    page.wait_for_selector(".progress-card.lost")
    assert "cannot be reached" in page.inner_text(".progress-card")
    assert "cannot be reached" in page.inner_text(".toast.error")
    assert len(failed) == 5  # the first failure and 4 retries, then it stops
    page.wait_for_timeout(1500)
    assert len(failed) == 5
    down = False
    page.click(".progress-card >> text=Check again")
    page.wait_for_selector(".progress-card.succeeded", timeout=60_000)
    assert page.inner_text("[data-testid=current-version]") == "model v1"


def test_a_poll_that_fails_once_is_retried_without_a_word(server, page):
    _, pid = new_project(server)
    n_failed = 0

    def poll(route):
        nonlocal n_failed
        if n_failed < 2:
            n_failed += 1
            return route.abort()
        route.continue_()

    page.route("**/api/jobs/*", poll)
    start_from_the_train_tab(page, server, pid)
    page.wait_for_selector(".progress-card.succeeded", timeout=60_000)
    assert n_failed == 2
    assert page.locator(".toast.error").count() == 0


def test_other_tabs_show_why_the_training_banner_stopped(server, page):
    # the banner of the Data tab watches the project's active job too
    api, pid = new_project(server)
    job = api.post(f"/api/projects/{pid}/jobs", json=TINY).json()

    def project(route):
        body = route.fetch().json()
        route.fulfill(json={**body, "active_job": job["id"]})  # still training, as the page last saw

    page.route(f"**/api/projects/{pid}", project)
    page.route("**/api/jobs/*", lambda route: route.abort())
    page.goto(f"{server.url}/#/p/{pid}/data")
    page.wait_for_selector(".job-banner.lost")
    assert "cannot be reached" in page.inner_text("[data-testid=job-lost]")
    assert page.get_attribute(".job-banner", "role") == "alert"
