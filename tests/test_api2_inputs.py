"""Classifier's inputs as a new Python user gets them wrong: a folder with splits handed to
evaluate, a test folder of one class, a misspelled or misplaced reading keyword, a progress
callback that is not one. Each is refused in one line naming the fix, or read as the CLI reads it."""

import pytest

from conftest import make_color_tree
from handful import Classifier
from handful.data import scan_folder
from handful.errors import DataError


@pytest.fixture
def fitted(color_tree):
    return Classifier("test_tiny_image", head="prototype").fit(color_tree)


def test_evaluate_on_a_folder_with_splits_scores_its_held_out_split_not_train(color_splits):
    clf = Classifier("test_tiny_image", head="prototype").fit(color_splits)  # fit reads train/
    assert clf.training_["n"] == 18
    assert clf.evaluate(color_splits)["n"] == 12  # val/ (4 per class), as `handful evaluate` reads it
    make_color_tree(color_splits / "test", 2, seed=3)
    assert clf.evaluate(color_splits)["n"] == 6  # test/ first
    assert clf.score(color_splits) == 1.0


def test_a_test_folder_of_one_class_is_scored_as_in_the_cli(fitted, tmp_path):
    one = make_color_tree(tmp_path / "only_red", 3, classes=("red",))
    report = fitted.evaluate(one)  # was "needs at least 2 class sub-folders"
    assert report["n"] == 3 and report["accuracy"] == 1.0
    assert fitted.score(one) == 1.0


@pytest.mark.parametrize("call", [
    lambda clf, data: clf.fit(data, nestd=True),
    lambda clf, data: clf.fit_support(data, nestd=True),
    lambda clf, data: clf.evaluate(data, nestd=True),
    lambda clf, data: clf.score(data, nestd=True),
], ids=["fit", "fit_support", "evaluate", "score"])
def test_a_misspelled_reading_keyword_names_the_right_one(call, fitted, color_tree):
    with pytest.raises(DataError, match="unexpected keyword argument 'nestd'. Did you mean 'nested'") as caught:
        call(fitted, color_tree)  # was load_examples()'s TypeError, a function the user never called
    assert isinstance(caught.value, TypeError) and "text_column" in str(caught.value)


def test_a_reading_keyword_that_does_not_apply_to_the_data_is_refused_not_ignored(color_tree, text_csv):
    with pytest.raises(DataError, match=r"fit\(text_column=...\) applies to a table.*is a folder.*Drop"):
        Classifier("test_tiny_image", head="prototype").fit(color_tree, text_column="caption")
    with pytest.raises(DataError, match=r"nested=...\) applies to a folder.*is a table"):
        Classifier("test_tiny_text", head="prototype").fit(text_csv, nested=True)
    with pytest.raises(DataError, match=r"nested=...\) applies to a folder or a table.*data is Examples"):
        Classifier("test_tiny_image", head="prototype").fit(scan_folder(color_tree), nested=True)
    with pytest.raises(DataError, match=r"text_column=...\).*data is a list of items"):
        Classifier("test_tiny_text", head="prototype").fit(["a b", "c d"], ["x", "y"], text_column="t")
    clf = Classifier("test_tiny_text", head="prototype").fit(text_csv, text_column="text", nested=False)
    assert clf.score(text_csv, label_column="label") == 1.0  # keywords that apply are read as before


@pytest.mark.parametrize("method", ["fit", "fit_support"])
def test_a_progress_that_is_not_a_callback_is_refused_before_the_embedding(method, fitted, color_tree):
    with pytest.raises(DataError, match="progress is a callback"):
        getattr(fitted, method)(color_tree, None, 5)  # was "'int' object is not callable" after embedding


def test_save_refuses_a_folder_inside_the_training_data_as_train_does(fitted, color_tree):
    from handful.errors import BundleError

    with pytest.raises(BundleError, match="inside the data folder"):
        fitted.save(color_tree / "model")  # was saved; the next fit read 'model' as a class without images
    assert not (color_tree / "model").exists()
    assert Classifier("test_tiny_image", head="prototype").fit(color_tree).score(color_tree) == 1.0


def test_a_dataframe_is_refused_with_its_columns_named_not_read_as_its_column_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"review": ["the team won the match", "a goal in the final game",
                                  "bake the bread in the oven", "add salt to the soup"],
                       "stars": ["sports", "sports", "cooking", "cooking"]})
    clf = Classifier("test_tiny_text", head="prototype")
    with pytest.raises(DataError, match=r"DataFrame.*\(review, stars\).*fit\(df\['review'\], df\['stars'\]\)"):
        clf.fit(df)  # was "Got a list of 2 items without labels"
    clf.fit(df["review"], df["stars"])  # the fix given works
    with pytest.raises(DataError, match=r"predict\(df\['review'\]\)"):
        clf.predict(df)  # was two predictions, one for each column name
    assert clf.predict(df["review"]) == list(df["stars"])
