"""Beyond the s22 Python-API audit: the edges of its fixes (parameter rules, the prior head's
clone and save, the cache that follows ``cache=``, blank labels, backbone patterns)."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
from handful import Classifier, HandfulError, list_backbones, load
from handful.backbones.testing import TinyImageBackbone
from handful.errors import DataError
from handful.heads import check_head, create_head


def blobs(n_per_class: int = 6, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Two classes 6 sigma apart: every head separates them."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (n_per_class, dim)) + 3, rng.normal(0, 1, (n_per_class, dim)) - 3])
    return X, np.repeat(np.array(["a", "b"], dtype=object), n_per_class)


def listed(tree: Path) -> tuple[list[Path], list[str]]:
    paths = sorted(tree.rglob("*.*"))
    return paths, [p.parent.name for p in paths]


@pytest.mark.parametrize("name, params", [
    ("logistic", {"C": np.float32(0.5), "max_iter": np.int64(500)}),  # numpy numbers are numbers
    ("knn", {"n_neighbors": np.int32(3), "temperature": 1}),
    ("mlp", {"validation_fraction": 0.0, "dropout": 0.0, "max_epochs": 20}),  # 0: no early stopping (documented)
    ("zeroshot_prior", {"weight": 0}),
    ("zeroshot_prior", {"weight": "auto", "kind": "cosine", "base": "logistic", "base_params": {"C": 2.0}}),
])
def test_a_head_takes_every_value_its_rules_allow(name, params):
    X, y = blobs()
    assert (create_head(name, **params).fit(X, y).predict(X) == y).all()  # blobs 6 sigma apart


@pytest.mark.parametrize("name, params, named", [
    ("prototype", {"temperature": True}, "'temperature' parameter of PrototypeHead"),  # a bool is no number
    ("knn", {"n_neighbors": 2.5}, "'n_neighbors' parameter of KNNHead must be an int >= 1"),
    ("mlp", {"dropout": -0.1}, "'dropout' parameter of MLPHead must be a float in [0, 1)"),
    ("mlp", {"lr": float("nan")}, "'lr' parameter of MLPHead"),
    ("zeroshot_prior", {"kind": "clip"}, "'kind' parameter of ZeroShotPriorHead must be 'conse' or 'cosine'"),
    ("zeroshot_prior", {"weight": "best"}, "'weight' parameter of ZeroShotPriorHead must be 'auto' or"),
    ("zeroshot_prior", {"base": "zeroshot_prior"}, "'base' parameter of ZeroShotPriorHead"),
    # the base head's values are checked too, naming the base head
    ("zeroshot_prior", {"base": "logistic", "base_params": {"C": 0}}, "'C' parameter of LogisticHead"),
])
def test_check_head_refuses_a_bad_value_before_any_data(name, params, named):
    # Classifier.fit's settings check calls check_head: it must fail without X and y
    with pytest.raises(DataError) as caught:
        check_head(name, params)
    assert named in str(caught.value) and "Got " in str(caught.value), caught.value
    with pytest.raises(DataError, match="parameter of"):  # and fit says the same
        create_head(name, **params).fit(*blobs())


def test_a_bad_prior_base_value_fails_before_embedding(color_tree):
    paths, labels = listed(color_tree)
    before = TinyImageBackbone.n_embed_calls
    with pytest.raises(HandfulError, match="'C' parameter of LogisticHead"):
        Classifier("test_tiny_image", head="logistic", head_params={"C": 0.0},
                   zero_shot_prior=True).fit(paths, labels)
    assert TinyImageBackbone.n_embed_calls == before, "the value was checked only after embedding"


def test_head_params_with_auto_are_refused_naming_the_fix(color_tree):
    paths, labels = listed(color_tree)
    with pytest.raises(DataError, match=r"head='auto'.*head_params.*Name it, e\.g\. Classifier\(head='logistic'"):
        Classifier("test_tiny_image", head="auto", head_params={"C": 5.0}).fit(paths, labels)


def test_a_cloned_prior_head_still_saves_its_parameters_as_json():
    # the class-name scorer survives clone without becoming a parameter: model.json and --json
    # carry get_params(), and a ZeroShotMap is no JSON
    from handful.zeroshot.prior import ZeroShotPriorHead
    from handful.zeroshot.semantic import ZeroShotMap

    zs = ZeroShotMap(("a", "b"), np.eye(2, 8, dtype=np.float32))
    head = ZeroShotPriorHead("prototype", kind="cosine").with_zero_shot(zs)
    copy = clone(head)
    assert copy is not head and copy.zero_shot_map is zs and not hasattr(copy, "classes_")
    json.dumps(copy.get_params())
    assert clone(ZeroShotPriorHead()).__dict__.get("zero_shot_map") is None  # none attached, none made


def test_the_prior_fits_and_saves_with_class_names_left_at_none(color_tree, tmp_path, tiny_text_names):
    # class_names=None is now stored as given: the labels name the classes, and the saved
    # head's parameters stay JSON (the class-name scorer is saved as arrays, not as a parameter)
    clf = Classifier("test_imagenet_colors", head="prototype", zero_shot_prior=True).fit(color_tree)
    assert clf.class_names is None and clf.head_.zero_shot_map.class_names == tuple(clf.classes_)
    doc = json.loads((clf.save(tmp_path / "m") / "model.json").read_text())
    assert "zero_shot_map" not in doc["head"]["params"]
    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    np.testing.assert_allclose(load(tmp_path / "m").predict_proba(items), clf.predict_proba(items))


def test_the_feature_cache_is_kept_while_the_cache_setting_holds(tmp_path):
    # cli.support reads the cache's last keys after embedding: the same object between calls
    clf = Classifier("test_tiny_image", cache=tmp_path / "c")
    assert clf._feature_cache() is clf._feature_cache()
    clf.set_params(cache=tmp_path / "c")  # an equal path: the same cache
    first = clf._feature_cache()
    assert clf._feature_cache() is first
    clf.set_params(cache=False)
    assert clf._feature_cache() is not first and not clf._feature_cache().enabled


def test_fit_support_keeps_head_params_as_given(color_tree):
    paths, labels = listed(color_tree)
    clf = Classifier("test_tiny_image", head="prototype").fit(paths, labels)
    clf.fit_support(paths[:9], ["x"] * 3 + ["y"] * 3 + ["z"] * 3)
    assert clf.get_params()["head_params"] is None and list(clf.classes_) == ["x", "y", "z"]


def test_a_blank_label_is_skipped_and_reported_as_an_empty_label():
    texts = ["hot soup", "warm soup", "soup is hot", "cold ice", "ice cold", "freezing ice", "tea"]
    labels = ["hot"] * 3 + ["cold"] * 3 + [" "]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = Classifier("test_tiny_text", head="prototype").fit(texts, labels)
    assert list(clf.classes_) == ["cold", "hot"]
    assert {"path": "items[6]", "reason": "empty label"} in clf.training_["skipped"], clf.training_["skipped"]
    assert any("empty or only whitespace" in str(w.message) and w.filename == __file__ for w in caught)


def test_list_backbones_keeps_a_dash_inside_a_range():
    assert list_backbones("efficientnet_lite[0-2]") == list_backbones("EfficientNet-Lite*")


def test_not_fitted_error_is_still_scikit_learns():
    from handful.errors import NotFittedError

    err = pickle.loads(pickle.dumps(NotFittedError("x")))
    assert isinstance(err, SklearnNotFittedError) and isinstance(err, HandfulError)
    assert isinstance(err, ValueError) and isinstance(err, AttributeError)
