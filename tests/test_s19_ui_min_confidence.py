"""The Test tab's "Answer only when at least N% sure" control (headless Chromium).

The predict routes took ``min_confidence`` (an answer under it has label null and ``unsure``
true), but the page had no way to send it, and would have shown an unsure answer as an empty
title: the threshold could only be used from the CLI or the API.
"""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from server_utils import COLORS, HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, color_png, trained_project, wait_job

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)

JOB = {"backbone": "test_tiny_image", "head": "logistic"}


def halfway_png() -> bytes:
    """A flat colour halfway between red and green: a red/green model is about 50/50 on it."""
    rgb = tuple((r + g) // 2 for r, g in zip(COLORS["red"], COLORS["green"], strict=True))
    buf = io.BytesIO()
    Image.new("RGB", (40, 32), rgb).save(buf, format="PNG")
    return buf.getvalue()


def tops(response: httpx.Response) -> dict[str, tuple[str, float]]:
    """{input: (its likeliest class, that class's probability)} of a predict response."""
    assert response.status_code == 200, response.text
    return {p["input"]: (p["top"][0]["label"], p["top"][0]["probability"]) for p in response.json()["predictions"]}


def percent_between(low: float, high: float) -> str:
    """A threshold, as typed into the control, strictly between two top probabilities."""
    assert high - low > 0.002, (low, high)  # room for a 1-decimal percentage between them
    return f"{50 * (low + high):.1f}"


def shown(p: float) -> str:
    """A probability as the cards show it (pct(p, 1)); JavaScript rounds halves up."""
    return f"{int(1000 * p + 0.5) / 10:.1f}%"


def drop(page, paths: list[str], n_cards: int) -> None:
    page.set_input_files("[data-testid=test-drop] input[type=file]", paths)
    page.wait_for_selector(f".result-card:not(.loading) [data-testid=prediction] >> nth={n_cards - 1}")


def test_an_image_under_the_threshold_shows_not_sure_and_its_best_guess_and_off_shows_the_label(tmp_path, page):
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "red.png").write_bytes(color_png("red", 901))
    (folder / "mix.png").write_bytes(halfway_png())  # the less sure one
    paths = {p.name: str(p) for p in folder.iterdir()}
    with trained_project(tmp_path, "Colors", {"red": "red", "green": "green"}, JOB) as (server, pid):
        files = [("files", (name, open(path, "rb").read(), "image/png")) for name, path in paths.items()]
        said = tops(httpx.post(f"{server.url}/api/projects/{pid}/predict", files=files, timeout=60))
        (guess, p_mix), (_, p_red) = said["mix.png"], said["red.png"]
        threshold = percent_between(p_mix, p_red)

        page.goto(f"{server.url}/#/p/{pid}/test")
        control = page.locator("[data-testid=min-confidence]")
        assert control.input_value() == ""  # off unless asked: every image is answered
        control.fill(threshold)
        drop(page, list(paths.values()), 2)
        card = {name: page.locator(".result-card", has=page.locator(f"img[alt='{name}']")) for name in paths}
        assert card["mix.png"].locator("[data-testid=prediction]").inner_text() == "Not sure"
        note = card["mix.png"].locator("[data-testid=unsure]")
        assert note.inner_text() == f"Best guess: {guess} ({shown(p_mix)}), under the {float(threshold):g}% asked for"
        assert note.get_attribute("role") == "note"  # read out as a note, as the familiarity note is
        # the sure one is answered as before, with no note
        assert card["red.png"].locator("[data-testid=prediction]").inner_text() == "red"
        assert card["red.png"].locator("[data-testid=unsure]").count() == 0
        # "Add as example" does not put the unsure guess forward as the correct class
        assert card["mix.png"].locator(".add-example select").input_value() == ""

        # the threshold stays while the page is open, across tabs
        page.goto(f"{server.url}/#/p/{pid}/versions")
        page.wait_for_selector("[data-testid=version-accuracy]")
        page.goto(f"{server.url}/#/p/{pid}/test")
        assert page.locator("[data-testid=min-confidence]").input_value() == threshold

        page.locator("[data-testid=min-confidence]").fill("")  # off again: the same image is answered
        drop(page, [paths["mix.png"]], 1)
        newest = page.locator(".result-card").first
        assert newest.locator("[data-testid=prediction]").inner_text() == guess
        assert page.locator("[data-testid=unsure]").count() == 0


def test_a_text_under_the_threshold_shows_not_sure(tmp_path, page):
    home = tmp_path / "home"
    home.mkdir()
    texts = ["the team won the match", "a goal in the soup"]  # the second shares words with both topics
    with ServerProcess(home) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        pid = api.post("/api/projects", json={"name": "Topics", "modality": "text"}).json()["id"]
        items = [{"text": t, "label": "sports"} for t in ("the team won the match", "a great goal")]
        items += [{"text": t, "label": "cooking"} for t in ("add salt to the soup", "bake the bread")]
        assert api.post(f"/api/projects/{pid}/examples/texts", json={"items": items}).is_success
        job = api.post(f"/api/projects/{pid}/jobs", json={"backbone": "test_tiny_text", "head": "prototype"}).json()
        assert wait_job(api, job["id"])["status"] == "succeeded"
        said = tops(api.post(f"/api/projects/{pid}/predict/texts", json={"texts": texts}))
        (label, p_sure), (guess, p_unsure) = said[texts[0]], said[texts[1]]
        threshold = percent_between(p_unsure, p_sure)

        page.goto(f"{server.url}/#/p/{pid}/test")
        page.fill("[data-testid=test-text]", "\n".join(texts))
        page.fill("[data-testid=min-confidence]", threshold)
        page.click("[data-testid=classify]")
        page.wait_for_selector(".result-card.text:not(.loading) >> nth=1")
        cards = [page.locator(".result-card.text", has_text=t) for t in texts]
        assert [c.locator("[data-testid=prediction]").inner_text() for c in cards] == [label, "Not sure"]
        assert cards[1].locator("[data-testid=unsure]").inner_text().startswith(f"Best guess: {guess} (")
        assert "null" not in cards[1].inner_text()  # a null label is not written out


@pytest.mark.parametrize("typed", ["150", "0"])
def test_a_threshold_outside_0_to_100_is_refused_in_the_page_naming_the_fix(tmp_path, page, typed):
    with trained_project(tmp_path, "Colors", {"red": "red", "green": "green"}, JOB) as (server, pid):
        page.goto(f"{server.url}/#/p/{pid}/test")
        page.fill("[data-testid=min-confidence]", typed)
        sent = []
        page.on("request", lambda r: sent.append(r.url) if "/predict" in r.url else None)
        (tmp_path / "red.png").write_bytes(color_png("red", 901))
        page.set_input_files("[data-testid=test-drop] input[type=file]", [str(tmp_path / "red.png")])
        toast = page.wait_for_selector(".toast.warn")
        assert f'not "{typed}"' in toast.inner_text() and "empty it to always answer" in toast.inner_text()
        assert sent == [] and page.locator(".result-card").count() == 0  # nothing asked of the API
