"""Feature-space augmentation: M cached views per image, used by train and kshot."""

import json

import numpy as np
import pytest

from handful import Classifier, create_backbone
from handful.augment import create_augment
from handful.augment.views import ViewLookup, embed_views
from handful.backbones.testing import TinyImageBackbone
from handful.cache import FeatureCache
from handful.cli import main
from handful.data import scan_folder
from handful.errors import DataError


def test_views_are_cached_under_keys_that_include_the_augmentation(color_tree, tmp_path):
    backbone = create_backbone("test_tiny_image")
    items = scan_folder(color_tree).items
    cache = FeatureCache(tmp_path / "cache")
    augment = create_augment("strong")
    first, failures = embed_views(backbone, items, augment, 3, seed=0, cache=cache)
    assert first.shape == (18, 3, backbone.dim) and not failures
    calls = TinyImageBackbone.n_embed_calls
    again, _ = embed_views(backbone, items, augment, 3, seed=0, cache=cache)
    assert TinyImageBackbone.n_embed_calls == calls  # every view was a cache hit
    np.testing.assert_array_equal(first, again)
    other, _ = embed_views(backbone, items, create_augment("strong", fill="wrap"), 3, cache=cache)
    assert TinyImageBackbone.n_embed_calls > calls  # another config is another key
    assert not np.array_equal(first, other)


def test_views_differ_from_each_other_and_depend_on_the_seed(color_tree):
    backbone = create_backbone("test_tiny_image")
    items = scan_folder(color_tree).items[:4]
    augment = create_augment("strong")
    a, _ = embed_views(backbone, items, augment, 2, seed=0)
    b, _ = embed_views(backbone, items, augment, 2, seed=1)
    assert not np.allclose(a[:, 0], a[:, 1])
    assert not np.allclose(a, b)


def test_views_of_an_unreadable_file_are_reported_not_raised(color_tree):
    bad = color_tree / "red" / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    backbone = create_backbone("test_tiny_image")
    views, failures = embed_views(backbone, [str(bad), *scan_folder(color_tree).items[:2]],
                                  create_augment("light"), 2)
    assert list(failures) == [0]
    assert np.isnan(views[0]).all() and not np.isnan(views[1:]).any()


def test_views_need_images():
    with pytest.raises(DataError, match="need image data"):
        embed_views(create_backbone("test_tiny_text"), ["a text"], create_augment("light"), 2)


def test_classifier_trains_the_head_on_originals_plus_views(color_tree):
    clf = Classifier(backbone="test_tiny_image", head="logistic", augment_views=3,
                     augment="light").fit(color_tree)
    assert clf.training_["augmented_views"] == {"n": 54, "augment": "light"}
    assert clf.predict(scan_folder(color_tree).items) == list(scan_folder(color_tree).labels)


def test_view_lookup_finds_views_by_embedding_row(color_tree):
    clf = Classifier(backbone="test_tiny_image", head="logistic", augment_views=2)
    X, examples = clf.embed_examples(scan_folder(color_tree))
    lookup = ViewLookup(clf, examples, X)
    X_views, y_views = lookup.extra(X[[0, 7]])
    assert X_views.shape == (4, X.shape[1])
    assert list(y_views) == [examples.labels[0]] * 2 + [examples.labels[7]] * 2
    direct, _ = embed_views(clf._backbone, [examples.items[7]], create_augment("default"), 2)
    np.testing.assert_allclose(X_views[2:], direct[0])


def _run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def test_train_cli_with_augment_views(capsys, color_splits, tmp_path):
    result = _run_json(capsys, ["train", str(color_splits), "--out", str(tmp_path / "m"),
                                "--backbone", "test_tiny_image", "--head", "logistic",
                                "--augment-views", "2", "--augment", "light"])
    assert result["metrics"]["heldout_accuracy"] == 1.0  # colors survive light augmentation
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    assert saved["training"]["augmented_views"]["n"] == 36


def test_kshot_cli_with_augment_views(capsys, color_splits):
    result = _run_json(capsys, ["kshot", str(color_splits), "--shots", "1,2", "--repeats", "2",
                                "--backbone", "test_tiny_image", "--head", "logistic",
                                "--augment-views", "2"])
    assert result["augment"] == {"views_per_image": 2, "preset": "default"}
    assert result["shots"]["2"]["mean"] == 1.0


def test_augment_views_out_of_range_is_a_one_line_error(capsys, color_tree, tmp_path):
    code = main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--augment-views", "-1"])
    assert code == 2 and "--augment-views must be between 0 and 64" in capsys.readouterr().err
