"""End to end in a real headless Chromium: create a project, upload, train, test an image.

Drives the web UI served by a real `handful serve` subprocess (random port on 127.0.0.1)
with Playwright, using the system Chromium at /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from server_utils import COLORS, ServerProcess, color_png, upload_colors

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,  # trains with the real efficientnet_lite0 weights (offline)
    pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
                       reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
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
    server = ServerProcess(home)
    errors: list[str] = []
    try:
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
            page.screenshot(path=str(shot))

            page.click(".add-example button")  # the tested image becomes a green example
            page.wait_for_selector(".add-example button[disabled]")
            assert page.inner_text("[data-tab=data] .count") == "16"
            browser.close()
    finally:
        server.stop()
    assert errors == []
    # The screenshot shows the dropped image (a 190x190 green square) beside its probabilities.
    assert green_pixels(shot) > 20_000


@pytest.mark.parametrize("modality", ["image", "text"])
def test_an_example_moves_to_another_class_from_the_keyboard(tmp_path, modality):
    # Dragging is mouse-only: every example has a move button that Tab reaches and Enter uses.
    sync_api = pytest.importorskip("playwright.sync_api")
    home = tmp_path / "home"
    home.mkdir()
    server = ServerProcess(home)
    errors: list[str] = []
    try:
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
    finally:
        server.stop()
    assert errors == []
