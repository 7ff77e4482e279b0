"""Byte-identical images and repeated texts stay on one side of every split that scores on the
training examples: a copy in training and its twin in the validation fold flatters the score."""

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.model_selection import RepeatedStratifiedKFold

from conftest import make_color_tree
from handful import Classifier
from handful.cli import main
from handful.data import Examples, scan_folder
from handful.data.duplicates import duplicate_groups
from handful.evaluate.data_need import estimate_data_need
from handful.evaluate.learning_curve import measure_learning_curve
from handful.finetune.data import split_validation
from handful.select import search_heads
from handful.select.search import cv_splits
from handful.server.curve import learning_curve
from handful.server.training import cross_validated_report
from handful.zeroshot.prior import choose_weight

N_PER_CLASS = 30  # distinct noise images per class; each is saved twice


def _noise_twins(root: Path, n_per_class: int = N_PER_CLASS) -> Path:
    """root/{a,b}/img_k.png and a byte-identical img_k_copy.png: noise, so the labels are random."""
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        for k in range(n_per_class):
            path = root / cls / f"img_{k:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)
            shutil.copyfile(path, path.with_name(f"img_{k:02d}_copy.png"))
    return root


@pytest.fixture
def noise_twins(tmp_path) -> Path:
    return _noise_twins(tmp_path / "twins")


