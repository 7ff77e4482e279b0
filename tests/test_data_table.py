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


def test_a_text_longer_than_the_csv_modules_field_limit_is_cut_not_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("text,label\n" + "word " * 40_000 + ",positive\nshort one,negative\n")  # 200k chars
    with pytest.warns(UserWarning, match="truncated"):
        examples = read_table(path)
    assert [len(t) for t in examples.items] == [20_000, 9]  # MAX_TEXT_CHARS, then the short one


def test_excel_unicode_text_utf16_is_decoded_with_or_without_its_byte_order_mark(tmp_path):
    content = "text,label\nun très bon film,positif\nquel ennui,négatif\n"
    for name, data in (("bom.csv", content.encode("utf-16")),
                       ("le.csv", content.encode("utf-16-le"))):  # no BOM: NULs give it away
        path = tmp_path / name
        path.write_bytes(data)
        assert read_table(path).classes == ("négatif", "positif"), name


def test_one_stray_byte_does_not_turn_a_utf8_file_into_latin1(tmp_path):
    path = tmp_path / "mixed.csv"
    lines = ["text,label", "très bien,positif", "nul à chier,négatif", "ça va,positif", "bof,négatif"]
    path.write_bytes("\n".join(lines).encode() + b"\ncaf\xe9 froid,n\xc3\xa9gatif\n")
    with pytest.warns(UserWarning, match=r"1 bytes are not valid UTF-8 \(first on line 6\)"):
        examples = read_table(path)
    # the labels keep their accents; only the bad byte became U+FFFD
    assert examples.classes == ("négatif", "positif") and examples.items[-1] == "caf\ufffd froid"


def test_skipped_rows_are_named_by_their_line_in_the_file_blank_lines_included(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text('text,label\na,x\n\n\nb,y\n"multi\nline",x\n,y\nc,x\n')
    examples = read_table(path)
    assert examples.skipped == (("blank.csv:8", "empty text"),)  # line 8: the quoted text spans 6-7


def test_one_column_cannot_be_both_text_and_label_and_twice_named_columns_warn(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label,text\nfirst,a,second\nthird,b,fourth\n")
    with pytest.raises(DataError, match="cannot be both the text and the label"):
        read_table(path, text_column="text", label_column="text")
    with pytest.warns(UserWarning, match="2 columns named 'text'; the first one is used"):
        assert read_table(path).items == ("first", "third")


def test_a_binary_file_named_csv_says_it_is_binary(tmp_path):
    # a JPEG renamed .csv surfaced Python's "new-line character seen in unquoted field" message
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\r\x00abc\r\ndef\x00\x00")
    with pytest.raises(DataError, match="is a binary file"):
        read_table(path)


def test_a_header_of_unknown_names_read_as_an_example_is_warned_about(tmp_path):
    # 'phrase,verdict' became an example of a class 'verdict' without a word
    path = tmp_path / "t.csv"
    path.write_text("phrase,verdict\nhot soup today,good\ncold soup again,bad\nwarm bread,good\n"
                    "burnt toast,bad\n")
    with pytest.warns(UserWarning, match="--text-column phrase --label-column verdict"):
        examples = read_table(path)
    assert "verdict" in examples.labels  # still read as written: the warning says how to change it


def test_a_first_row_whose_label_repeats_is_not_warned_about(tmp_path, recwarn):
    path = tmp_path / "t.csv"
    path.write_text("hot soup today,good\ncold soup again,bad\nwarm bread,good\nburnt toast,bad\n")
    read_table(path)
    assert not [w for w in recwarn if "may name the columns" in str(w.message)]
