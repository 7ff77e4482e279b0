"""Familiarity: is an input like the training examples (k nearest neighbours on embeddings)?"""

import json

import numpy as np
import pytest

from conftest import make_color_tree
from handful import Classifier, load
from handful.errors import BundleError
from handful.evaluate.familiarity import MAX_STORED, QUANTILE, fit_familiarity


def clusters(n_per_class, centers, seed=0, spread=0.1):
    rng = np.random.default_rng(seed)
    X = np.vstack([c + spread * rng.normal(size=(n_per_class, len(c))) for c in centers])
    y = np.repeat([f"c{i}" for i in range(len(centers))], n_per_class).astype(object)
    return X, y


EYE = np.eye(16)


@pytest.fixture
def color_tree(tmp_path):
    """21 colour images (7 per class): a model trained on fewer than 20 keeps no familiarity (MIN_JUDGED)."""
    return make_color_tree(tmp_path / "colors", 7)


def test_inputs_from_elsewhere_are_flagged_and_inputs_like_the_examples_are_not():
    X, y = clusters(40, [EYE[0], EYE[1], EYE[2]])
    known = fit_familiarity(X, y)
    like, _ = clusters(40, [EYE[0], EYE[1], EYE[2]], seed=1)
    elsewhere, _ = clusters(40, [EYE[7], EYE[9]], seed=2)  # directions no training example points to
    # ~5% of inputs like the training data are flagged by construction; the others nearly all
    assert np.mean(~known.familiar(like)) < 0.15
    assert np.mean(~known.familiar(elsewhere)) > 0.95


def test_the_threshold_flags_about_one_training_example_in_twenty():
    X, y = clusters(100, [EYE[0], EYE[1]])
    known = fit_familiarity(X, y)
    Z = X / np.linalg.norm(X, axis=1, keepdims=True)
    sims = Z @ Z.T
    np.fill_diagonal(sims, -np.inf)
    loo = np.sort(sims, axis=1)[:, -known.k:].mean(axis=1)
    assert known.k == 5 and abs(np.mean(loo < known.threshold) - QUANTILE) < 0.02


def test_a_big_training_set_is_thinned_per_class_and_tiny_ones_keep_none():
    X, y = clusters(1300, [EYE[0], EYE[1]])
    y[:100] = "rare"
    known = fit_familiarity(X, y)
    assert len(known.embeddings) <= MAX_STORED and known.embeddings.dtype == np.float16
    assert fit_familiarity(X[:2], y[:2]) is None  # two examples: nobody to be near
    with_nan = X[:10].copy()
    with_nan[3] = np.nan  # an unusable item's row is left out, not compared with
    assert len(fit_familiarity(with_nan, y[:10]).embeddings) == 9


def test_a_model_keeps_its_familiarity_through_save_and_load(color_tree, tmp_path):
    clf = Classifier("test_tiny_image").fit(color_tree)
    items = sorted(str(p) for p in color_tree.rglob("*.png"))
    clf.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["familiarity"]["file"] == "familiarity.safetensors" and doc["familiarity"]["k"] == 5
    again = load(tmp_path / "m")
    np.testing.assert_allclose(again.familiarity(items), clf.familiarity(items))
    assert (again.familiarity(items) >= again.familiarity_.threshold).mean() > 0.9  # its own examples


def test_an_unusable_item_has_no_familiarity(color_tree, tmp_path):
    clf = Classifier("test_tiny_image").fit(color_tree)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    good = str(next(color_tree.rglob("*.png")))
    with pytest.warns(UserWarning):
        scores = clf.familiarity([good, str(broken)])
    assert np.isfinite(scores[0]) and np.isnan(scores[1])


def test_models_saved_before_familiarity_load_without_it(color_tree, tmp_path):
    Classifier("test_tiny_image").fit(color_tree).save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    doc = json.loads(path.read_text())
    del doc["familiarity"]
    path.write_text(json.dumps(doc))
    (tmp_path / "m" / "familiarity.safetensors").unlink()
    clf = load(tmp_path / "m")
    assert clf.familiarity_ is None and np.isnan(clf.familiarity([str(next(color_tree.rglob("*.png")))])).all()


@pytest.mark.parametrize("damage", ["missing file", "bad k", "bad threshold"])
def test_damaged_familiarity_data_is_refused_in_one_line(color_tree, tmp_path, damage):
    Classifier("test_tiny_image").fit(color_tree).save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    doc = json.loads(path.read_text())
    if damage == "missing file":
        (tmp_path / "m" / "familiarity.safetensors").unlink()
    else:
        doc["familiarity"]["k" if damage == "bad k" else "threshold"] = 0 if damage == "bad k" else 7.5
    path.write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="damaged"):
        load(tmp_path / "m")


def test_a_support_set_is_what_queries_are_compared_with(tmp_path):
    # 21 examples: a support set big enough to judge by (MIN_JUDGED; tests/test_s19_familiar_support.py)
    clf = Classifier("test_tiny_image").fit_support(make_color_tree(tmp_path / "support", 7))
    assert clf.familiarity_ is not None and len(clf.familiarity_.embeddings) == 21
