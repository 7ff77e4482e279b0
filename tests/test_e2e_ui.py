"""End to end in a real headless Chromium: create a project, upload, train, test an image.

Drives the web UI served by a real `handful serve` subprocess (random port on 127.0.0.1)
with Playwright, using the system Chromium at /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import base64
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from server_utils import (
    ARGS,
    CHROMIUM,
    COLORS,
    HAS_CHROMIUM,
    NO_CHROMIUM,
    ServerProcess,
    color_png,
    trained_project,
    upload_colors,
)

pytestmark = [
    pytest.mark.slow,  # trains with the real efficientnet_lite0 weights (offline)
    pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM),
]

DROP_FILE_JS = """([selector, name, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const target = document.querySelector(selector);
  target.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
  target.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""


def green_pixels(png: Path) -> int:
    """Pixels close to the test's green: the dropped image shown in the result card."""
    rgb = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    return int((np.abs(rgb - np.array(COLORS["green"])).sum(axis=2) < 90).sum())


def test_create_upload_train_and_test_in_the_browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    images = tmp_path / "images"
    for color in ("red", "green", "blue"):
        (images / color).mkdir(parents=True)
        for i in range(5):
            (images / color / f"{color}_{i}.png").write_bytes(color_png(color, 10 * len(color) + i, (96, 80)))
    home = tmp_path / "home"
    home.mkdir()
    errors: list[str] = []
    with ServerProcess(home) as server:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS,
                viewport={"width": 1280, "height": 860})
            page = browser.new_page()
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(server.url)

            page.click("[data-testid=new-project]")
            page.fill("input[name=project-name]", "Colors")
            page.click(".modal .primary")
            for color in ("red", "green", "blue"):
                page.fill("[data-testid=class-name]", color)
                page.click("[data-testid=add-class]")
                files = sorted(str(p) for p in (images / color).iterdir())
                page.set_input_files(f"[data-testid=drop-{color}] input[type=file]", files)
                page.wait_for_selector(f"[data-testid=drop-{color}] .thumb >> nth=4")
            assert page.inner_text("[data-tab=data] .count") == "15"

            page.click("[data-tab=train]")
            page.select_option("select[name=head]", "logistic")
            page.click("[data-testid=start-training]")
            page.wait_for_selector(".progress-card.succeeded", timeout=180_000)
            assert page.inner_text("[data-testid=current-version]") == "model v1"

            page.click("[data-tab=results]")
            api = httpx.Client(base_url=server.url, timeout=30)
            metrics = api.get("/api/projects/1/versions/1").json()["metrics"]
            shown = page.inner_text("[data-testid=accuracy] .tile-value")
            assert shown == f"{100 * metrics['accuracy']:.1f}%"  # the UI shows what the API says
            assert page.locator(".cm-cell").count() == 9

            page.click("[data-tab=test]")
            page.wait_for_selector("[data-testid=test-drop]")
            query = color_png("green", 4242, (96, 80))
            encoded = base64.b64encode(query).decode()
            page.evaluate(DROP_FILE_JS, ["[data-testid=test-drop]", "query.png", encoded])
            page.wait_for_selector("[data-testid=prediction]")
            expected = api.post("/api/projects/1/predict", files=[("files", ("q.png", query, "image/png"))],
                                params={"top_k": 3}).json()["predictions"][0]
            assert page.inner_text("[data-testid=prediction]") == expected["label"]
            assert page.locator(".result-card .prob").count() == 3
            best = page.inner_text(".result-card .prob.best .prob-value")
            assert best == f"{100 * expected['top'][0]['probability']:.1f}%"
            shot = tmp_path / "test-screen.png"
            page.screenshot(path=str(shot), animations="disabled")  # the card fades in over .25 s: under
            # load, a shot taken mid-way had it half transparent

            page.click(".add-example button")  # the tested image becomes a green example
            page.wait_for_selector(".add-example button[disabled]")
            assert page.inner_text("[data-tab=data] .count") == "16"
            browser.close()
    assert errors == []
    # The screenshot shows the dropped image (a 190x190 green square) beside its probabilities.
    assert green_pixels(shot) > 20_000


@pytest.mark.parametrize("modality", ["image", "text"])
def test_an_example_moves_to_another_class_from_the_keyboard(tmp_path, modality):
    # Dragging is mouse-only: every example has a move button that Tab reaches and Enter uses.
    sync_api = pytest.importorskip("playwright.sync_api")
    home = tmp_path / "home"
    home.mkdir()
    errors: list[str] = []
    with ServerProcess(home) as server:
        api = httpx.Client(base_url=server.url, timeout=30)
        pid = api.post("/api/projects", json={"name": "Move", "modality": modality}).json()["id"]
        if modality == "image":
            upload_colors(api, pid, n=2, colors=("red", "green"))
        else:
            for label in ("red", "green"):
                api.post(f"/api/projects/{pid}/examples/texts",
                         json={"texts": [f"a {label} thing", f"another {label} thing"], "label": label})
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(f"{server.url}/#/p/{pid}/data")
            page.wait_for_selector("[data-class=red] .move")
            page.focus("[data-class=red] .move >> nth=0")
            page.keyboard.press("Enter")
            page.wait_for_selector(".modal select")
            assert page.evaluate("document.activeElement.tagName") == "SELECT"
            page.keyboard.press("Enter")  # the only other class, green, is chosen
            page.wait_for_selector(".modal", state="detached")
            page.wait_for_function("document.querySelector('[data-class=red] .count').textContent === '1'")
            assert page.inner_text("[data-class=green] .count") == "3"
            page.click("[data-class=green] .move >> nth=0")
            page.wait_for_selector(".modal select")
            page.evaluate("location.hash = '#/'")  # Back or a link: the dialog closes with its page
            page.wait_for_selector(".modal", state="detached")
            browser.close()
        labels = [e["label"] for e in api.get(f"/api/projects/{pid}/examples").json()["items"]]
        assert sorted(labels) == ["green", "green", "green", "red"]
    assert errors == []


def _browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)


