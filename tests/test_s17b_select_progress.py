"""``handful train`` counts the fits of its model search on a "Selecting model" bar: the search
reports every fit, in order, up to the total it announced, and ``--json`` output stays one
object on the last stdout line."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from handful.classifier import Classifier
from handful.cli.main import main
from handful.cli.output import Output
from handful.data import load_examples
from handful.select import models

SEARCHED = ("test_tiny_image", "test_tiny_conv", "test_tiny_image+test_tiny_conv")


@pytest.fixture
def tiny_auto(monkeypatch):
    """``--backbone auto`` over two tiny backbones and their concatenation, as the real list has:
    three searches of the fast heads, then the slow ones on the leader, counted as one."""
    monkeypatch.setitem(models.AUTO_BACKBONES, "image", SEARCHED)


@pytest.fixture
def bars(monkeypatch) -> list:
    """Every ``Output.progress`` bar a command opens: [description, total, advances, closed]."""
    opened: list = []

    @contextmanager
    def recording(self, description: str, total: int):
        bar = [description, total, [], False]
        assert not any(not b[3] for b in opened), "Rich shows one bar at a time: the last is still open"
        opened.append(bar)
        try:
            yield bar[2].append
        finally:
            bar[3] = True

    monkeypatch.setattr(Output, "progress", recording)
    return opened


def test_an_auto_search_reports_every_fit_in_order_up_to_its_total(color_tree, tiny_auto):
    calls: list[tuple[int, int, str]] = []
    clf = Classifier()
    X, examples = clf.select_backbone(load_examples(color_tree),
                                      on_fit=lambda done, total, label: calls.append((done, total, label)))
    board = clf.fit_embeddings(X, examples).leaderboard_  # the search's own board
    n_fits = sum(len(row["fold_scores"]) for row in board.rows)
    assert {row["backbone"] for row in board.rows} == set(SEARCHED)  # several searches, one count
    # one call per fit, counting up by one across the searches (not restarting at each), and
    # the total announced from the first call on is the number of fits done
    assert [done for done, _, _ in calls] == list(range(1, n_fits + 1)), calls
    assert {total for _, total, _ in calls} == {n_fits}
    assert {label for _, _, label in calls} == {row["label"] for row in board.rows}


def test_train_with_backbone_auto_counts_the_search_on_a_bar_after_the_embedding_one(
        color_tree, tmp_path, tiny_auto, bars):
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--no-advise"]) == 0
    assert [bar[0] for bar in bars] == ["Embedding training examples", "Selecting model"], bars
    _, total, advances, closed = bars[1]
    # one step per fit, and the bar ends full (search_models counts 3 backbones x fast heads + mlp)
    assert closed and advances == [1] * total and total > 3 * len(models.DEFAULT_CANDIDATES), bars


def test_train_with_a_named_backbone_counts_the_head_search(color_tree, tmp_path, bars):
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    assert [bar[0] for bar in bars] == ["Embedding training examples", "Selecting model"], bars
    _, total, advances, _ = bars[1]
    assert advances == [1] * total and total >= len(models.DEFAULT_CANDIDATES), bars


@pytest.fixture
def terminal(monkeypatch):
    """stderr taken for a terminal (Rich's TTY_COMPATIBLE), so the real bars draw. Output.live also
    asks the stream itself (s23: a forced-colour pipe draws no bar); pytest's capture is no TTY, so
    that part is answered as a terminal's would be."""
    from handful.cli.output import Output

    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(Output, "live", property(lambda self: not self.stdout_taken and self.err.is_terminal))


def test_the_bar_draws_on_a_terminal_and_json_output_stays_one_line(color_tree, tmp_path, tiny_auto,
                                                                     terminal, capsys):
    args = ["train", str(color_tree), "--no-advise", "--out"]
    assert main([*args, str(tmp_path / "shown")]) == 0
    assert "Selecting model" in capsys.readouterr().err  # the real Rich bar, on stderr
    assert main([*args, str(tmp_path / "quiet"), "--json"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    # --json: stdout holds the result object alone, and no bar draws (not on stderr either)
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    assert result["backbone"] in SEARCHED and result["leaderboard"]["rows"], result
    assert "Selecting model" not in err and "Embedding" not in err, err
