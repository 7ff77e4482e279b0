"""The Python API refuses arguments that cannot work with a HandfulError naming the fix, instead of
a wrong answer (a path string iterated as characters) or a KeyError/IndexError from deep inside."""

import numpy as np
import pytest

from handful import Classifier
from handful.data import Examples, list_images
from handful.errors import DataError, NotFittedError, UnknownNameError
from handful.fewshot.episodes import split_classes
from handful.heads import create_head
from handful.select.models import search_models
from handful.zeroshot.scorer import ZeroShotScorer


@pytest.fixture
def fitted(color_tree):
    return Classifier(backbone="test_tiny_image", head="prototype").fit(color_tree)


def test_one_path_string_is_refused_not_read_as_characters(fitted, color_tree):
    path = str(next((color_tree / "red").iterdir()))
    for call in (fitted.predict, fitted.predict_proba):
        with pytest.raises(DataError, match=r"Wrap it in a list"):
            call(path)  # would be one "item" per character, each None
    assert fitted.predict([path]) == ["red"]  # the fix the message gives works


def test_zero_shot_needs_two_class_names_and_a_known_modality():
    with pytest.raises(DataError, match="at least 2 class names"):
        ZeroShotScorer(["only"])  # every item would get that one class
    with pytest.raises(DataError, match="Unknown modality 'audio'"):
        ZeroShotScorer(["a", "b"], modality="audio")
    with pytest.raises(DataError, match="Wrap it in a list"):
        ZeroShotScorer("ab")  # two classes 'a' and 'b' by accident


def test_unknown_modality_is_a_clear_error(fitted):
    with pytest.raises(DataError, match="Unknown modality 'audio'"):
        Classifier().embed(["hi"], "audio")
    with pytest.raises(DataError, match="Unknown modality"):
        Examples(("a", "b"), ("x", "y"), "audio")
    with pytest.raises(DataError, match="2 items and 1 labels"):
        Examples(("a", "b"), ("x",), "text")


@pytest.mark.parametrize("kwargs,message", [
    ({"augment_views": -1}, "augment_views"),
    ({"batch_size": 0}, "batch_size"),
    ({"head": "knn", "head_params": {"foo": 1}}, "does not take those parameters"),
    ({"zero_shot_prior": True, "class_names": ["neg", "pos"]}, "class_names"),
    # the prior's own head without the prior had no class-name scores and acted as a plain prototype
    ({"head": "zeroshot_prior"}, "zero_shot_prior=True"),
])
def test_bad_constructor_arguments_fail_at_fit_before_any_work(kwargs, message, color_tree):
    clf = Classifier(backbone="test_tiny_image", **{"head": "prototype", **kwargs})
    with pytest.raises(DataError, match=message):
        clf.fit(color_tree)


def test_create_head_names_its_parameters():
    with pytest.raises(DataError, match="n_neighbors"):
        create_head("knn", foo=1)


def test_examples_objects_get_the_same_class_checks_as_folders(fitted):
    clf = Classifier(backbone="test_tiny_image", head="prototype")
    with pytest.raises(DataError, match="at least 2 classes"):
        clf.fit(Examples((), (), "image"))
    with pytest.raises(DataError, match=r"hold 1 \(\['a'\]\)"):
        Classifier(backbone="test_tiny_text", head="prototype").fit(Examples(("x", "y"), ("a", "a"), "text"))
    with pytest.raises(DataError, match="support set needs at least 2 classes"):
        fitted.fit_support(Examples((), (), "image"))
    with pytest.raises(DataError, match="holds no example"):
        fitted.evaluate(Examples((), (), "image"))


def test_search_models_names_a_backbone_without_embeddings():
    X, y = np.random.default_rng(0).normal(size=(12, 4)), np.array(["a", "b"] * 6)
    with pytest.raises(UnknownNameError, match="No embeddings for backbone 'b'"):
        search_models({"a": X}, y, ["a+b"])
    with pytest.raises(DataError, match="at least one backbone"):
        search_models({}, y)


def test_export_of_an_unfitted_classifier_says_fit_first(tmp_path):
    pytest.importorskip("onnx")
    from handful.export import export_onnx

    with pytest.raises(NotFittedError, match="not fitted"):
        export_onnx(Classifier(backbone="test_tiny_image"), tmp_path / "x.onnx")


def test_list_images_takes_one_folder_as_well_as_a_list(color_tree):
    assert list_images(str(color_tree)) == list_images([str(color_tree)])
    assert len(list_images(color_tree)[0]) == 18


def test_split_classes_docstring_example_is_what_it_returns():
    # the documented example (episodes.py); it once showed the other alphabet held out
    assert split_classes(["A/1", "A/2", "B/1", "C/1"], 0.34, by_parent=True) == (["A/1", "A/2", "B/1"], ["C/1"])



def test_image_and_folder_errors_are_handful_errors(tmp_path):
    from handful.data import load_image, scan_folder

    with pytest.raises(DataError, match="cannot be read"):  # was a bare Exception subclass
        load_image(tmp_path / "nope.jpg")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="is a file"):  # it said "does not exist"
        scan_folder(tmp_path / "notes.txt")


def test_a_path_that_is_not_a_path_and_an_unknown_modality_are_one_line_errors():
    from handful import load
    from handful.backbones import list_backbones

    with pytest.raises(DataError, match="must be a path"):
        Classifier(backbone="test_tiny_image").fit(42)  # was pathlib's TypeError
    with pytest.raises(DataError, match="A model must be a path"):
        load(3)  # was "damaged or not written by handful"
    with pytest.raises(DataError, match="Unknown modality 'audio'"):
        list_backbones(modality="audio")  # was an empty list
