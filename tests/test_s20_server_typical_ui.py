"""The Test tab's "Which ones to label next?" tiles say why they are listed when the API ranked typical
images (``ranked_by`` typical, under 2 examples per class): they are not the model's doubts, and a
tile's "red 40% or green" would otherwise read as the reason."""

from __future__ import annotations

import pytest

from handful.server import extras
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, trained_project
from test_s19_server_suggest_ui import drop_for_suggestions
from test_s20_server_typical_api import JOB, inbox

pytestmark = [pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM),
              pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")]

COLORS = {"red": "red", "green": "green", "blue": "blue"}
TYPICAL = "With under 2 examples per class, these are typical examples of groups no label covers yet."


def write_inbox(tmp_path) -> list[str]:
    """The API test's yellow, cyan and odd photos, as files to drop."""
    folder = tmp_path / "unlabeled"
    folder.mkdir()
    for _, (name, data, _) in inbox():
        (folder / name).write_bytes(data)
    return [str(p) for p in sorted(folder.iterdir())]


@pytest.mark.parametrize(("n_per_class", "shown"), [(1, True), (2, False)])
def test_the_card_says_when_its_tiles_are_typical_examples(tmp_path, page, n_per_class, shown):
    paths = write_inbox(tmp_path)
    with trained_project(tmp_path, "Colors", COLORS, JOB, n_per_class=n_per_class) as (server, pid):
        drop_for_suggestions(page, server.url, pid, paths)
        note = page.locator("[data-testid=suggest-typical]")
        if not shown:  # 2 per class: ranked by the model's doubts, which the tiles' guesses show
            assert note.count() == 0
            return
        assert note.count() == 1 and note.inner_text() == TYPICAL
        # one line above the tiles, spanning the row, not a tile of its own
        box, first = note.bounding_box(), page.locator(".suggestion").first.bounding_box()
        assert box["y"] + box["height"] <= first["y"], (box, first)
        assert box["width"] > first["width"], (box, first)
