"""Screenshots of the web UI's main screens, on real data, for docs/screenshots/.

Starts `handful serve` on 127.0.0.1 (temp home), trains "Ants vs bees" (hymenoptera) with
efficientnet_lite0 twice (8, then 30 images per class) and drives headless Chromium:
    flock /tmp/handful-cpu.lock .venv/bin/python benchmarks/server_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

from server_load import Server, datasets_dir

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def upload(client: httpx.Client, pid: int, files: list[Path], label: str) -> None:
    form = [("files", (f.name, f.read_bytes(), "image/jpeg")) for f in files]
    assert client.post(f"/api/projects/{pid}/examples", files=form, data={"label": label}).status_code == 201


def shot(page, name: str, full_page: bool = False) -> None:
    # Toasts ("Model v2 trained") come and go with timing; keep them out of the pictures.
    page.add_style_tag(content="#toasts { display: none !important; }")
    page.screenshot(path=str(OUT / name), full_page=full_page)


def main() -> None:
    from playwright.sync_api import sync_playwright

    data = datasets_dir() / "hymenoptera"
    if not data.is_dir():
        sys.exit(f"skipped: {data} not found")
    train = {c: sorted((data / "train" / c).glob("*.jpg")) for c in ("ants", "bees")}
    tmp = Path(tempfile.mkdtemp(prefix="handful-shots-"))
    server = Server(tmp / "home")
    OUT.mkdir(parents=True, exist_ok=True)
    client = httpx.Client(base_url=server.url, timeout=120)
    try:
        text = client.post("/api/projects", json={"name": "Support tickets", "modality": "text"}).json()
        client.post(f"/api/projects/{text['id']}/examples/texts", json={"items": [
            {"text": "I was charged twice this month", "label": "billing"},
            {"text": "The app crashes when I open settings", "label": "bug"}]})
        pid = client.post("/api/projects", json={"name": "Ants vs bees"}).json()["id"]
        for c, files in train.items():
            upload(client, pid, files[:8], c)
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp / "profile"), executable_path="/usr/bin/chromium", args=ARGS,
                viewport={"width": 1280, "height": 860}, device_scale_factor=1)
            page = browser.new_page()
            page.goto(f"{server.url}/#/p/{pid}/train")
            page.click("[data-testid=start-training]")
            page.wait_for_selector(".progress-card.succeeded", timeout=300_000)
            for c, files in train.items():
                upload(client, pid, files[8:30], c)
            page.goto(f"{server.url}/#/p/{pid}/train")
            page.reload()  # the same URL: re-render with the new examples
            page.click("[data-testid=start-training]")
            page.wait_for_function("() => parseInt(document.querySelector('[data-testid=progress-value]')"
                                   "?.textContent || '0') >= 30", timeout=300_000)
            shot(page, "training.png")
            page.wait_for_selector(".progress-card.succeeded", timeout=300_000)
            page.goto(f"{server.url}/#/p/{pid}/data")
            page.wait_for_selector("[data-testid=drop-bees] .thumb")
            time.sleep(1.5)  # thumbnails
            shot(page, "data.png")
            page.goto(f"{server.url}/#/p/{pid}/results")
            page.wait_for_selector("[data-testid=accuracy]")
            shot(page, "results.png", full_page=True)
            query = sorted((data / "val" / "bees").glob("*.jpg"))[3]
            for _ in range(3):  # the shown latency should be a warm one, as in normal use
                client.post(f"/api/projects/{pid}/predict", files=[("files", (query.name, query.read_bytes()))])
            page.goto(f"{server.url}/#/p/{pid}/test")
            page.set_input_files("[data-testid=test-drop] input[type=file]", str(query))
            page.wait_for_selector("[data-testid=prediction]")
            page.set_input_files("[data-testid=suggest-drop] input[type=file]",
                                 [str(p) for p in sorted((data / "val" / "ants").glob("*.jpg"))[:20]]
                                 + [str(p) for p in sorted((data / "val" / "bees").glob("*.jpg"))[:20]])
            page.wait_for_selector(".suggestion img")
            time.sleep(1)
            shot(page, "test.png", full_page=True)
            page.goto(f"{server.url}/#/p/{pid}/versions")
            page.wait_for_selector("[data-testid=compare]")
            shot(page, "versions.png")
            page.goto(f"{server.url}/#/")
            page.wait_for_selector(".project-card img")
            time.sleep(1)
            shot(page, "home.png")
            browser.close()
    finally:
        server.stop()
    print("wrote", sorted(p.name for p in OUT.glob("*.png")))


if __name__ == "__main__":
    main()
