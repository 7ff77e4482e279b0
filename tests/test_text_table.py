"""Text input handling: encodings, quoting, delimiters inside texts, empty and long texts, labels."""

import warnings

import pytest

from handful.data import read_table
from handful.data.table import MAX_TEXT_CHARS
from handful.errors import DataError
from handful.text.prepare import read_unlabeled


def test_tsv_with_stray_quotes_keeps_every_row_and_the_quotes(tmp_path):
    # the UCI imdb file: a quote opening a field would swallow the following lines in a CSV reader
    path = tmp_path / "reviews.tsv"
    path.write_text('sentence\tlabel\na "so-called" classic\t0\n" The plot was great.\t1\n'
                    "plain and dull\t0\nwonderful acting\t1\n")
    examples = read_table(path)
    assert len(examples) == 4
    assert examples.items[:2] == ('a "so-called" classic', '" The plot was great.')
    assert examples.labels == ("0", "1", "0", "1")


def test_quoted_tsv_fields_lose_their_enclosing_quotes(tmp_path):
    path = tmp_path / "quoted.tsv"
    path.write_text('text\tlabel\n"great, really ""great"" food"\tgood\n"cold soup"\tbad\n')
    examples = read_table(path)
    assert examples.items == ('great, really "great" food', "cold soup")


