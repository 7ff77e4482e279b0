"""Text tables as users export them: old-Mac and mixed line endings, Windows-1252, gzip, Excel's
"sep=" line, spreadsheets and JSON given by mistake, number labels with NaN, case-variant labels."""

import gzip
import json
import warnings

import pytest

from handful.cli import main
from handful.data import is_table_path, load_examples, read_table
from handful.data.items import examples_from
from handful.errors import DataError
from handful.text.prepare import read_unlabeled

ROWS = [("the soup was cold", "neg"), ("lovely staff", "pos"), ("cold fries again", "neg"),
        ("a lovely evening", "pos")]


def table_text(newline: str = "\n", delimiter: str = ",") -> str:
    return newline.join([f"text{delimiter}label"] + [f"{t}{delimiter}{y}" for t, y in ROWS]) + newline


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_every_line_ending_reads_the_same_rows(tmp_path, ending):
    # "CSV (Macintosh)" from old Excel ends rows with a lone \r: the csv reader refused the file
    path = tmp_path / "t.csv"
    path.write_bytes(table_text(ending).encode())
    examples = read_table(path)
    assert examples.items == tuple(t for t, _ in ROWS) and examples.labels == tuple(y for _, y in ROWS)


def test_mixed_line_endings_in_one_file_read_every_row(tmp_path):
    # two exports pasted together: \r\n, \n and lone \r rows in one file
    path = tmp_path / "t.csv"
    path.write_bytes(b"text,label\r\nthe soup was cold,neg\nlovely staff,pos\rcold fries again,neg\r\n"
                     b"a lovely evening,pos\n")
    examples = read_table(path)
    assert len(examples) == 4 and examples.ids[-1] == "t.csv:5"  # line numbers count every break


def test_windows_1252_curly_apostrophe_and_euro_are_decoded(tmp_path):
    # Excel on Windows saves "CSV" as cp1252: 0x92 is ’ and 0x80 is €; latin-1 made them
    # invisible control characters (U+0092), so "don’t" no longer matched "don't" in the tokenizer
    path = tmp_path / "t.csv"
    path.write_bytes("text;label\ndon\x92t pay 5\x80;neg\ncaf\xe9 cr\xe8me;pos\n".encode("latin-1"))
    with pytest.warns(UserWarning, match="not valid UTF-8; read it as latin-1"):
        examples = read_table(path)
    assert examples.items == ("don’t pay 5€", "café crème")


def test_gzipped_csv_is_a_table_for_train(tmp_path):
    path = tmp_path / "reviews.csv.gz"
    path.write_bytes(gzip.compress(table_text().encode("utf-8")))
    assert is_table_path(path) and not is_table_path(tmp_path / "photos.gz")
    examples = load_examples(path)
    assert examples.classes == ("neg", "pos") and len(examples) == 4


