"""The Test tab's "Which ones to label next?" tiles carry the note a result card has for an image
unlike the training examples, and say how many such images were held back.

The API ranked a checkerboard after the red and green photos and marked it ``familiar: false``,
but its tile looked like the others; and when the familiar photos filled the list, nothing said
that an unfamiliar one had been left out.
"""

from __future__ import annotations

import re

import pytest

from handful.server import extras
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, color_png, trained_project
from test_familiar_server import checker_png
from test_ui_familiar_note import JOB, N_PER_CLASS, NOTE

pytestmark = [pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM),
              pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")]


def write_inbox(tmp_path) -> list[str]:
    """A red and a green photo like the training ones, and a checkerboard like none of them."""
    folder = tmp_path / "unlabeled"
    folder.mkdir()
    (folder / "red.png").write_bytes(color_png("red", 901))
    (folder / "green.png").write_bytes(color_png("green", 902))
    (folder / "checker.png").write_bytes(checker_png())
    return [str(p) for p in sorted(folder.iterdir())]


def drop_for_suggestions(page, url: str, pid: int, paths: list[str]) -> None:
    page.goto(f"{url}/#/p/{pid}/test")
    page.set_input_files("[data-testid=suggest-drop] input[type=file]", paths)
    page.wait_for_selector(".suggestion")


def test_the_unfamiliar_images_tile_has_the_note_and_comes_last(tmp_path, page):
    paths = write_inbox(tmp_path)
    with trained_project(tmp_path, "Colors", {"red": "red", "green": "green"}, JOB,
                         n_per_class=N_PER_CLASS) as (server, pid):
        drop_for_suggestions(page, server.url, pid, paths)
        tiles = page.locator(".suggestion")
        names = [tiles.nth(i).locator("img").get_attribute("alt") for i in range(tiles.count())]
        assert names[-1] == "checker.png" and set(names[:-1]) == {"red.png", "green.png"}, names
        note = tiles.nth(len(names) - 1).locator("[data-testid=unfamiliar]")
        # the same words and explanation as a result card's note (test_ui_familiar_note)
        assert note.count() == 1 and note.inner_text() == NOTE
        assert "fewer than 5% of the project's own examples are this far" in note.get_attribute("title")
        assert page.locator("[data-testid=unfamiliar]").count() == 1, "only the checkerboard is unlike them"
        assert "null" not in page.inner_text(".suggestions")
        # all three fit in the list: nothing was held back
        assert page.locator("[data-testid=suggest-held-back]").count() == 0


def test_the_card_says_how_many_unfamiliar_images_were_held_back(tmp_path, page):
    paths = write_inbox(tmp_path)
    with trained_project(tmp_path, "Colors", {"red": "red", "green": "green"}, JOB,
                         n_per_class=N_PER_CLASS) as (server, pid):
        # the card asks for 12; asking the real server for 2 leaves the checkerboard out of the list
        page.route(re.compile(r"/suggest\?n=12$"),
                   lambda route: route.continue_(url=route.request.url.replace("n=12", "n=2")))
        drop_for_suggestions(page, server.url, pid, paths)
        assert page.locator(".suggestion").count() == 2
        assert page.locator("[data-testid=unfamiliar]").count() == 0
        # appended with the tiles, in the same step: there once they are
        assert page.locator("[data-testid=suggest-held-back]").count() == 1
        held = page.inner_text("[data-testid=suggest-held-back]")
        assert "1 image looks unlike the training examples and was held back" in held, held
        assert "come after the familiar ones" in held
