"""Warnings point at the user's line, and the CLI keeps the noise filters modules set at import."""

import warnings

import pytest

from conftest import make_color_image
from handful import Classifier
from handful.cli import main

SINGLE = "Some classes have a single example"


@pytest.fixture
def one_shot_tree(tmp_path):
    """Class 'red' with 3 images, class 'blue' with 1: the single-example warning."""
    for i in range(3):
        make_color_image(tmp_path / "data" / "red" / f"r{i}.png", (220, 30, 30), i)
    make_color_image(tmp_path / "data" / "blue" / "b0.png", (30, 30, 220), 9)
    return tmp_path / "data"


@pytest.mark.parametrize("call", ["fit", "fit_embeddings"])
def test_the_single_example_warning_points_at_the_callers_line(one_shot_tree, call):
    # it named heads/threads.py (the single_threaded wrapper of fit_embeddings), not this file
    clf = Classifier("test_tiny_image", head="prototype", cache=False)
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        if call == "fit":
            clf.fit(one_shot_tree)
        else:
            X, examples = clf.embed_examples(clf.examples_of(one_shot_tree, None, {}))
            clf.fit_embeddings(X, examples)
    [single] = [w for w in log if str(w.message).startswith(SINGLE)]
    assert single.filename == __file__


def test_a_filter_a_module_set_at_import_still_applies_in_the_cli(one_shot_tree, tmp_path, capsys):
    # main's simplefilter("default") went in front of every filter set before the command, so
    # noise a module hides at import (export.onnx's exporter notes) showed in the CLI
    def shown_by_train(out: str, hide: bool) -> list[str]:
        with warnings.catch_warnings(record=True) as log:
            if hide:  # as a module does at import
                warnings.filterwarnings("ignore", message=SINGLE)
            code = main(["train", str(one_shot_tree), "--backbone", "test_tiny_image", "--head",
                         "prototype", "--no-cache", "--out", str(tmp_path / out)])
        capsys.readouterr()
        assert code == 0
        return [str(w.message) for w in log]

    assert any(m.startswith(SINGLE) for m in shown_by_train("shown", hide=False))  # the CLI shows it
    assert not any(m.startswith(SINGLE) for m in shown_by_train("hidden", hide=True))
