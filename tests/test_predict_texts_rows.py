"""`handful predict` on a text model: every row carries its text beside its id (table, --json,
--csv, --out), shortened only in the terminal; image rows stay as they were."""

import csv

import pytest

from conftest import make_color_tree, run_json
from handful.cli import main
from handful.cli.predict_table import SHOWN_WIDTH

LONG = ("the coach praised the whole team after the final whistle of a long and very tense "
        "match that went to penalties")
SHORT = "chop the onions for the soup"


# with conftest's 12: 20 texts, enough to judge familiarity by (MIN_JUDGED), so rows keep their familiar column
MORE = [("the team lost the final game", "sports"), ("the player scored a late goal", "sports"),
        ("fans cheered the coach", "sports"), ("a draw in the final match", "sports"),
        ("chop the basil for the sauce", "cooking"), ("bake the cake in the oven", "cooking"),
        ("add flour to the bread", "cooking"), ("stir the soup slowly", "cooking")]


@pytest.fixture
def text_model(capsys, text_csv, tmp_path):
    with open(text_csv, "a") as f:
        f.writelines(f'"{text}",{label}\n' for text, label in MORE)
    run_json(capsys, ["train", str(text_csv), "--out", str(tmp_path / "t"), "--backbone", "test_tiny_text",
                      "--head", "prototype"])
    return tmp_path / "t"


@pytest.fixture
def new_texts(tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(f'text\n"{LONG}"\n"{SHORT}"\n')
    return path


def test_a_text_tables_json_rows_carry_the_whole_text_beside_the_line_id(capsys, text_model, new_texts):
    out = run_json(capsys, ["predict", str(text_model), str(new_texts)])
    # "new.csv:2" alone does not say which sentence got which answer: the row says the text, whole
    assert [(p["input"], p["text"]) for p in out["predictions"]] == [
        ("new.csv:2", LONG), ("new.csv:3", SHORT)]
    assert [p["label"] for p in out["predictions"]] == ["sports", "cooking"]


def test_a_text_tables_terminal_table_shows_the_id_and_the_text_shortened(capsys, text_model, new_texts):
    assert main(["predict", str(text_model), str(new_texts)]) == 0
    shown = " ".join(capsys.readouterr().out.split())  # the table folds long cells over lines
    assert "new.csv:2" in shown and SHORT in shown  # the id and the text, side by side
    # a long text is cut with an ellipsis, so the table stays readable
    assert LONG[:20] in shown and "…" in shown and LONG[-20:] not in shown, shown
    assert len(LONG) > SHOWN_WIDTH  # (else the test would not test the shortening)


def test_text_rows_written_by_out_and_csv_have_a_text_column_with_the_whole_text(capsys, text_model,
                                                                                 new_texts, tmp_path):
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(text_model), str(new_texts), "--out", str(preds)]) == 0
    with open(preds, newline="") as f:
        written = list(csv.reader(f))
    assert written[0] == ["input", "text", "label_1", "probability_1", "familiar"]
    assert [row[:2] for row in written[1:]] == [["new.csv:2", LONG], ["new.csv:3", SHORT]]
    capsys.readouterr()
    assert main(["predict", str(text_model), str(new_texts), "--csv"]) == 0
    printed = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert printed == written  # --csv prints what --out writes


def test_typed_texts_show_their_text_in_the_table_json_and_out_file(capsys, text_model, tmp_path):
    out = run_json(capsys, ["predict", str(text_model), SHORT])
    assert [(p["input"], p["text"]) for p in out["predictions"]] == [("text 1", SHORT)]
    assert main(["predict", str(text_model), SHORT]) == 0
    table = capsys.readouterr().out
    assert "text 1" in table and SHORT in table
    preds = tmp_path / "typed.csv"
    assert main(["predict", str(text_model), SHORT, "--out", str(preds)]) == 0
    rows = list(csv.reader(preds.read_text().splitlines()))
    assert rows[0][:2] == ["input", "text"] and rows[1][:2] == [SHORT, SHORT]  # the text is the id here


def test_an_out_file_begun_without_the_text_column_is_resumed_in_its_own_columns(capsys, text_model,
                                                                                  new_texts, tmp_path):
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(text_model), str(new_texts), "--out", str(preds)]) == 0
    rows = list(csv.reader(preds.read_text().splitlines()))
    # as an older handful wrote it (no text column), and stopped after the first row
    legacy = [[r[0], *r[2:-1]] for r in rows[:2]]  # (nor the familiar column)
    with open(preds, "w", newline="") as f:
        csv.writer(f).writerows(legacy)
    out = run_json(capsys, ["predict", str(text_model), str(new_texts), "--out", str(preds)])
    assert out["n_resumed"] == 1 and out["n"] == 1  # resumed, not refused as "another file"
    resumed = list(csv.reader(preds.read_text().splitlines()))
    # one file, one set of columns: the new row has none of the text column the file lacks
    assert resumed[0] == ["input", "label_1", "probability_1"] and all(len(r) == 3 for r in resumed)
    assert resumed[2][0] == "new.csv:3"


def test_image_rows_have_no_text_column_anywhere(capsys, tmp_path):
    color_tree = make_color_tree(tmp_path / "colors", 7)  # 21 images: 20+ to judge familiarity by
    run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                      "--head", "prototype"])
    out = run_json(capsys, ["predict", str(tmp_path / "m"), str(color_tree / "red")])
    assert out["predictions"] and all(set(p) == {"input", "label", "familiar", "familiarity", "top"}
                                      for p in out["predictions"])
    assert main(["predict", str(tmp_path / "m"), str(color_tree / "red")]) == 0
    header = capsys.readouterr().out.splitlines()[2]  # title, top border, header
    assert "input" in header and "text" not in header  # a path names an image already
    preds = tmp_path / "images.csv"
    assert main(["predict", str(tmp_path / "m"), str(color_tree / "red"), "--out", str(preds)]) == 0
    assert preds.read_text().splitlines()[0] == "input,label_1,probability_1,familiar"


def test_a_text_table_of_more_than_200_rows_prints_id_text_label_and_probability_per_line(capsys, text_model,
                                                                                          tmp_path):
    many = tmp_path / "many.csv"
    many.write_text("text\n" + "".join(f'"{SHORT} number {i}"\n' for i in range(201)))
    assert main(["predict", str(text_model), str(many)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 201  # a line per row, no table
    first = lines[0].split()  # (tabs come out as spaces, as for images)
    assert first[0] == "many.csv:2" and " ".join(first[1:-2]) == f"{SHORT} number 0", first
    assert first[-2] == "cooking" and 0 < float(first[-1]) <= 1


def test_json_rows_keep_a_text_with_newlines_and_quotes_whole(capsys, text_model, tmp_path):
    odd = tmp_path / "odd.csv"
    text = 'add "fresh" basil\nto the soup'
    with open(odd, "w", newline="") as f:
        csv.writer(f).writerows([["text"], [text]])
    out = run_json(capsys, ["predict", str(text_model), str(odd)])
    assert out["predictions"][0]["text"] == text  # whole: a script matches rows to its own texts
