"""Labels worth a second look (``evaluate.label_check``): out-of-fold answers that confidently
dispute an example's label, in Python (``Classifier.label_check_``) and in ``handful train``."""

from __future__ import annotations

import numpy as np

from conftest import COLORS, make_color_image, make_color_tree, run_json
from handful.classifier import Classifier
from handful.data import load_examples
from handful.evaluate.label_check import doubtful_examples, label_check, out_of_fold_mean


def test_out_of_fold_mean_averages_the_repeats_and_marks_the_unseen():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    P, seen = out_of_fold_mean(proba, np.array([0, 0, 2]), 4)
    # example 0 was held out twice (0.9 and 0.5): its mean; 1 and 3 never
    assert np.allclose(P[0], [0.7, 0.3]) and np.allclose(P[2], [0.2, 0.8])
    assert seen.tolist() == [True, False, True, False]


def test_mistakes_are_ranked_by_own_label_and_marked_confident_by_class_thresholds():
    P = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3],    # labeled 0, called 0: not listed
                  [0.4, 0.6], [0.4, 0.6], [0.7, 0.3],    # labeled 1: the last called 0 (p0 0.7)
                  [0.05, 0.95], [0.45, 0.55]])           # labeled 0, called 1 (p1 0.95, 0.55)
    labels = np.array([0, 0, 0, 1, 1, 1, 0, 0])
    rows, called, confident = doubtful_examples(P, labels)
    assert rows.tolist() == [6, 5, 7], "least likely under their own label first: 0.05, 0.3, 0.45"
    assert called.tolist() == [1, 0, 1]
    # t0 = mean p0 over labeled 0 = (0.9 + 0.8 + 0.7 + 0.05 + 0.45) / 5 = 0.58; t1 = (0.6 + 0.6 + 0.3) / 3
    # = 0.5: example 6 (p1 0.95) and 5 (p0 0.7) reach them, example 7 (p1 0.55) does too
    assert confident.tolist() == [True, True, True]
    P[7] = [0.52, 0.48]  # now called 0, its own label: not a mistake
    P[5] = [0.55, 0.45]  # called 0 at 0.55 < t0 (0.6): a mistake, not a confident one
    rows, called, confident = doubtful_examples(P, labels)
    assert rows.tolist() == [6, 5] and confident.tolist() == [True, False]


def test_label_check_report_names_examples_with_both_probabilities():
    # e: labeled dog, called cat at 0.88 >= t_cat 0.85
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.88, 0.12]])
    report = label_check(proba, np.array([0, 0, 1, 1, 1]), np.arange(5), ["a", "b", "c", "d", "e"],
                         ["cat", "dog"], texts=["t0", "t1", "t2", "t3", "t4"])
    assert (report["n_checked"], report["n_mistakes"], report["n_confident"]) == (5, 1, 1)
    assert report["listed"] == [{"example": "e", "label": "dog", "called": "cat", "p_label": 0.12,
                                 "p_called": 0.88, "confident": True, "text": "t4"}]


def _tree_with_one_wrong_label(root):
    """Three color classes of 8; one red image filed under blue."""
    make_color_tree(root, 8, seed=3)
    wrong = make_color_image(root / "blue" / "really_red.png", COLORS["red"], seed=999)
    return root, wrong


def test_classifier_lists_the_mislabeled_image_first(tmp_path):
    root, wrong = _tree_with_one_wrong_label(tmp_path / "colors")
    clf = Classifier(backbone="test_tiny_image", cache=False).fit(root)
    check = clf.label_check_
    assert check["n_checked"] == 25
    first = check["listed"][0]
    assert first["example"] == str(wrong) and first["label"] == "blue" and first["called"] == "red"
    assert first["p_called"] > first["p_label"] and first["confident"]


def test_clean_colors_have_no_held_out_mistake(tmp_path):
    clf = Classifier(backbone="test_tiny_image", cache=False).fit(make_color_tree(tmp_path / "c", 8, seed=3))
    assert clf.label_check_["n_mistakes"] == 0, "solid colors are separable: nothing to doubt"


def test_a_head_given_unscored_has_no_label_check(tmp_path):
    clf = Classifier(backbone="test_tiny_image", head="logistic", cache=False)
    clf.fit(make_color_tree(tmp_path / "c", 4))
    assert clf.label_check_ is None, "no out-of-fold answers were computed"


