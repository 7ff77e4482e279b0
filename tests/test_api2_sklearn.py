"""Classifier inside scikit-learn's tools (cross_val_score, GridSearchCV) and its cache argument."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.model_selection import GridSearchCV, cross_val_score

from handful import Classifier
from handful.backbones.testing import TinyImageBackbone
from handful.errors import DataError


def listed(color_tree: Path) -> tuple[list[str], list[str]]:
    paths = sorted(str(p) for p in color_tree.rglob("*.*"))  # sorted by class: plain K-fold would
    return paths, [Path(p).parent.name for p in paths]      # leave a class out of each training fold


def test_cross_val_score_folds_are_stratified_as_for_any_classifier(color_tree):
    paths, labels = listed(color_tree)
    clf = Classifier("test_tiny_image", head="prototype")
    assert is_classifier(clf)
    scores = cross_val_score(clf, paths, labels, cv=3, error_score="raise")  # was a class unknown to the model
    assert np.array_equal(scores, [1.0, 1.0, 1.0])  # colors are separable


def test_grid_search_over_heads_scores_every_candidate(color_tree):
    paths, labels = listed(color_tree)
    search = GridSearchCV(Classifier("test_tiny_image"), {"head": ["prototype", "logistic"]}, cv=3,
                          error_score="raise").fit(paths, labels)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(paths[:1]) == [labels[0]]


def test_cache_takes_a_directory_and_reuses_it(color_tree, tmp_path):
    folder = tmp_path / "my_cache"
    Classifier("test_tiny_image", head="prototype", cache=str(folder)).fit(color_tree)
    assert any(folder.rglob("*.npy"))  # was written to the default cache, the path ignored
    calls = TinyImageBackbone.n_embed_calls
    Classifier("test_tiny_image", head="prototype", cache=folder).fit(color_tree)
    assert TinyImageBackbone.n_embed_calls == calls  # every embedding read back


def test_a_cache_argument_of_another_type_is_refused_with_what_it_takes(color_tree):
    with pytest.raises(DataError, match="takes a FeatureCache, a cache directory"):
        Classifier("test_tiny_image", head="prototype", cache=1).fit(color_tree)
