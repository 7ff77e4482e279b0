"""Text files as real users save them: a BOM before a header in a Windows-1252 file, a quoted
text over two lines, blank-looking trailing rows, labels with spaces, a file of only a header, and
a text with an unquoted comma read by predict."""

import warnings

import pytest

from handful.data import read_table
from handful.errors import DataError


def test_a_bom_before_the_header_of_a_windows_1252_file_does_not_hide_the_text_column(tmp_path):
    # before: the BOM was read as cp1252 'ï»¿', so the header was 'ï»¿text' and no text column was found
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbftext,label\ncaf\xe9 au lait,drink\nbread,food\n")
    with pytest.warns(UserWarning, match="not valid UTF-8"):
        examples = read_table(path)
    assert examples.items == ("café au lait", "bread")
    assert examples.classes == ("drink", "food")


def test_a_quoted_text_over_two_lines_each_with_one_comma_stays_one_row(tmp_path):
    # before: every line had 2 fields, so the quotes were taken for stray ones and the review
    # became two rows, one of class 'nice staff.'
    path = tmp_path / "reviews.csv"
    path.write_text('text,label\n"Great food, nice staff.\nWould come back",pos\nbad soup,neg\n')
    examples = read_table(path)
    assert examples.items == ("Great food, nice staff.\nWould come back", "bad soup")
    assert examples.labels == ("pos", "neg")


def test_a_tsv_whose_line_starts_with_a_stray_quote_is_still_read_line_by_line(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_text('text\tlabel\n" The plot was great.\t1\nplain and dull\t0\n')
    assert read_table(path).items == ('" The plot was great.', "plain and dull")


@pytest.mark.parametrize("tail", ["   \n", ",\n,\n", "\t\n", " , \n\n"])
@pytest.mark.parametrize("labeled", [True, False])
def test_rows_with_nothing_in_them_are_ignored_like_blank_lines(tmp_path, tail, labeled):
    # before: listed as skipped ("empty text", "row has 1 fields"): rows the user cannot see
    path = tmp_path / "d.csv"
    path.write_text("text,label\ngood soup,pos\nbad soup,neg\n" + tail)
    examples = read_table(path, labeled=labeled)
    assert examples.items == ("good soup", "bad soup")
    assert examples.skipped == ()


def test_a_row_with_an_empty_text_but_a_label_is_still_listed(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\ngood soup,pos\n ,neg\nbad soup,neg\n")
    assert read_table(path).skipped == (("d.csv:3", "empty text"),)


@pytest.mark.parametrize("content", ["text , label \ngood soup , pos \nbad soup,  neg\nfine soup,pos\n",
                                     '"text","label"\n"good soup"," pos"\n"bad soup","neg "\n"fine soup","pos"\n',
                                     "text\tlabel\ngood soup\t pos\nbad soup\tneg \nfine soup\tpos\n"])
def test_spaces_around_labels_and_column_names_are_trimmed(tmp_path, content):
    path = tmp_path / "d.csv"
    path.write_text(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ' pos' and 'pos' are one class, not a case/spacing clash
        examples = read_table(path)
    assert examples.labels == ("pos", "neg", "pos")


@pytest.mark.parametrize("content", ["text,label\n", "text,label\r\n\r\n", "\ufefftext,label", "review,stars\n",
                                     "text,label\n,\n"])
@pytest.mark.parametrize("labeled", [True, False])
def test_a_file_of_only_a_header_says_so(tmp_path, content, labeled):
    # before: 'review,stars' asked for --label-column, which then led to "no usable rows"
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=r"has a header \[.*\] and nothing under it\. Add rows of text"):
        read_table(path, labeled=labeled)


def test_predict_reads_an_unquoted_comma_in_a_text_as_train_does(tmp_path):
    # before: predict (labeled=False) read 'great food' alone, train read the whole text
    path = tmp_path / "d.csv"
    path.write_text("text,label\ngreat food, nice staff,pos\nawful,neg\n")
    assert read_table(path, labeled=False).items == read_table(path).items == ("great food, nice staff", "awful")
    ids_first = tmp_path / "ids.csv"
    ids_first.write_text("id,text\n1,great food, nice staff\n2,awful\n")
    assert read_table(ids_first, labeled=False).items == ("great food, nice staff", "awful")


def test_a_file_of_only_a_header_named_by_the_columns_given_says_so(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("phrase,verdict\n")
    with pytest.raises(DataError, match=r"has a header \['phrase', 'verdict'\] and nothing under it"):
        read_table(path, text_column="phrase", label_column="verdict")