def _twin_features(n_distinct: int = 40, dim: int = 16, seed: int = 0):
    """Random features with random labels, each row twice; column 0 is the row's group id."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1, (n_distinct, dim))
    base[:, 0] = np.arange(n_distinct)
    labels = np.array(["a", "b"] * (n_distinct // 2), dtype=object)[rng.permutation(n_distinct)]
    X, y = np.repeat(base, 2, axis=0), np.repeat(labels, 2)
    return X, y, np.repeat(np.arange(n_distinct), 2)


def _quiet_fit(clf, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return clf.fit(data)


# -- group keys ---------------------------------------------------------------------------------

def test_byte_identical_images_share_a_group_whatever_their_names_and_labels(tmp_path):
    root = make_color_tree(tmp_path / "c", 3)
    shutil.copyfile(root / "red" / "red_0.jpg", root / "green" / "renamed.jpg")
    examples = scan_folder(root)
    groups = duplicate_groups(examples)
    twins = [i for i, p in enumerate(examples.items) if Path(p).name in ("red_0.jpg", "renamed.jpg")]
    assert groups[twins[0]] == groups[twins[1]]
    assert len(set(groups)) == len(examples) - 1  # every other image is its own group


def test_texts_are_grouped_by_their_text_with_case_and_spacing_aside():
    examples = Examples(("The team  won", "the team won", "a draw", "A Draw?"), ("x", "y", "x", "x"),
                        modality="text")
    groups = duplicate_groups(examples)
    assert groups[0] == groups[1] and groups[2] != groups[3]  # punctuation is part of a text


# -- cross-validation ---------------------------------------------------------------------------

def test_without_copies_the_folds_are_exactly_the_repeated_stratified_ones_as_before():
    # existing leaderboards must not move: distinct examples give the folds of the old code
    y = np.array(list("aaaaabbbbbbbccc"), dtype=object)
    expected = list(RepeatedStratifiedKFold(n_splits=3, n_repeats=3, random_state=4)
                    .split(np.zeros(len(y)), y))
    for groups in (None, np.arange(len(y))):
        splits, scheme = cv_splits(y, 4, groups=groups)
        assert scheme == "3x3-fold stratified CV"
        assert len(splits) == len(expected)
        for (train, test), (train0, test0) in zip(splits, expected):
            assert np.array_equal(train, train0) and np.array_equal(test, test0)


def test_copies_never_straddle_a_fold_and_every_training_fold_keeps_every_class():
    X, y, groups = _twin_features()
    splits, scheme = cv_splits(y, 0, groups=groups)
    assert "copies kept together" in scheme
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
        assert set(y[train]) == {"a", "b"}
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(y)))


def test_a_class_whose_examples_are_all_one_image_cannot_be_cross_validated():
    y = np.array(["a", "a", "b", "b", "b"], dtype=object)
    splits, scheme = cv_splits(y, 0, groups=np.array([0, 0, 1, 2, 3]))
    assert splits is None and "1 distinct example" in scheme


def test_head_search_on_twinned_random_labels_scores_chance_not_the_leak():
    # random labels: nothing can be learned, so any score well above 50% comes from a copy of
    # the validation example sitting in the training fold (1-NN finds it every time)
    X, y, groups = _twin_features()
    one_nn = (("knn", {"n_neighbors": 1}),)
    leaky = search_heads(X, y, one_nn).best["mean"]
    grouped = search_heads(X, y, one_nn, groups=groups).best["mean"]
    assert leaky > 0.85
    assert grouped < 0.65


def test_train_on_twinned_noise_images_scores_chance_not_the_leak(noise_twins):
    clf = _quiet_fit(Classifier(backbone="test_tiny_image", head="auto"), noise_twins)
    board = clf.leaderboard_
    # the best of 7 heads on 60 distinct random-label images: chance plus a little selection luck;
    # with the copies split across folds the best head scored 92%
    assert board.best["mean"] < 0.7
    assert "copies kept together" in board.scheme
    assert clf.training_["duplicates"] == {"n_copies": 60, "n_groups": 60, "n_conflicting": 0}


def test_auto_backbone_search_keeps_copies_together(noise_twins, monkeypatch):
    from handful.select import models

    monkeypatch.setitem(models.AUTO_BACKBONES, "image", ("test_tiny_image",))
    clf = _quiet_fit(Classifier(head="knn", head_params={"n_neighbors": 1}), noise_twins)
    assert clf.leaderboard_.best["mean"] < 0.7  # leaky: 1-NN finds the twin, ~95%


def test_zero_shot_prior_weight_is_chosen_on_grouped_folds():
    X, y, groups = _twin_features()
    y_idx = (y == "b").astype(int)
    scores = np.zeros((len(y), 2))
    _, _, leaky = choose_weight(X, y_idx, scores, "knn", {"n_neighbors": 1})
    _, _, grouped = choose_weight(X, y_idx, scores, "knn", {"n_neighbors": 1}, groups=groups)
    assert leaky["without_prior"] > 0.85 and grouped["without_prior"] < 0.65


# -- held-out estimates -------------------------------------------------------------------------

def _spy_fit_predict(seen: list):
    """A 1-NN that records whether any scored row has a twin (same column 0) among its training rows."""
    def fit_predict(X_train, y_train, X_eval):
        seen.append(bool(set(X_train[:, 0]) & set(X_eval[:, 0])))
        nearest = ((X_eval[:, None, 1:] - X_train[None, :, 1:]) ** 2).sum(-1).argmin(axis=1)
        return y_train[nearest]
    return fit_predict


def test_learning_curve_never_scores_a_copy_of_a_training_example():
    X, y, groups = _twin_features()
    seen: list[bool] = []
    measure_learning_curve(X, y, _spy_fit_predict(seen), repeats=4, groups=groups)
    assert seen and not any(seen)
    leaky: list[bool] = []
    measure_learning_curve(X, y, _spy_fit_predict(leaky), repeats=4)
    assert any(leaky)  # the spy does see a leak when there is one


def test_data_need_estimate_holds_out_whole_groups():
    X, y, groups = _twin_features(n_distinct=60)
    leaky = estimate_data_need(X, y, "knn", {"n_neighbors": 1}, repeats=4)
    grouped = estimate_data_need(X, y, "knn", {"n_neighbors": 1}, repeats=4, groups=groups)
    assert leaky["curve"]["points"][-1]["mean"] > 0.75
    assert grouped["curve"]["points"][-1]["mean"] < 0.7


def test_fine_tune_validation_split_keeps_copies_on_one_side():
    _, y, groups = _twin_features()
    labels = (y == "b").astype(np.int64)
    train, val = split_validation(labels, 0.25, 0, groups=groups)
    assert len(val) and not set(groups[train]) & set(groups[val])
    old_train, old_val = split_validation(labels, 0.25, 0)
    distinct_train, distinct_val = split_validation(labels, 0.25, 0, groups=np.arange(len(y)))
    assert np.array_equal(old_val, distinct_val) and np.array_equal(old_train, distinct_train)


def test_server_reports_score_no_copy_of_a_training_example(noise_twins):
    clf = _quiet_fit(Classifier(backbone="test_tiny_image", head="knn",
                                head_params={"n_neighbors": 1}), noise_twins)
    examples = scan_folder(noise_twins)
    X, examples = clf.embed_examples(examples)
    report = cross_validated_report(clf, X, examples)
    assert report["accuracy"] < 0.7  # leaky 1-NN: every twin in training is found
    curve = learning_curve(clf, X, examples, repeats=3)
    assert curve["accuracy"][-1] < 0.7


# -- warnings and the report --------------------------------------------------------------------

def test_train_warns_of_image_copies_and_names_one_filed_under_two_labels(tmp_path):
    root = make_color_tree(tmp_path / "c", 4)
    shutil.copyfile(root / "red" / "red_0.jpg", root / "red" / "again.jpg")
    shutil.copyfile(root / "red" / "red_1.png", root / "green" / "odd.png")
    with pytest.warns(UserWarning) as record:
        Classifier(backbone="test_tiny_image", head="prototype").fit(root)
    message = next(str(w.message) for w in record if "byte-identical" in str(w.message))
    assert message.startswith(f"2 image(s) in {root} are byte-identical copies of another (e.g. ")
    assert "they are kept together in cross-validation" in message
    assert "1 group(s) of copies are filed under more than one label (e.g. green/odd.png = " \
           "red/red_1.png: green, red)" in message
    assert "Keep one label per image or remove the copies" in message


def test_distinct_images_train_without_a_copy_warning(color_tree, recwarn):
    clf = Classifier(backbone="test_tiny_image", head="prototype").fit(color_tree)
    assert not [w for w in recwarn if "byte-identical" in str(w.message)]
    assert "duplicates" not in clf.training_


def test_train_warns_of_repeated_texts_that_are_kept_together(tmp_path):
    path = tmp_path / "texts.csv"
    rows = ["text,label", "the team won,sports", "The team  WON,sports", "add salt,cooking",
            "stir the soup,cooking", "a great goal,sports", "bake bread,cooking"]
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"1 text\(s\) in .*texts.csv repeat another \(case and "
                                         r"spacing aside, e.g. 'the team won'\); they are kept "
                                         r"together in cross-validation"):
        Classifier(backbone="test_tiny_text", head="prototype").fit(path)


def test_train_report_records_the_copies(capsys, noise_twins, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        code = main(["train", str(noise_twins), "--out", str(tmp_path / "m"), "--backbone",
                     "test_tiny_image", "--head", "prototype", "--no-advise", "--json"])
    assert code == 0
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    assert report["training"]["duplicates"]["n_copies"] == 2 * N_PER_CLASS  # one copy per image
    model = json.loads((tmp_path / "m" / "model.json").read_text())
    assert model["training"]["duplicates"]["n_groups"] == 60
    capsys.readouterr()
