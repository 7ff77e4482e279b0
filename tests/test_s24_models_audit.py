"""s24 audit of model folders through the commands that read one: each bug an xfail until fixed."""

import shutil

from conftest import COLORS, make_color_image, run_json


def test_suggest_names_the_nested_class_of_a_training_copy(capsys, tmp_path):
    # a --nested model's classes are leaf paths ('cool/blue'); suggest re-reads the training folder
    # without --nested (model.json does not record it), so a copy is "already labeled as cool"
    data = tmp_path / "tree"
    for i, (color, name) in enumerate([("red", "warm/red"), ("green", "cool/green"), ("blue", "cool/blue")]):
        for k in range(4):
            make_color_image(data / name / f"{k}.png", COLORS[color], 100 * i + k)
    run_json(capsys, ["train", str(data), "--out", str(tmp_path / "m"), "--nested",
                      "--backbone", "test_tiny_image", "--head", "logistic", "--no-advise"])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(data / "cool" / "blue" / "0.png", inbox / "a.png")
    make_color_image(inbox / "b.png", COLORS["red"], 999)
    result = run_json(capsys, ["suggest", str(tmp_path / "m"), str(inbox), "--n", "2",
                               "--out", str(tmp_path / "next")])
    reasons = [s["reason"] for s in result["skipped"]]
    assert any("already labeled as cool/blue" in r for r in reasons), reasons


def test_suggest_skips_training_texts_of_a_model_trained_with_named_columns(capsys, tmp_path):
    # README: copies of a training example (found in the training data, if still there) are skipped.
    # A model trained with --text-column/--label-column: suggest re-reads the CSV without them,
    # fails quietly, and ranks the training sentences as new
    rows = ["note,body,topic"] + [f"x,the team won match {i},sports" for i in range(5)] + \
           [f"x,add salt to soup {i},cooking" for i in range(5)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    run_json(capsys, ["train", str(tmp_path / "t.csv"), "--out", str(tmp_path / "m"),
                      "--backbone", "test_tiny_text", "--head", "logistic", "--no-advise",
                      "--text-column", "body", "--label-column", "topic"])
    (tmp_path / "u.txt").write_text("the team won match 1\nthe weather is nice today\n")
    result = run_json(capsys, ["suggest", str(tmp_path / "m"), str(tmp_path / "u.txt"), "--n", "2",
                               "--out", str(tmp_path / "next")])
    ranked = [s.get("text") for s in result["suggestions"]]
    assert "the team won match 1" not in ranked, f"a training text was suggested for labeling: {ranked}"