@contextmanager
def wide_page(sync_api):
    """A 1280x860 page of a fresh headless Chromium."""
    with sync_api.sync_playwright() as pw:
        browser = _browser(pw)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 860})
        finally:
            browser.close()


def test_the_token_dialog_opens_once_and_says_when_a_token_is_wrong(tmp_path):
    # every request that got a 401 (the health check every 5 s too) opened another dialog: after
    # the right token, the stale ones still covered the page; a wrong token only reopened it
    sync_api = pytest.importorskip("playwright.sync_api")
    home = tmp_path / "home"
    home.mkdir()
    errors: list[str] = []
    with ServerProcess(home, args=("--token", "right-token-123")) as server:
        with sync_api.sync_playwright() as pw:
            browser = _browser(pw)
            page = browser.new_page()
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(server.url)
            page.wait_for_selector(".modal input[type=password]")
            page.evaluate("import('/static/js/api.js').then((m) => m.get('/health')).catch(() => null)")
            page.wait_for_timeout(300)
            assert page.locator(".modal").count() == 1
            page.keyboard.type("wrong-token")
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('.modal')?.textContent.includes('not accepted')")
            assert page.locator(".modal").count() == 1
            page.fill(".modal input[type=password]", "right-token-123")
            page.keyboard.press("Enter")
            page.wait_for_selector("[data-testid=new-project]")
            page.wait_for_timeout(300)
            assert page.locator(".modal").count() == 0
            browser.close()
    assert errors == []


def test_an_empty_project_name_is_asked_for_not_sent(tmp_path):
    # the server's 422 was shown as "Invalid request: name: String should have at least 1 character."
    sync_api = pytest.importorskip("playwright.sync_api")
    home = tmp_path / "home"
    home.mkdir()
    with ServerProcess(home) as server:
        with sync_api.sync_playwright() as pw:
            browser = _browser(pw)
            page = browser.new_page()
            page.goto(server.url)
            page.click("[data-testid=new-project]")
            page.fill("input[name=project-name]", "   ")
            page.keyboard.press("Enter")
            page.wait_for_selector(".toast")
            assert page.inner_text(".toast") == "Give the project a name."
            assert page.evaluate("document.activeElement.name") == "project-name"
            assert httpx.get(f"{server.url}/api/projects").json() == []
            browser.close()


def test_long_names_wrap_and_keep_every_button_in_reach(tmp_path):
    # a 100-character project or class name (the API's limit) made the page scroll sideways and
    # pushed the class card's rename and delete buttons out of the card
    sync_api = pytest.importorskip("playwright.sync_api")
    long_class = "L" * 100
    with trained_project(tmp_path, "N" * 100, {long_class: "red", "green": "green"},
                         {"backbone": "test_tiny_image", "head": "logistic"}) as (server, pid), \
            wide_page(sync_api) as page:
        for tab in ("data", "results", "versions"):
            page.goto(f"{server.url}/#/p/{pid}/{tab}")
            page.wait_for_selector(f"[data-tab={tab}].active")
            page.wait_for_selector(".class-card, .tiles, table")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280, tab
        page.goto(f"{server.url}/#/p/{pid}/data")
        card = page.locator(f"[data-class={long_class}]")
        card.wait_for()
        box = card.bounding_box()
        for title in ("Rename class", "Delete class"):
            button = card.locator(f"button[title='{title}']").bounding_box()
            assert box["x"] <= button["x"] and button["x"] + button["width"] <= box["x"] + box["width"]


def test_a_fine_tuned_version_says_why_it_has_no_cross_validated_scores(tmp_path):
    # its Results tab asked to "Add at least 2 examples per class" to a project with 3 per class
    sync_api = pytest.importorskip("playwright.sync_api")
    with trained_project(tmp_path, "Tuned", {"red": "red", "green": "green"}, {"finetune": True},
                         timeout=300) as (server, pid), wide_page(sync_api) as page:
        page.goto(f"{server.url}/#/p/{pid}/results")
        page.wait_for_selector("[data-testid=accuracy]")
        text = page.inner_text(".tab-content")
        assert "Add at least 2 examples per class" not in text
        assert "no cross-validated confusion matrix" in text
