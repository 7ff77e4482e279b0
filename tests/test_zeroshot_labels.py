"""The shipped ImageNet label list and the matching of class names to data labels."""

import pytest

from handful.errors import DataError
from handful.zeroshot import imagenet_class_names, match_class_names, parse_class_list
from handful.zeroshot.labels import class_phrase, imagenet_label_texts


def test_imagenet_names_follow_the_standard_class_index():
    # The EfficientNet-Lite head's output j means these classes; a shifted list breaks ConSE.
    names = imagenet_class_names()
    assert len(names) == 1000
    assert (names[0], names[1], names[309], names[310], names[985], names[999]) == (
        "tench", "goldfish", "bee", "ant", "daisy", "toilet tissue")


def test_label_texts_drop_latin_binomials_but_keep_english_synonyms():
    texts = imagenet_label_texts()
    assert texts[0] == "tench"  # "Tinca tinca" is Latin
    assert texts[310] == "ant, emmet, pismire"


@pytest.mark.parametrize("names, labels, expected", [
    (["ant", "bee"], ["ants", "bees"], {"ants": "ant", "bees": "bee"}),
    (["bee", "ant"], ["ants", "bees"], {"ants": "ant", "bees": "bee"}),  # by name, not order
    (["Daisy", "rose"], ["daisies", "roses"], {"daisies": "Daisy", "roses": "rose"}),
    (["positive", "negative"], ["0", "1"], {"0": "positive", "1": "negative"}),  # in order
    (["one", "two", "ten"], ["10", "2", "1"], {"1": "one", "2": "two", "10": "ten"}),  # numbers: by value
])
def test_class_names_match_labels_by_name_else_in_sorted_order(names, labels, expected):
    assert match_class_names(names, labels) == expected


def test_a_different_number_of_names_and_labels_is_an_error_that_names_the_fix():
    with pytest.raises(DataError, match="one name per label"):
        match_class_names(["cat", "dog", "bird"], ["0", "1"])


@pytest.mark.parametrize("text", ["cat", "cat,cat", " , "])
def test_class_list_needs_two_distinct_names(text):
    with pytest.raises(DataError, match="at least 2 distinct"):
        parse_class_list(text)


def test_folder_names_become_words():
    assert class_phrase("golden_retriever") == "golden retriever"
    assert class_phrase("sea-lion") == "sea lion"
