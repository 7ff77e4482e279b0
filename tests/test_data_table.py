"""Reading labeled texts from CSV/TSV: sniffing, column guessing, errors that list columns."""

import pytest

from handful.data import load_examples, read_table
from handful.errors import DataError


def test_read_table_guesses_text_and_label_columns(text_csv):
    examples = read_table(text_csv)
    assert examples.modality == "text"
    assert examples.classes == ("cooking", "sports")
    assert examples.items[0] == "the team won the match"


def test_read_table_sniffs_tab_delimiter_without_header(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("a long sentence about cats\tcat\nanother long sentence on dogs\tdog\n")
    examples = read_table(path)
    assert examples.labels == ("cat", "dog")


def test_read_table_unknown_column_lists_the_columns_found(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("review,stars\ngood,5\nbad,1\n")
    with pytest.raises(DataError, match=r"found columns \['review', 'stars'\].*--label-column"):
        read_table(path, text_column="review", label_column="rating")


def test_read_table_skips_empty_texts_and_lists_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"",a\n"fine text",a\n"other text",b\n')
    examples = read_table(path)
    assert len(examples) == 2
    assert examples.skipped == (("d.csv:2", "empty text"),)


def test_read_table_handles_bom_and_non_ascii_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("text,label\nnaïve café,très bien\nplain text,pas bien\n".encode("utf-8-sig"))
    examples = read_table(path)
    assert examples.classes == ("pas bien", "très bien")


def test_read_table_falls_back_to_latin1_with_a_warning(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("text,label\ncaf\xe9 au lait,drink\nbread,food\n".encode("latin-1"))
    with pytest.warns(UserWarning, match="latin-1"):
        examples = read_table(path)
    assert examples.items[0] == "café au lait"


def test_load_examples_refuses_a_table_with_one_label(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\nx,a\ny,a\n")
    with pytest.raises(DataError, match="at least 2 classes"):
        load_examples(path)
