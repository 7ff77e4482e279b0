"""How a text is named in skip lists, warnings and errors: an item of a Python list by its index as
Python counts it (``items[1]``), a table row by file and line as editors count them (``d.csv:3``)."""

import pytest

from handful import Classifier
from handful.data import read_table
from handful.data.items import examples_from
from handful.errors import DataError

TEXTS = ["good food", "", "bad food", "  ", "nice place", "awful place"]
LABELS = ["pos", "pos", "neg", "neg", "pos", "neg"]


def test_a_skipped_text_of_a_list_is_named_by_the_index_that_finds_it():
    # before: "row 2" for TEXTS[1] (counted from 1) while errors said "Item 1" (counted from 0)
    with pytest.warns(UserWarning, match=r"e\.g\. items\[1\]"):
        clf = Classifier("test_tiny_text", head="prototype").fit(TEXTS, LABELS)
    skipped = [entry["path"] for entry in clf.training_["skipped"]]
    assert skipped == ["items[1]", "items[3]"]
    assert all(not TEXTS[int(name[len("items["):-1])].strip() for name in skipped)  # indexes the list


@pytest.mark.parametrize("texts, labels, named", [
    (["good food", None, "bad food"], ["pos", "pos", "neg"], r"items\[1\] is missing"),
    (["good food", "fine food", "bad food"], ["pos", float("nan"), "neg"], r"labels\[1\] is missing"),
    (["good food", "fine food", 3], ["pos", "pos", "neg"], r"items\[2\] is a int"),
    (["good food", "fine food", "bad food"], ["pos", "pos", 0], r"labels\[2\] is int"),
])
def test_an_error_about_a_list_names_the_same_index_as_the_skip_list(texts, labels, named):
    with pytest.raises(DataError, match=named):
        examples_from(texts, labels, {}, None)


def test_a_skipped_table_row_is_named_by_file_and_line_from_1(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\ngood food,pos\n,pos\nbad food,neg\n")
    examples = read_table(path)
    assert examples.skipped == (("reviews.csv:3", "empty text"),)  # line 3 in an editor
    assert path.read_text().splitlines()[3 - 1] == ",pos"
