"""``predict --min-confidence``: answer when sure, mark the rest unsure (JSON, table, CSV, --out)."""

import csv

import pytest

from conftest import make_color_image, run_json
from handful import Classifier
from handful.cli import main


@pytest.fixture(scope="module")
def model_and_images(tmp_path_factory):
    """A calibrated model of two overlapping colour classes (a quarter of each drawn in the other's
    colour, so its answers range from sure to torn), and the 32 images."""
    root = tmp_path_factory.mktemp("abstain")
    data = root / "data"
    for c, (color, other) in enumerate((((200, 40, 40), (40, 40, 200)), ((40, 40, 200), (200, 40, 40)))):
        for i in range(16):
            make_color_image(data / f"class{c}" / f"{i}.png", other if i % 4 == 0 else color, seed=100 * c + i)
    # a blend of the two colours: neither class is likely, so some answer is unsure at any cut
    make_color_image(data / "class0" / "blend.png", (120, 40, 120), seed=7)
    Classifier("test_tiny_image", cache=False).fit(data).save(root / "m")
    return str(root / "m"), str(data)


def middle_threshold(plain: dict) -> float:
    """A threshold between two of the top probabilities a run without it gave: some rows fall
    under it and some reach it, whatever the exact numbers."""
    tops = sorted({round(p["top"][0]["probability"], 6) for p in plain["predictions"]})
    assert len(tops) >= 2, tops
    middle = len(tops) // 2
    return (tops[middle - 1] + tops[middle]) / 2


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_predictions_under_the_threshold_are_unsure_and_keep_their_candidates(capsys, model_and_images):
    model, images = model_and_images
    plain = run_json(capsys, ["predict", model, images, "--top", "2"])
    t = middle_threshold(plain)
    result = run_json(capsys, ["predict", model, images, "--top", "2", "--min-confidence", str(t)])
    before = {p["input"]: p for p in plain["predictions"]}
    for row in result["predictions"]:
        top = row["top"][0]
        assert row["unsure"] == (top["probability"] < t), row
        assert row["label"] == (None if row["unsure"] else top["label"]), row
        assert row["top"] == before[row["input"]]["top"]  # the candidates are shown either way
    n_unsure = sum(r["unsure"] for r in result["predictions"])
    assert 0 < n_unsure < result["n"]  # the threshold sits between two rows' probabilities
    assert (result["n_unsure"], result["n_answered"]) == (n_unsure, result["n"] - n_unsure)
    assert result["min_confidence"] == t


def test_without_the_option_predictions_are_as_before(capsys, model_and_images, tmp_path):
    model, images = model_and_images
    result = run_json(capsys, ["predict", model, images, "--out", str(tmp_path / "p.csv")])
    assert "n_unsure" not in result and "min_confidence" not in result
    assert read_rows(tmp_path / "p.csv")[0] == ["input", "label_1", "probability_1", "familiar"]
    rows = run_json(capsys, ["predict", model, images])["predictions"]
    assert all(set(r) == {"input", "label", "familiar", "familiarity", "top"} and r["label"] for r in rows)


def test_the_table_marks_unsure_rows_and_the_summary_counts_them(capsys, model_and_images):
    model, images = model_and_images
    plain = run_json(capsys, ["predict", model, images])
    t = middle_threshold(plain)
    n_unsure = sum(p["top"][0]["probability"] < t for p in plain["predictions"])
    assert main(["predict", model, images, "--min-confidence", str(t)]) == 0
    out = capsys.readouterr().out
    assert out.count("unsure (class") == n_unsure  # each names its likeliest class
    n = len(plain["predictions"])
    assert f"Answered {n - n_unsure} of {n}" in out and f"{n_unsure} unsure, left for a person" in out


def test_the_out_file_has_an_answer_column_that_is_empty_when_unsure_and_resumes_in_it(
        capsys, model_and_images, tmp_path):
    model, images = model_and_images
    t = middle_threshold(run_json(capsys, ["predict", model, images]))
    out = tmp_path / "preds.csv"
    argv = ["predict", model, images, "--out", str(out), "--min-confidence", str(t)]
    run_json(capsys, argv)
    rows = read_rows(out)
    assert rows[0] == ["input", "answer", "label_1", "probability_1", "familiar"]
    assert all(r[1] == ("" if float(r[3]) < t else r[2]) for r in rows[1:])
    assert {r[1] for r in rows[1:]} >= {""}  # some rows are unsure
    full = out.read_text()
    out.write_text("".join(full.splitlines(keepends=True)[:6]))  # a run killed after 5 rows
    resumed = run_json(capsys, argv)
    assert resumed["n_resumed"] == 5 and out.read_text() == full  # the same columns and answers
    # another threshold (or none) would put answers of another meaning in the same column
    for other in (["--min-confidence", "0.99"], []):
        code = main(argv[:5] + other + ["--json"])
        assert code == 2
        err = capsys.readouterr().err
        assert "--min-confidence" in err and "--overwrite" in err
    assert out.read_text() == full  # the file is left as it was


def test_csv_on_stdout_carries_the_answer_column(capsys, model_and_images):
    model, images = model_and_images
    t = middle_threshold(run_json(capsys, ["predict", model, images]))
    assert main(["predict", model, images, "--csv", "--min-confidence", str(t)]) == 0
    captured = capsys.readouterr()
    rows = list(csv.reader(captured.out.splitlines()))
    assert rows[0] == ["input", "answer", "label_1", "probability_1", "familiar"]
    assert any(r[1] == "" for r in rows[1:]) and any(r[1] for r in rows[1:])
    assert "Answered" in captured.err  # the summary keeps stdout CSV


@pytest.mark.parametrize("value", ["0", "1", "-0.5", "1.5", "nan"])
def test_a_threshold_outside_zero_to_one_is_a_one_line_error(capsys, model_and_images, value):
    model, images = model_and_images
    assert main(["predict", model, images, "--min-confidence", value]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--min-confidence must be a probability between 0 and 1" in err
    assert "Pass e.g. --min-confidence 0.9" in err
