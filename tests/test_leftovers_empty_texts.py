"""fit(texts, labels) skips an empty or whitespace-only text before anything else, as the table
loader does, lists it as skipped and says so."""

import warnings

import pytest

from handful import Classifier
from handful.errors import DataError

TEXTS = ["good food", "", "   \t", "bad food", "nice place", "awful place"]
LABELS = ["pos", "pos", "neg", "neg", "pos", "neg"]


def test_fit_on_a_list_warns_about_empty_texts_and_lists_them_as_skipped():
    # before: the empty texts were dropped silently at embedding time, with no warning
    with pytest.warns(UserWarning, match=r"2 of the 6 texts given are empty or only whitespace \(e\.g\. items\[1\]"):
        clf = Classifier("test_tiny_text", head="prototype").fit(TEXTS, LABELS)
    assert clf.training_["skipped"] == [{"path": "items[1]", "reason": "empty text"},
                                        {"path": "items[2]", "reason": "empty text"}]
    assert clf.training_["counts"] == {"neg": 2, "pos": 2}


def test_the_empty_text_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        Classifier("test_tiny_text", head="prototype").fit(TEXTS, LABELS)
    (empty,) = [w for w in log if "texts given are empty" in str(w.message)]
    assert empty.filename == __file__  # stacklevel: the user's fit call, not handful's inside


def test_a_class_of_only_empty_texts_is_refused_naming_it():
    with pytest.raises(DataError, match=r"Class 'mid' in the list given has no usable examples left \(1 skipped"):
        with pytest.warns(UserWarning, match="empty"):
            Classifier("test_tiny_text", head="prototype").fit(["good", " ", "bad"], ["pos", "mid", "neg"])


def test_texts_without_empty_ones_fit_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = Classifier("test_tiny_text", head="prototype").fit(["good", "bad", "fine", "poor"],
                                                                  ["pos", "neg", "pos", "neg"])
    assert clf.training_["skipped"] == []
