"""A support set too small to set the 5% familiarity threshold is not judged, and says so
(``evaluate.familiarity.MIN_JUDGED``); one big enough flags inputs unlike it as a trained model does."""

import numpy as np
import pytest
from PIL import Image

from conftest import make_color_image, make_color_tree, run_json
from handful import Classifier
from handful.cli import main
from handful.evaluate.familiarity import MIN_JUDGED, fit_familiarity


def checker(path):
    """A black-and-white checkerboard: far (cosine) from every solid-colour image of the tiny backbone."""
    rows, cols = np.indices((40, 48))
    bits = ((rows // 8 + cols // 8) % 2 * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.repeat(bits[..., None], 3, axis=2)).save(path)


@pytest.fixture
def model_and_queries(tmp_path):
    Classifier("test_tiny_image", head="prototype").fit(make_color_tree(tmp_path / "train")).save(tmp_path / "m")
    for i, color in enumerate([(220, 30, 30), (40, 60, 220)]):
        make_color_image(tmp_path / "queries" / f"q{i}.png", color, 50 + i)
    checker(tmp_path / "queries" / "checker.png")
    return tmp_path / "m", tmp_path / "queries"


def test_the_minimum_is_one_in_twenty_and_fit_familiarity_keeps_none_below_it():
    X = np.random.default_rng(0).normal(size=(MIN_JUDGED, 8))
    y = np.array(["a", "b"] * (MIN_JUDGED // 2), dtype=object)
    assert MIN_JUDGED == 20  # a 5% quantile is 1 in 20
    assert fit_familiarity(X[:-1], y[:-1], min_examples=MIN_JUDGED) is None
    assert fit_familiarity(X, y, min_examples=MIN_JUDGED).k == 5
    assert fit_familiarity(X[:5], y[:5]) is not None  # its own floor stays 3; Classifier asks for 20


def test_python_fit_support_with_few_examples_keeps_no_threshold_and_says_why(tmp_path):
    clf = Classifier("test_tiny_image").fit_support(make_color_tree(tmp_path / "s", 3))
    assert clf.familiarity_ is None  # before: a threshold from 9 numbers, flagging at random
    assert "only 9 examples; it needs 20" in clf.training_["familiarity_not_judged"]
    # NaN, not a score against a threshold that means nothing
    assert np.isnan(clf.familiarity([str(next((tmp_path / "s").rglob("*.png")))])).all()


def test_predict_json_with_a_small_support_set_marks_no_row_and_says_it_was_not_judged(capsys, model_and_queries,
                                                                                       tmp_path):
    model, queries = model_and_queries
    support = make_color_tree(tmp_path / "support", 3, seed=3)  # 9 < 20
    out = run_json(capsys, ["predict", str(model), str(queries), "--support", str(support)])
    # null, not false: a script reading `familiar is False` must not see an unjudged row as unlike
    assert [(p["familiar"], p["familiarity"]) for p in out["predictions"]] == [(None, None)] * 3
    assert out["familiarity_judged"] is False and out["n_unfamiliar"] is None
    assert "only 9 examples; it needs 20" in out["familiarity_not_judged"]
    assert "Add examples to the support set" in out["familiarity_not_judged"]  # names the fix


def test_predict_table_says_once_that_familiarity_was_not_judged(capsys, model_and_queries, tmp_path):
    model, queries = model_and_queries
    support = make_color_tree(tmp_path / "support", 3, seed=3)
    assert main(["predict", str(model), str(queries), "--support", str(support)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("Familiarity not judged") == 1 and "unlike training data" not in printed


def test_predict_with_a_support_set_of_twenty_or_more_flags_as_before(capsys, model_and_queries, tmp_path):
    model, queries = model_and_queries
    support = make_color_tree(tmp_path / "support", 7, seed=3)  # 21 >= 20
    out = run_json(capsys, ["predict", str(model), str(queries), "--support", str(support)])
    marks = {p["input"].rsplit("/", 1)[-1]: p["familiar"] for p in out["predictions"]}
    # the colours are like the support set, a checkerboard is not
    assert marks == {"q0.png": True, "q1.png": True, "checker.png": False}
    assert out["familiarity_judged"] is True and out["n_unfamiliar"] == 1
    assert "familiarity_not_judged" not in out

