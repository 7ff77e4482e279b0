"""A headerless text file whose first line is a sentence with a comma is not warned about as a
possible header: the warning is for a row that could name columns ('review,stars')."""

import warnings

import pytest

from handful.data.table import read_table

SENTENCES = ["The soup was cold, and the bread stale.", "Great service, friendly staff.",
             "I would come back, maybe.", "Nice room, small bed", "Bad, very bad!"]


@pytest.mark.parametrize("suffix", [".txt", ".csv"])
def test_sentences_with_commas_read_whole_for_predict_without_a_header_warning(tmp_path, suffix):
    path = tmp_path / f"reviews{suffix}"
    path.write_text("\n".join(SENTENCES) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: 'its rows have 2 fields ... read as a text'
        examples = read_table(path, labeled=False)
    assert examples.items == tuple(SENTENCES)


def test_a_first_row_that_could_name_columns_is_still_warned_about(tmp_path):
    # 'my review, my score' could be a header nobody recognises: say how to name the column
    path = tmp_path / "reviews.txt"
    path.write_text("my review, my score\n" + "\n".join(SENTENCES) + "\n")
    with pytest.warns(UserWarning, match="--text-column"):
        read_table(path, labeled=False)