def test_train_prints_and_reports_the_doubtful_label(tmp_path, capsys):
    root, wrong = _tree_with_one_wrong_label(tmp_path / "colors")
    result = run_json(capsys, ["train", str(root), "--out", str(tmp_path / "m"),
                               "--backbone", "test_tiny_image", "--no-advise"])
    assert result["label_check"]["listed"][0]["example"] == str(wrong)
    from handful.cli import main

    assert main(["train", str(root), "--out", str(tmp_path / "m2"), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Labels worth a second look: held out, 1 of 25 examples were called another class" in text
    assert f"{wrong}: labeled blue" in text and "called red" in text
    import json

    saved = json.loads((tmp_path / "m2" / "report.json").read_text())
    assert saved["label_check"]["n_mistakes"] == 1


def test_a_long_list_is_said_to_be_mostly_hard_cases(capsys):
    from handful.cli.label_check import print_label_check
    from handful.cli.output import Output

    rows = [{"example": f"x{i}.png", "label": "a", "called": "b", "p_label": 0.1, "p_called": 0.9,
             "confident": i < 3} for i in range(12)]
    print_label_check(Output(False), {"n_checked": 100, "n_mistakes": 12, "n_confident": 3, "listed": rows})
    text = capsys.readouterr()
    text = text.out + text.err
    assert "12 of 100 examples were called another class (3 of them confidently)" in text
    assert "... and 7 more" in text
    # 12% of the examples: on clean flowers5 at 60 per class the list held 29%, no label wrong
    assert "mostly examples of classes that look alike" in text
    print_label_check(Output(False), {"n_checked": 100, "n_mistakes": 2, "n_confident": 0, "listed": rows[:2]})
    text = capsys.readouterr()
    text = text.out + text.err
    assert "look alike" not in text, "2 of 100 is what a few wrong labels look like"
    assert "(none confidently)" in text


def test_the_servers_worth_a_second_look_lists_the_mislabeled_image_first(tmp_path):
    from handful.server.training import cross_validated_report

    root, wrong = _tree_with_one_wrong_label(tmp_path / "colors")
    clf = Classifier(backbone="test_tiny_image", cache=False)
    X, examples = clf.embed_examples(load_examples(root))
    clf.fit_embeddings(X, examples)
    mistakes = cross_validated_report(clf, X, examples)["mistakes"]
    # as `handful train` lists them: least likely under their own label first, marked confident
    first = mistakes[0]
    assert first["example"] == str(wrong) and (first["label"], first["predicted"]) == ("blue", "red")
    assert first["confident"] and first["p_label"] < 0.5 < first["confidence"]
    assert [m["p_label"] for m in mistakes] == sorted(m["p_label"] for m in mistakes)


def test_evaluate_lists_the_test_image_filed_under_the_wrong_class(tmp_path, capsys):
    model = tmp_path / "m"
    run_json(capsys, ["train", str(make_color_tree(tmp_path / "train", 8, seed=3)), "--out", str(model),
                      "--backbone", "test_tiny_image", "--no-advise"])
    test, wrong = _tree_with_one_wrong_label(tmp_path / "test")
    result = run_json(capsys, ["evaluate", str(model), str(test)])
    check = result["label_check"]
    # the model is right on every other test image: the one filed under blue is the only mistake
    assert (check["n_checked"], check["n_mistakes"]) == (25, 1)
    assert check["listed"][0]["example"] == str(wrong) and check["listed"][0]["called"] == "red"
    from handful.cli import main

    assert main(["evaluate", str(model), str(test), "--out", str(tmp_path / "ev")]) == 0
    text = capsys.readouterr()
    assert "Test labels worth a second look: the model called 1 of 25 examples another class" in text.out + text.err


def test_train_writes_every_doubtful_label_to_a_csv_beside_the_model(tmp_path, capsys):
    import csv

    root = make_color_tree(tmp_path / "colors", 15, seed=3)
    # 7 wrong labels, at most 3 in any one folder: each is outnumbered by its own colour's images
    moves = [("red", "blue"), ("red", "blue"), ("green", "red"), ("green", "red"), ("blue", "green"),
             ("blue", "green"), ("red", "green")]
    wrong = {str(make_color_image(root / filed / f"really_{true}_{i}.png", COLORS[true], seed=900 + i))
             for i, (true, filed) in enumerate(moves)}
    from handful.cli import main

    assert main(["train", str(root), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    text = capsys.readouterr()
    csv_path = tmp_path / "m" / "label_check.csv"
    # 7 listed, 5 shown: the rest are in the CSV, which the line names
    assert f"... and 2 more ({csv_path})" in text.out + text.err
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["example"] for r in rows} == wrong
    # no text column for images
    assert list(rows[0]) == ["example", "label", "called", "p_label", "p_called", "confident"]
    assert {r["confident"] for r in rows} <= {"true", "false"}


def test_report_json_keeps_the_first_50_and_the_csv_all(tmp_path):
    from handful.evaluate.label_check import MAX_LISTED, first_listed, write_label_check_csv

    rows = [{"example": f"t{i}", "label": "a", "called": "b", "p_label": 0.1, "p_called": 0.9, "confident": True,
             "text": f"text, with a comma {i}"} for i in range(60)]
    check = {"n_checked": 100, "n_mistakes": 60, "n_confident": 60, "listed": rows}
    assert len(first_listed(check)["listed"]) == MAX_LISTED == 50 and len(check["listed"]) == 60
    assert first_listed(None) is None
    import csv

    with open(write_label_check_csv(check, tmp_path / "l.csv"), newline="") as handle:
        back = list(csv.DictReader(handle))
    assert len(back) == 60 and back[59]["text"] == "text, with a comma 59"
