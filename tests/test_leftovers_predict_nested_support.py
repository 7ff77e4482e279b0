"""``predict --support`` on an alphabet/character/ tree without --nested warns, as scan_many does."""

import warnings

import pytest

from conftest import make_color_tree
from handful import Classifier
from handful.cli import main


@pytest.fixture
def model(color_tree, tmp_path) -> str:
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    return str(tmp_path / "m")


@pytest.fixture
def alphabets(tmp_path):
    """support/warm/{red,green}/ and support/cool/{blue,green}/: two characters per alphabet."""
    flat = make_color_tree(tmp_path / "flat", 2, seed=3)
    other = make_color_tree(tmp_path / "flat2", 2, seed=5)
    root = tmp_path / "support"
    for parent, leaf, src in [("warm", "red", flat), ("warm", "green", flat), ("cool", "blue", flat),
                              ("cool", "green", other)]:
        (root / parent).mkdir(parents=True, exist_ok=True)
        (src / leaf).rename(root / parent / leaf)
    return root


def test_predict_support_on_a_nested_tree_without_nested_warns(model, alphabets, tmp_path):
    queries = make_color_tree(tmp_path / "queries", 1, seed=4)
    # before: the alphabets silently became the classes ('warm', 'cool')
    with pytest.warns(UserWarning, match="Every class folder .* pass --nested"):
        code = main(["predict", model, str(queries), "--support", str(alphabets), "--json"])
    assert code == 0


def test_predict_support_in_a_train_split_is_checked_in_that_split(model, alphabets, tmp_path):
    queries = make_color_tree(tmp_path / "queries", 1, seed=4)
    (tmp_path / "split").mkdir()
    alphabets.rename(tmp_path / "split" / "train")  # the train/ split is what is read
    with pytest.warns(UserWarning, match="split.train holds its images in sub-folders"):
        assert main(["predict", model, str(queries), "--support", str(tmp_path / "split"), "--json"]) == 0


def test_predict_support_with_nested_or_a_flat_tree_does_not_warn(model, alphabets, color_tree, tmp_path):
    queries = make_color_tree(tmp_path / "queries", 1, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["predict", model, str(queries), "--support", str(alphabets), "--nested", "--json"]) == 0
        assert main(["predict", model, str(queries), "--support", str(color_tree), "--json"]) == 0
