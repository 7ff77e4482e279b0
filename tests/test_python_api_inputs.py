"""The Classifier as a scikit-learn user meets it: fit(items, labels), score, clone, and inputs it
cannot use said in one line (or a warning) rather than a TypeError from deep inside or a silent None."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone

from handful import Classifier, load
from handful.errors import DataError

TEXTS = ["the team won the match", "a goal in the final game", "bake the bread in the oven",
         "add salt to the soup"]
TOPICS = ["sports", "sports", "cooking", "cooking"]


def listed(color_tree: Path) -> tuple[list[Path], list[str]]:
    paths = sorted(color_tree.rglob("*.*"))
    return paths, [p.parent.name for p in paths]


def test_fit_takes_items_and_labels_as_scikit_learn_does_and_returns_itself(color_tree):
    paths, labels = listed(color_tree)
    clf = Classifier("test_tiny_image", head="prototype")
    assert clf.fit(paths, labels) is clf  # was "Data must be a path ... got list"
    assert list(clf.classes_) == ["blue", "green", "red"]  # sorted, as in the folder reading
    assert clf.score(paths, labels) == 1.0  # colors are separable
    assert clf.score(color_tree) == 1.0  # a folder carries its own labels
    texts = Classifier("test_tiny_text", head="prototype").fit(TEXTS, TOPICS)
    assert texts.predict(["the match", "the soup"]) == ["sports", "cooking"]
    assert texts.evaluate(["the final match"], labels=["sports"])["accuracy"] == 1.0


def test_without_a_named_backbone_a_list_of_files_is_read_as_images_and_texts_as_texts(color_tree):
    paths, labels = listed(color_tree)
    assert Classifier().examples_of(paths, labels, {}).modality == "image"
    assert Classifier().examples_of(TEXTS, TOPICS, {}).modality == "text"
    with pytest.raises(DataError, match="look like image paths. Check the paths"):
        Classifier().examples_of(["cats/1.jpg", "dogs/1.jpg"], ["cats", "dogs"], {})  # typos, not texts


@pytest.mark.parametrize("data, labels, message", [
    (TEXTS, None, "without labels. Pass their labels too"),
    (TEXTS, [0, 0, 1, 1], r"labels\[0\] is int 0.*\[str\(label\) for label in labels\]"),  # '0' != 0 afterwards
    (TEXTS, "sports", "labels must be a list of class names"),
    (TEXTS, print, "progress="),  # the old second positional argument
    ("DATA", ["a"], "a folder, table or Examples carries its own labels"),
    (TEXTS, ["sports"], "4 items and 1 labels"),
])
def test_lists_that_cannot_be_fitted_are_refused_in_one_line(data, labels, message, color_tree):
    data = str(color_tree) if data == "DATA" else data
    with pytest.raises(DataError, match=message):
        Classifier("test_tiny_text", head="prototype").fit(data, labels)


@pytest.fixture
def fitted(color_tree):
    return Classifier("test_tiny_image", head="prototype").fit(color_tree)


def test_an_image_object_is_refused_with_the_fix_not_a_type_error(fitted, color_tree):
    path = next((color_tree / "red").glob("*.png"))
    for item in (Image.open(path), np.zeros((32, 32, 3), np.uint8)):
        with pytest.raises(DataError, match=r"items\[0\] is a \w+, not an image path.*Save it first"):
            fitted.predict([item])
    assert fitted.predict([path]) == ["red"]  # a Path is a path


def test_unusable_items_are_warned_about_not_silently_none(fitted, color_tree, tmp_path):
    good = str(next((color_tree / "red").glob("*.png")))
    with pytest.warns(UserWarning, match=r"1 of 2 items could not be used.*'.*nope.jpg': cannot be read"):
        assert fitted.predict([good, str(tmp_path / "nope.jpg")]) == ["red", None]
    with pytest.warns(UserWarning, match="rows are NaN"):
        assert np.isnan(fitted.predict_proba([str(tmp_path / "nope.jpg")])).all()


def test_evaluate_with_labels_in_the_progress_place_says_how_to_pass_them(fitted, color_tree):
    paths, labels = listed(color_tree)
    with pytest.raises(DataError, match="labels=labels"):
        fitted.evaluate(paths, labels)  # was "'list' object is not callable" deep inside


def test_get_params_and_clone_work_as_for_any_estimator(fitted, tmp_path):
    assert fitted.get_params()["head"] == "prototype"
    twin = clone(fitted)  # was a TypeError: no get_params
    assert twin.get_params() == fitted.get_params() and not hasattr(twin, "classes_")
    assert clone(Classifier(head="knn", head_params={"n_neighbors": 1})).head_params == {"n_neighbors": 1}
    fitted.save(tmp_path / "m")
    assert clone(load(tmp_path / "m")).backbone == "test_tiny_image"


def test_fit_support_takes_items_and_labels(fitted, color_tree):
    paths, labels = listed(color_tree)
    keep = [i for i, label in enumerate(labels) if label != "green"]
    clf = fitted.fit_support([paths[i] for i in keep], [labels[i] for i in keep])
    assert list(clf.classes_) == ["blue", "red"] and clf.training_["support_set"]
