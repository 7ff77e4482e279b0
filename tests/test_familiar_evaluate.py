"""``evaluate`` says how many labeled examples look unlike the training ones, and how right the
model is on those and on the rest (``FittedClassifierMixin.evaluate``, ``handful evaluate``)."""

import numpy as np
import pytest

from conftest import make_color_tree, run_json
from handful import Classifier, load
from handful.cli import main
from test_familiar_predict import ODD, odd_image, without_familiarity


@pytest.fixture
def model_and_test_set(tmp_path):
    """A colour model (21 training images: 20+ to judge familiarity by), and a test set of colours
    with the 3 patterns labeled red among them."""
    Classifier("test_tiny_image", head="logistic").fit(make_color_tree(tmp_path / "train", 7)).save(tmp_path / "m")
    test = make_color_tree(tmp_path / "test", 4, seed=7)
    for kind in ODD:
        odd_image(test / "red" / f"{kind}.png", kind)
    return tmp_path / "m", test


def test_the_report_counts_the_examples_flagged_and_the_accuracy_on_each_side(model_and_test_set):
    model, test = model_and_test_set
    clf = load(model)
    report = clf.evaluate(test)["familiarity"]
    items = sorted(str(p) for p in test.rglob("*.png")) + sorted(str(p) for p in test.rglob("*.jpg"))
    labels = [p.split("/")[-2] for p in items]
    familiar = clf.familiarity(items) >= clf.familiarity_.threshold
    right = np.array(clf.predict(items)) == np.array(labels)
    assert all(not f for item, f in zip(items, familiar) if item.rsplit("/", 1)[-1][:-4] in ODD)
    assert (report["n_flagged"], report["n_familiar"]) == (int((~familiar).sum()), int(familiar.sum()))
    assert report["share_flagged"] == pytest.approx((~familiar).mean())
    assert report["accuracy_flagged"] == pytest.approx(right[~familiar].mean())
    assert report["accuracy_familiar"] == pytest.approx(right[familiar].mean())
    assert report["threshold"] == clf.familiarity_.threshold


def test_evaluate_prints_one_line_on_the_unfamiliar_examples_and_keeps_it_in_json(capsys, model_and_test_set,
                                                                                 tmp_path):
    model, test = model_and_test_set
    result = run_json(capsys, ["evaluate", str(model), str(test), "--out", str(tmp_path / "e1")])
    flagged = result["familiarity"]
    assert flagged["n_flagged"] >= len(ODD)
    assert main(["evaluate", str(model), str(test), "--out", str(tmp_path / "e2")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "Unlike the training examples" in line]
    n = flagged["n_flagged"] + flagged["n_familiar"]
    assert len(lines) == 1 and f"{flagged['n_flagged']} of {n}" in lines[0] and "on the rest" in lines[0]


def test_a_model_without_familiarity_data_reports_none_and_prints_no_line(capsys, model_and_test_set, tmp_path):
    model, test = model_and_test_set
    old = without_familiarity(model, tmp_path / "old")
    assert load(old).evaluate(test)["familiarity"] is None
    assert main(["evaluate", str(old), str(test), "--out", str(tmp_path / "e")]) == 0
    assert "Unlike the training examples" not in capsys.readouterr().out
