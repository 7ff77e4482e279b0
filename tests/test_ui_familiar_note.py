"""The Test tab notes a result the API marks ``familiar: false`` (unlike the training examples).

The predict responses said so, but the result card showed only "red 93%": a checkerboard shown to
a red/green model looked as sure as a red photo. Nothing is noted when ``familiar`` is true, or
null (a model served by ONNX Runtime keeps no embeddings to compare with).
"""

from __future__ import annotations

import httpx
import pytest

from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, color_png, trained_project, wait_job
from test_familiar_server import COOKING, SPORTS, checker_png

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)

NOTE = "Unlike the training examples — check this one"
JOB = {"backbone": "test_tiny_image", "head": "logistic"}
N_PER_CLASS = 10  # 20 images: a model trained on fewer keeps no familiarity (MIN_JUDGED)


def write_queries(tmp_path) -> dict[str, str]:
    """{name: path}: a red image like the training ones, and a checkerboard like none of them."""
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "red.png").write_bytes(color_png("red", 901))
    (folder / "checker.png").write_bytes(checker_png())
    return {p.name: str(p) for p in sorted(folder.iterdir())}


def api_familiar(url: str, pid: int, paths: dict[str, str]) -> dict[str, bool | None]:
    files = [("files", (name, open(path, "rb").read(), "image/png")) for name, path in paths.items()]
    res = httpx.post(f"{url}/api/projects/{pid}/predict", files=files, timeout=60)
    assert res.status_code == 200, res.text
    return {p["input"]: p["familiar"] for p in res.json()["predictions"]}


def result_cards(page, url: str, pid: int, paths: dict[str, str]) -> dict[str, object]:
    """{file name: its result card} once every dropped image has its prediction."""
    page.goto(f"{url}/#/p/{pid}/test")
    page.set_input_files("[data-testid=test-drop] input[type=file]", list(paths.values()))
    page.wait_for_selector(f".result-card:not(.loading) [data-testid=prediction] >> nth={len(paths) - 1}")
    return {name: page.locator(".result-card", has=page.locator(f"img[alt='{name}']")) for name in paths}


def test_the_note_is_on_the_image_unlike_the_training_examples_and_only_there(tmp_path, page):
    paths = write_queries(tmp_path)
    with trained_project(tmp_path, "Colors", {"red": "red", "green": "green"}, JOB,
                         n_per_class=N_PER_CLASS) as (server, pid):
        # what the API says, which the cards should repeat
        assert api_familiar(server.url, pid, paths) == {"red.png": True, "checker.png": False}
        cards = result_cards(page, server.url, pid, paths)
        unlike = cards["checker.png"].locator("[data-testid=unfamiliar]")
        assert unlike.count() == 1 and unlike.inner_text() == NOTE
        assert "fewer than 5% of the project's own examples are this far" in unlike.get_attribute("title")
        # a class is still shown for it: the note qualifies the answer, it does not replace it
        assert cards["checker.png"].locator("[data-testid=prediction]").inner_text() in ("red", "green")
        assert cards["red.png"].locator("[data-testid=unfamiliar]").count() == 0
        assert "null" not in cards["red.png"].inner_text()  # no note is no text either, not "null"
        assert page.locator("[data-testid=unfamiliar]").count() == 1


def test_no_note_when_the_model_keeps_nothing_to_compare_with(tmp_path, page):
    pytest.importorskip("onnxruntime")
    paths = write_queries(tmp_path)
    with trained_project(tmp_path, "Colors", {"red": "red", "green": "green"}, JOB,
                         n_per_class=N_PER_CLASS) as (_, pid):
        pass
    # served by ONNX Runtime, the same model answers familiar null: unknown is not "unlike"
    with ServerProcess(tmp_path / "home", args=("--runtime", "onnx")) as server:
        assert api_familiar(server.url, pid, paths) == {"red.png": None, "checker.png": None}
        cards = result_cards(page, server.url, pid, paths)
        assert cards["checker.png"].locator("[data-testid=prediction]").inner_text() in ("red", "green")
        assert page.locator("[data-testid=unfamiliar]").count() == 0


def test_the_note_is_on_the_text_about_something_else(tmp_path, page):
    home = tmp_path / "home"
    home.mkdir()
    texts = ["the team scored a late goal", "rain and wind tomorrow morning"]
    with ServerProcess(home) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        pid = api.post("/api/projects", json={"name": "Topics", "modality": "text"}).json()["id"]
        items = [{"text": t, "label": "sports"} for t in SPORTS] + [{"text": t, "label": "cooking"} for t in COOKING]
        assert api.post(f"/api/projects/{pid}/examples/texts", json={"items": items}).is_success
        job = api.post(f"/api/projects/{pid}/jobs", json={"backbone": "test_tiny_text", "head": "prototype"}).json()
        assert wait_job(api, job["id"])["status"] == "succeeded"
        said = api.post(f"/api/projects/{pid}/predict/texts", json={"texts": texts}).json()["predictions"]
        assert [p["familiar"] for p in said] == [True, False]

        page.goto(f"{server.url}/#/p/{pid}/test")
        page.fill("[data-testid=test-text]", "\n".join(texts))
        page.click("[data-testid=classify]")
        page.wait_for_selector(".result-card.text:not(.loading) >> nth=1")
        notes = [page.locator(".result-card.text", has_text=t).locator("[data-testid=unfamiliar]").count()
                 for t in texts]
        assert notes == [0, 1]
