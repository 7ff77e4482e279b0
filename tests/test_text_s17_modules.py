"""table.py and classifier.py were split at their seams (rows from bytes / columns from rows;
building a Classifier / using a fitted one): each module well under the house limit of ~400
lines, and every name callers import from the old places still there."""

from pathlib import Path

import pytest
from sklearn.base import ClassifierMixin

import handful

SRC = Path(handful.__file__).parent


@pytest.mark.parametrize("module", ["data/table.py", "data/table_rows.py", "classifier.py", "fitted.py"])
def test_the_split_modules_are_well_under_the_house_limit(module):
    n_lines = len((SRC / module).read_text().splitlines())
    assert n_lines < 350, f"{module} has {n_lines} lines; the house limit is ~400 and it was split to leave room"


def test_names_imported_from_data_table_are_still_there():
    from handful.data import table
    from handful.data.table_rows import is_table_path, read_text_file

    for name in ("NOT_TABLES", "SAVE_AS_CSV", "MAX_TEXT_CHARS", "TEXT_NAMES", "LABEL_NAMES", "read_table",
                 "warn_label_variants"):
        assert hasattr(table, name), name
    assert table.is_table_path is is_table_path and table.read_text_file is read_text_file  # re-exported


def test_a_classifier_scores_with_its_own_score_not_sklearns():
    from handful.classifier import DEFAULT_BACKBONES, Classifier, load
    from handful.fitted import FittedClassifierMixin

    # our score reads folders and tables too; sklearn's only predict(X) == y on lists
    assert Classifier.score is FittedClassifierMixin.score is not ClassifierMixin.score
    assert load is handful.load and DEFAULT_BACKBONES["text"] == "minilm"


def test_predict_evaluate_and_save_still_work_on_a_fitted_classifier(tmp_path):
    texts = ["good food", "great food", "bad food", "awful food"]
    labels = ["pos", "pos", "neg", "neg"]
    clf = handful.Classifier("test_tiny_text", head="prototype").fit(texts, labels)
    assert clf.predict(texts) == labels  # the training texts themselves: nearest prototype is their own
    assert clf.score(texts, labels) == 1.0
    saved = clf.save(tmp_path / "m")
    assert handful.load(saved).predict(texts) == labels
