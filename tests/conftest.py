"""Shared fixtures: an isolated cache per test, seeds, and tiny synthetic data sets."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

COLORS = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (40, 60, 220)}


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own embedding cache directory and fixed seeds."""
    monkeypatch.setenv("HANDFUL_CACHE", str(tmp_path_factory.mktemp("cache")))
    random.seed(0)
    np.random.seed(0)
    try:
        import torch

        torch.manual_seed(0)
    except ImportError:
        pass


@pytest.fixture
def one_torch_thread():
    """Tiny networks train faster on one thread, and are immune to a busy second core."""
    import torch

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


def make_color_image(path: Path, color: tuple[int, int, int], seed: int, size=(48, 40),
                     fmt: str | None = None) -> Path:
    """A noisy solid-color image with a small random square: trivially separable by color."""
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(color) + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255)
    img = Image.fromarray(arr.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    x, y = rng.integers(0, size[0] - 10), rng.integers(0, size[1] - 10)
    draw.rectangle([x, y, x + 8, y + 8], fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt)
    return path


def make_color_tree(root: Path, n_per_class: int = 6, classes=("red", "green", "blue"),
                    seed: int = 0) -> Path:
    """root/<color>/<i>.png|jpg for each color class."""
    for c_idx, name in enumerate(classes):
        for i in range(n_per_class):
            ext = ".png" if i % 2 else ".jpg"
            make_color_image(root / name / f"{name}_{i}{ext}", COLORS[name], seed * 1000 + c_idx * 100 + i)
    return root


def make_noisy_color_tree(root: Path, every: int) -> Path:
    """3 colour classes of 12 images (red, green, blue), one in ``every`` coloured like the next
    class: a network that fits them is sure of answers some of which cannot be right (a
    temperature then has something to correct)."""
    names = ("red", "green", "blue")
    for c, name in enumerate(names):
        for i in range(12):
            color = COLORS[names[(c + 1) % 3]] if i % every == 0 else COLORS[name]
            make_color_image(root / name / f"{name}_{i}.png", color, c * 100 + i)
    return root


def one_error_line(capsys, argv: list[str]) -> str:
    """The one error line of a refused CLI command (exit 2, no traceback)."""
    from handful.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def run_json(capsys, argv: list[str]) -> dict:
    """Run a CLI command with --json; it must succeed, and its last stdout line is the result."""
    import json

    from handful.cli import main

    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


@pytest.fixture
def tiny_text_names(monkeypatch):
    """Zero-shot class names embedded by the bag-of-words test backbone instead of MiniLM."""
    from handful.zeroshot import scorer

    monkeypatch.setattr(scorer, "DEFAULT_TEXT_BACKBONE", "test_tiny_text")


@pytest.fixture
def color_tree(tmp_path) -> Path:
    """Three color classes, 6 images each (mixed PNG/JPEG)."""
    return make_color_tree(tmp_path / "colors")


@pytest.fixture
def color_splits(tmp_path) -> Path:
    """A data set with train/ and val/ splits of the three color classes."""
    root = tmp_path / "splits"
    make_color_tree(root / "train", 6, seed=1)
    make_color_tree(root / "val", 4, seed=2)
    return root


@pytest.fixture
def text_csv(tmp_path) -> Path:
    """A small CSV of texts about two topics with distinct vocabularies."""
    sports = ["the team won the match", "a great goal in the final game", "the player scored twice",
              "the coach praised the team", "fans cheered the winning goal", "match ended in a draw"]
    cooking = ["bake the bread in the oven", "add salt to the soup", "the recipe needs fresh basil",
               "stir the sauce slowly", "the cake needs sugar and flour", "chop onions for the soup"]
    path = tmp_path / "texts.csv"
    lines = ["text,label"] + [f'"{t}",sports' for t in sports] + [f'"{t}",cooking' for t in cooking]
    path.write_text("\n".join(lines) + "\n")
    return path


# -- the web UI tests' headless Chromium (they skip without one: server_utils.HAS_CHROMIUM) -----

@pytest.fixture(scope="module")
def browser():
    """A headless Chromium shared by a test module's pages."""
    from server_utils import ARGS, CHROMIUM

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def ui_server(tmp_path):
    """A `handful serve` process on an empty home, for a test's pages (server_utils.ServerProcess)."""
    from server_utils import ServerProcess

    home = tmp_path / "home"
    home.mkdir()
    with ServerProcess(home) as server:
        yield server


@pytest.fixture
def page(browser):
    """A fresh page; the test fails if the page raised a JavaScript error."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    page.close()
    assert errors == []
