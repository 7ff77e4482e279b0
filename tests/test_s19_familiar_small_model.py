"""A model trained on fewer than 20 examples does not judge "unlike the training examples", as a
support set of fewer than 20 does not (``evaluate.familiarity.MIN_JUDGED``): a 5% threshold cannot be
read off fewer than 20 numbers. It says so (predict, evaluate) instead of flagging at random; models
saved before this rule, and models trained on 20 or more, flag as before."""

import json

import pytest

from conftest import make_color_image, make_color_tree, run_json
from handful import Classifier, load
from handful.cli import main
from handful.evaluate.familiarity import fit_familiarity, not_judged
from test_familiar_predict import odd_image


def queries(folder):
    """A red and a blue photo like the training ones, and a checkerboard like none of them."""
    for i, color in enumerate([(220, 30, 30), (40, 60, 220)]):
        make_color_image(folder / f"q{i}.png", color, 50 + i)
    odd_image(folder / "checker.png", "checker")
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{"small": trained on 18 images, "big": on 21, "old": on 18 with familiarity kept as before
    the rule (no "familiarity_not_judged" key)}, the query folder, and a labeled test folder."""
    root = tmp_path_factory.mktemp("small")
    small = Classifier("test_tiny_image", head="logistic").fit(make_color_tree(root / "train18"))
    small.save(root / "small")
    Classifier("test_tiny_image", head="logistic").fit(make_color_tree(root / "train21", 7)).save(root / "big")
    # a model saved before the rule: familiarity fitted from 3 examples up, and no reason recorded
    items = sorted(str(p) for p in (root / "train18").rglob("*.*"))
    X, _ = small.embed(items, "image")
    small.familiarity_ = fit_familiarity(X, [p.split("/")[-2] for p in items])
    small.training_.pop("familiarity_not_judged", None)
    small.save(root / "old")
    test = make_color_tree(root / "test", 2, seed=7)
    odd_image(test / "red" / "checker.png", "checker")
    return {name: root / name for name in ("small", "big", "old")}, queries(root / "queries"), test


def marks(out: dict) -> dict:
    return {p["input"].rsplit("/", 1)[-1]: p["familiar"] for p in out["predictions"]}


@pytest.mark.parametrize("n, what, says", [
    (9, "support set", "Familiarity not judged: the support set has only 9 examples; it needs 20 (fewer cannot "
                       "set the threshold that 95% of them reach), so no input is marked unlike it. Add examples "
                       "to the support set (20+ in all) to have them marked."),
    (18, "training set", "Familiarity not judged: the training set has only 18 examples; it needs 20 (fewer "
                         "cannot set the threshold that 95% of them reach), so no input is marked unlike it. Add "
                         "examples to the training set (20+ in all) and re-train to have them marked."),
])
def test_the_reason_names_the_set_and_its_fix(n, what, says):
    # the support set's line is word for word what it was; a training set's fix is to re-train
    assert not_judged(n, what) == says
    assert not_judged(n) == not_judged(n, "support set")


def test_a_model_trained_on_18_images_saves_no_familiarity_and_keeps_why(models):
    paths, _, _ = models
    doc = json.loads((paths["small"] / "model.json").read_text())
    # no threshold from 18 numbers, so nothing to store for it
    assert "familiarity" not in doc and not (paths["small"] / "familiarity.safetensors").exists()
    assert "the training set has only 18 examples; it needs 20" in doc["training"]["familiarity_not_judged"]
    again = load(paths["small"])
    assert again.familiarity_ is None and again.training_["familiarity_not_judged"] == \
        doc["training"]["familiarity_not_judged"]


def test_predict_with_a_small_model_marks_no_row_and_says_why_once(capsys, models):
    paths, folder, _ = models
    out = run_json(capsys, ["predict", str(paths["small"]), str(folder)])
    # null, not false: a script reading `familiar is False` must not take an unjudged row as unlike
    assert [(p["familiar"], p["familiarity"]) for p in out["predictions"]] == [(None, None)] * 3
    assert out["familiarity_judged"] is False and out["n_unfamiliar"] is None
    assert "Add examples to the training set (20+ in all) and re-train" in out["familiarity_not_judged"]
    assert main(["predict", str(paths["small"]), str(folder)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("Familiarity not judged") == 1 and "unlike training data" not in printed


def test_evaluate_with_a_small_model_says_once_that_familiarity_was_not_judged(capsys, models, tmp_path):
    paths, _, test = models
    result = run_json(capsys, ["evaluate", str(paths["small"]), str(test), "--out", str(tmp_path / "e1")])
    assert result["familiarity"] is None and "only 18 examples" in result["familiarity_not_judged"]
    assert main(["evaluate", str(paths["small"]), str(test), "--out", str(tmp_path / "e2")]) == 0
    printed = capsys.readouterr().out
    # one line saying why, instead of silence (or a count of examples flagged at random)
    assert printed.count("Familiarity not judged: the training set has only 18") == 1
    assert "Unlike the training examples" not in printed


def test_a_model_trained_on_21_images_still_flags_a_checkerboard(capsys, models, tmp_path):
    paths, folder, test = models
    assert "familiarity_not_judged" not in json.loads((paths["big"] / "model.json").read_text())["training"]
    out = run_json(capsys, ["predict", str(paths["big"]), str(folder)])
    assert marks(out) == {"q0.png": True, "q1.png": True, "checker.png": False}  # colours like it, a pattern not
    assert out["familiarity_judged"] is True and out["n_unfamiliar"] == 1 and "familiarity_not_judged" not in out
    result = run_json(capsys, ["evaluate", str(paths["big"]), str(test), "--out", str(tmp_path / "e")])
    assert result["familiarity"]["n_flagged"] >= 1 and "familiarity_not_judged" not in result


def test_a_model_saved_before_the_rule_flags_as_it_did(capsys, models, tmp_path):
    paths, folder, test = models
    # 18 examples, but its familiarity data was saved (no reason key): it is used as before
    assert load(paths["old"]).familiarity_ is not None
    out = run_json(capsys, ["predict", str(paths["old"]), str(folder)])
    assert marks(out) == {"q0.png": True, "q1.png": True, "checker.png": False}
    assert out["familiarity_judged"] is True and "familiarity_not_judged" not in out
    assert main(["evaluate", str(paths["old"]), str(test), "--out", str(tmp_path / "e")]) == 0
    printed = capsys.readouterr().out
    assert "Unlike the training examples" in printed and "not judged" not in printed


def test_train_says_at_once_that_familiarity_is_not_judged(tmp_path, capsys):
    from conftest import make_color_tree
    from handful.cli import main

    tree = make_color_tree(tmp_path / "c", 6)  # 18 images
    assert main(["train", str(tree), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    text = capsys.readouterr()
    # before, train said nothing and the first predict was the first to tell
    assert "Familiarity not judged: the training set has only 18 examples" in text.out + text.err