def test_quoted_csv_keeps_line_breaks_and_commas_inside_quotes(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('text,label\n"first line\nsecond line, with comma",a\n"other",b\n')
    examples = read_table(path)
    assert examples.items == ("first line\nsecond line, with comma", "other")
    assert examples.labels == ("a", "b")


def test_unquoted_csv_text_with_commas_is_joined_back(tmp_path):
    # two columns: every field but the label belongs to the text
    path = tmp_path / "plain.csv"
    path.write_text("text,label\ngreat food, nice staff, fair prices,positive\nawful,negative\n")
    examples = read_table(path)
    assert examples.items[0] == "great food, nice staff, fair prices"
    assert examples.labels == ("positive", "negative")


def test_row_with_too_many_fields_in_a_wider_table_is_skipped_not_misread(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("text,label,source\nfine text,a,web\nbroken, text,b,web\nother,b,web\n")
    examples = read_table(path)
    assert examples.items == ("fine text", "other")
    assert examples.skipped == (("wide.csv:3", "row has 4 fields, expected 3"),)


def test_headerless_table_whose_first_row_has_a_comma_in_the_text(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text("well, that was a fine meal,good\nthe soup was cold,bad\nlovely dessert,good\n")
    examples = read_table(path)
    assert examples.items[0] == "well, that was a fine meal"
    assert examples.classes == ("bad", "good")


@pytest.mark.parametrize("label", ["very good", "très bien", "好", "label with  two spaces"])
def test_labels_with_spaces_and_non_ascii_characters_are_kept(tmp_path, label):
    path = tmp_path / "labels.csv"
    path.write_text(f'text,label\nfirst text," {label} "\nsecond text,other\n', encoding="utf-8")
    examples = read_table(path)
    assert label in examples.classes  # surrounding spaces trimmed, inner ones and script kept


def test_utf8_bom_does_not_leak_into_the_header(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes("text\tlabel\nnaïve\tx\nplain\ty\n".encode("utf-8-sig"))
    assert read_table(path).items == ("naïve", "plain")


def test_empty_texts_and_labels_are_skipped_and_listed(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text('text,label\n"",a\n   ,a\nkept,a\nno label,\nalso kept,b\n')
    examples = read_table(path)
    assert examples.items == ("kept", "also kept")
    assert [reason for _, reason in examples.skipped] == ["empty text", "empty text", "empty label"]


def test_very_long_texts_are_truncated_with_a_warning(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(f"text,label\n{'word ' * 5000},a\nshort,b\n")
    with pytest.warns(UserWarning, match="1 text longer than 20000 characters was truncated"):
        examples = read_table(path)
    assert len(examples.items[0]) == MAX_TEXT_CHARS


def test_header_with_a_suffixed_label_column_asks_for_the_column(tmp_path):
    path = tmp_path / "trec.tsv"
    path.write_text("question\tcoarse_label\tfine_label\nwho is it ?\tHUM\tHUM:ind\n")
    with pytest.raises(DataError, match=r"--label-column"):
        read_table(path)
    assert read_table(path, label_column="coarse_label").labels == ("HUM",)


def test_unlabeled_txt_is_one_text_per_line_commas_included(tmp_path):
    path = tmp_path / "more.txt"
    path.write_text("the food, sadly, was cold\n\nlovely place\n")
    assert read_unlabeled(path) == ["the food, sadly, was cold", "lovely place"]


def test_unlabeled_csv_with_header_uses_the_text_column(tmp_path):
    path = tmp_path / "more.csv"
    path.write_text("id,review\n1,great stuff\n2,\"not great, sadly\"\n")
    assert read_unlabeled(path) == ["great stuff", "not great, sadly"]


def test_comma_separated_file_named_tsv_is_read_by_its_commas(tmp_path):
    path = tmp_path / "reviews.tsv"  # no tab anywhere: the .tsv name is wrong, not the file
    path.write_text("text,label\nhot soup,good\ncold soup,bad\n")
    examples = read_table(path)
    assert examples.items == ("hot soup", "cold soup") and examples.labels == ("good", "bad")


def test_header_of_unknown_names_asks_for_the_columns_not_for_a_header(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("id,phrase,verdict\n1,hot soup,good\n2,cold soup,bad\n")
    with pytest.raises(DataError, match=r"--text-column and --label-column") as info:
        read_table(path)
    assert "['id', 'phrase', 'verdict']" in str(info.value) and "no header" not in str(info.value)


def test_unlabeled_table_with_an_unknown_header_over_numbers_asks_for_the_text_column(tmp_path):
    # the header row was classified as a text, and every id was glued to its text ("1,hot soup")
    path = tmp_path / "cols.csv"
    path.write_text("id,phrase\n1,hot soup\n2,cold soup\n")
    with pytest.raises(DataError, match=r"Pass --text-column") as info:
        read_table(path, labeled=False)
    assert "['id', 'phrase']" in str(info.value)
    assert read_table(path, text_column="phrase", labeled=False).items == ("hot soup", "cold soup")


def test_unknown_header_over_a_column_of_numbers_is_a_header_for_training_too(tmp_path):
    # two columns and no known name: the header row became an example of a class 'stars'
    path = tmp_path / "rated.csv"
    path.write_text("phrase,stars\nhot soup,5\ncold soup,1\n")
    with pytest.raises(DataError, match=r"--text-column"):
        read_table(path)
    examples = read_table(path, text_column="phrase", label_column="stars")
    assert examples.items == ("hot soup", "cold soup") and examples.labels == ("5", "1")


def test_a_headerless_table_of_three_columns_is_told_to_add_a_header_line(tmp_path):
    # SentEval's rows without their header: "names from the first row" would be the first text.
    path = tmp_path / "cr.tsv"
    path.write_text("it holds plenty of songs .\t1\t2\nthe zoom is weak .\t0\t5\n")
    with pytest.raises(DataError, match=r"has 3 columns") as info:
        read_table(path)
    assert "if it is data, add a first line naming the columns" in str(info.value)


def test_headerless_tables_with_number_columns_keep_their_first_row(tmp_path):
    labeled = tmp_path / "labeled.csv"
    labeled.write_text("hot soup,1\ncold soup,0\nwarm bread,1\n")  # a number in the first row too
    assert read_table(labeled).items == ("hot soup", "cold soup", "warm bread")
    ids = tmp_path / "ids.tsv"
    ids.write_text("1\thot soup\n2\tcold soup\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its first row is plainly data: nothing to warn about
        assert read_table(ids, labeled=False).items == ("hot soup", "cold soup")


def test_unlabeled_table_whose_first_row_may_name_columns_is_read_with_a_warning(tmp_path):
    # 'phrase,verdict' may be a header or a text: every line is read, and the warning says how
    # to name the text column if it is a header
    path = tmp_path / "words.csv"
    path.write_text("phrase,verdict\nhot soup,good\ncold soup,bad\n")
    with pytest.warns(UserWarning, match=r"--text-column"):
        texts = read_table(path, labeled=False).items
    assert texts == ("phrase,verdict", "hot soup,good", "cold soup,bad")
