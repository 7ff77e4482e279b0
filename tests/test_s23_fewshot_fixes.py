"""s23 few-shot fixes beside the audit's bugs: counts read in the singular for 1, a missing
--model names `handful protonet train`, the 95% CI is said to be a t-interval (with exact t values),
the first line of `episodes` counts only the classes drawn from, `--split-by-parent` names top-level
folders, and `omniglot-runs` says which test drawing had no answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from fewshot_glyphs import character_strokes, draw_glyph, make_glyph_tree, make_runs
from handful.cli.kshot import table_title
from handful.cli.main import main
from handful.cli.output import plural
from handful.fewshot.episodes import summarize

EPISODES = ["--backbone", "test_tiny_conv", "--ways", "3", "--queries", "2"]


@pytest.fixture
def flat_glyphs(tmp_path) -> Path:
    """6 classes of 5 drawings and one class ('tiny_class') of 2: too few for 1 shot + 2 queries."""
    root = tmp_path / "flat"
    for c, n in [*[(c, 5) for c in range(6)], (99, 2)]:
        folder = root / ("tiny_class" if c == 99 else f"glyph{c}")
        folder.mkdir(parents=True)
        strokes = character_strokes(10 + c)
        for i in range(n):
            draw_glyph(strokes, c * 100 + i, size=20).save(folder / f"{i:02d}.png")
    return root


@pytest.mark.parametrize(("n", "noun", "many", "expected"), [
    (1, "class", None, "1 class"),
    (2, "class", None, "2 classes"),
    (0, "episode", None, "0 episodes"),
    (1, "draw", None, "1 draw"),
    (3, "query", "queries", "3 queries"),
])
def test_plural_is_singular_only_for_one(n, noun, many, expected):
    assert plural(n, noun, many) == expected


def test_one_episode_and_one_short_class_read_in_the_singular(flat_glyphs, capsys):
    assert main(["episodes", str(flat_glyphs), *EPISODES, "--episodes", "1"]) == 0
    text = capsys.readouterr().out
    # "1 classes have fewer than 3 examples" and "1 episodes" were the wording before
    assert "1 class has fewer than 3 examples and was left out: 'tiny_class' (2)" in text, text
    assert "1 episode," in text and "1 episodes" not in text and "1 classes" not in text, text
    # one episode has no interval: shown as "-", not "± 0.00 (95% CI 66.7%-66.7%)"
    assert "± -" in text and "± 0.00" not in text, text


def test_kshot_title_of_one_draw_reads_in_the_singular():
    title = table_title({"n_test": 9, "backbone": "test_tiny_conv"}, 1, "logistic")
    assert "(1 draw per K," in title, title  # was "(1 draws per K"


def test_episodes_first_line_counts_only_the_classes_drawn_from(flat_glyphs, capsys):
    assert main(["episodes", str(flat_glyphs), *EPISODES, "--episodes", "3"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    # 7 class folders, but tiny_class (2 drawings) is never drawn from: "Episodes from 7 classes" was wrong
    assert first.startswith("Episodes from 6 classes (1 more with too few examples is left out)"), first


def test_episodes_with_a_missing_model_names_the_few_shot_trainer(flat_glyphs, tmp_path, capsys):
    assert main(["episodes", str(flat_glyphs), "--model", str(tmp_path / "nope"), "--episodes", "2"]) == 2
    err = capsys.readouterr().err
    # the bundle's own message said "Train one with `handful train`": a classifier, not a few-shot encoder
    assert "--model" in err and "handful protonet train" in err, err


def test_episodes_says_its_interval_is_a_t_interval(flat_glyphs, capsys):
    assert main(["episodes", str(flat_glyphs), *EPISODES, "--episodes", "4"]) == 0
    assert "(95% t-interval " in capsys.readouterr().out  # with 4 episodes t is 3.18, not 1.96


@pytest.mark.parametrize("command", ["episodes", "kshot"])
def test_help_says_the_interval_is_a_t_interval(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one line per sentence: a narrow terminal wraps "t-" / "interval"
    main([command, "--help"])
    assert "t-interval" in capsys.readouterr().out


def test_summarize_docstring_quotes_the_t_it_uses():
    # it said "+-1.96 std/sqrt(n) at n >= 100"; the t quantile at n = 100 is 1.984, and 1.96 is only the limit
    for n in (100, 600):
        t = stats.t.ppf(0.975, n - 1)
        assert f"{t:.3f} at n = {n}" in summarize.__doc__, (n, t)
    accuracies = [0.5, 1.0] * 50  # n = 100
    result = summarize(accuracies)
    half = stats.t.ppf(0.975, 99) * result["std"] / 10
    assert result["ci95_halfwidth"] == pytest.approx(half)


def test_split_by_parent_names_top_level_folders_as_held_out_parents(tmp_path, capsys):
    data = make_glyph_tree(tmp_path / "bg", n_alphabets=4, n_chars=3, n_drawings=4)
    for alphabet in ("alphabet_A", "alphabet_B", "alphabet_C", "alphabet_D"):  # every alphabet uneven
        deeper = data / alphabet / "variants" / "character03"
        deeper.parent.mkdir()
        (data / alphabet / "character03").rename(deeper)
    assert main(["episodes", str(data), "--nested", "--split-by-parent", "--eval-fraction", "0.5",
                 "--backbone", "test_tiny_conv", "--ways", "2", "--queries", "2", "--episodes", "2",
                 "--json"]) == 0
    note = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["classes_note"]
    # "held-out parents alphabet_A, alphabet_A/variants (...)" named one alphabet as two parents
    assert note.startswith("held-out parents alphabet_") and "/" not in note, note
    assert "(6 classes)" in note, note  # two whole alphabets of 3 characters


def test_omniglot_runs_lists_a_test_drawing_without_an_answer(tmp_path, capsys):
    root = make_runs(tmp_path / "runs", n_runs=2, n_classes=5)
    labels = root / "run01" / "class_labels.txt"
    lines = labels.read_text().splitlines()
    unanswered = next(line.split()[0] for line in lines if line.endswith("class05.png"))
    labels.write_text("\n".join(line for line in lines if not line.endswith("class05.png")) + "\n")
    assert main(["omniglot-runs", str(root), "--backbone", "test_tiny_conv", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    run01 = next(r for r in result["runs"] if r["run"] == "run01")
    # still 5-way (all its training/ drawings), scored on the 4 test drawings with an answer
    assert (run01["n_ways"], run01["n"], run01["n_unanswered"]) == (5, 4, 1), run01
    assert result["n_unanswered"] == 1
    skipped = {Path(s["path"]).name: s["reason"] for s in result["skipped"]}
    assert "no answer line" in skipped[Path(unanswered).name], skipped
    assert "1 test drawing had no answer line in class_labels.txt and was not scored" in captured.err