def test_gzipped_csv_through_cli_train_and_predict(tmp_path, capsys):
    data = tmp_path / "reviews.csv.gz"
    data.write_bytes(gzip.compress(table_text().encode("utf-8")))
    model = tmp_path / "m"
    code = main(["train", str(data), "--out", str(model), "--backbone", "test_tiny_text",
                 "--head", "prototype", "--no-advise", "--json"])
    assert code == 0, capsys.readouterr().err  # was: "a file with extension '.gz'; expected ... .csv"
    capsys.readouterr()
    assert main(["predict", str(model), str(data), "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"]
    assert len(predictions) == 4  # the rows of the compressed file, not its name read as one text


def test_gzip_bytes_under_a_csv_name_say_what_to_do(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(gzip.compress(table_text().encode()))
    with pytest.raises(DataError, match=r"gzip-compressed.*Name it t\.csv\.gz"):
        read_table(path)


@pytest.mark.parametrize("name, content, kind", [
    ("texts.json", json.dumps([{"text": "a"}]).encode(), "a JSON file"),
    ("texts.jsonl", b'{"text": "a, b", "label": "x"}\n', "a JSON-lines file"),
    ("texts.xlsx", b"PK\x03\x04" + bytes(60), "an Excel workbook"),
])
def test_json_and_spreadsheets_are_refused_with_the_fix(tmp_path, name, content, kind):
    # --unlabeled reads any file: a JSON file became one text (its JSON syntax and all)
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"{kind}.*Save it as CSV UTF-8"):
        read_unlabeled(path)


def test_xlsx_renamed_to_csv_is_named_as_a_workbook(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(60))
    with pytest.raises(DataError, match="ZIP archive.*xlsx.*Save it as CSV UTF-8"):
        read_table(path)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_excel_sep_line_names_the_delimiter_and_is_not_a_row(tmp_path, ending):
    # Excel's "sep=;" first line: read as data, it made 'text' an example of class 'label'
    path = tmp_path / "t.csv"
    path.write_bytes(("sep=;" + ending + table_text(ending, ";")).encode())
    examples = read_table(path)
    assert examples.classes == ("neg", "pos") and len(examples) == 4
    assert examples.ids[0] == "t.csv:3"  # line numbers still those of the file


def test_nan_labels_in_a_number_column_are_skipped_not_a_class(tmp_path):
    # pandas' df.astype(str).to_csv() writes a missing label as 'nan'; R writes 'NA'
    path = tmp_path / "t.csv"
    path.write_text("text,label\ngood soup,1.0\nbad soup,0.0\nfine tea,nan\nold tea,NA\nnice,1.0\nugh,0.0\n")
    examples = read_table(path)
    assert examples.classes == ("0.0", "1.0")  # labels written one way are kept as written
    assert [r for _, r in examples.skipped] == ["missing label ('nan')", "missing label ('NA')"]


def test_words_like_none_stay_classes_when_the_labels_are_not_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label\nbook a table,booking\nhello there,None\ncancel it,booking\nhi,None\n")
    assert read_table(path).classes == ("None", "booking")  # an intent 'None' is a real class


def test_one_number_written_as_int_and_float_is_one_class(tmp_path):
    # two exports concatenated, one with an int column, one with a float column (it had a NaN)
    path = tmp_path / "t.csv"
    path.write_text("text,label\ngood soup,1\nbad soup,0\nfine tea,1.0\nold tea,0.0\n")
    with pytest.warns(UserWarning, match="same number two ways.*'1.0' as '1'"):
        examples = read_table(path)
    assert examples.labels == ("1", "0", "1", "0")


def test_labels_differing_in_case_warn_and_stay_separate(tmp_path):
    # 'Pos' may be a typo for 'pos' or a real distinction: kept as written, but said out loud
    path = tmp_path / "t.csv"
    path.write_text("text,label\ngood soup,pos\nbad soup,neg\nfine tea,Pos\nold tea,neg\n")
    with pytest.warns(UserWarning, match=r"labels 'pos' \(1\) and 'Pos' \(1\) differ only in case"):
        examples = read_table(path)
    assert examples.classes == ("Pos", "neg", "pos")
    with pytest.warns(UserWarning, match="differ only in case or spacing"):
        examples_from(["a", "b", "c"], ["very good", "Very  good", "bad"], {}, None)


def test_distinct_labels_do_not_warn(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(table_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_table(path)


def test_one_text_per_line_given_to_train_says_it_has_no_labels(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("the soup was cold\nlovely staff\ncold fries again\n")
    with pytest.raises(DataError, match="one text per line and no labels.*'text,label'"):
        load_examples(path)


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_a_missing_text_or_label_in_a_list_is_named_as_missing(missing):
    # df["text"].tolist() with an empty cell: the message spoke of images and image.save()
    with pytest.raises(DataError, match=r"items\[1\] is missing.*dropna"):
        examples_from(["good soup", missing], ["pos", "neg"], {}, None)
    # and str(nan) would have made a class 'nan', as the old advice said to do
    with pytest.raises(DataError, match=r"labels\[1\] is missing.*dropna"):
        examples_from(["good soup", "bad soup"], ["pos", missing], {}, None)
