"""s24: suggest re-reads the training data with the options it was read with (model.json "training")."""

import json
import shutil

from conftest import COLORS, make_color_image, run_json
from handful.cli import main
from handful.data import load_examples

TRAIN = ["--backbone", "test_tiny_image", "--head", "logistic", "--no-advise"]
TEXT_TRAIN = ["--backbone", "test_tiny_text", "--head", "logistic", "--no-advise"]


def _nested_tree(root):
    for i, (color, name) in enumerate([("red", "warm/red"), ("green", "cool/green"), ("blue", "cool/blue")]):
        for k in range(4):
            make_color_image(root / name / f"{k}.png", COLORS[color], 100 * i + k)
    return root


def _topic_csv(path, header="note,body,topic"):
    rows = [header] + [f"x,the team won match {i},sports" for i in range(5)] + \
           [f"x,add salt to soup {i},cooking" for i in range(5)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_examples_summary_records_the_options_that_changed_what_was_read(tmp_path):
    # suggest can only read the same examples again if the training record says how they were read
    nested = load_examples(_nested_tree(tmp_path / "tree"), nested=True).summary()
    assert nested["read_with"] == {"nested": True}, nested.get("read_with")
    table = load_examples(_topic_csv(tmp_path / "t.csv"), text_column="body", label_column="topic").summary()
    assert table["read_with"] == {"text_column": "body", "label_column": "topic"}, table.get("read_with")
    # defaults are left out, so a model read the default way records what older models did: nothing
    flat = load_examples(tmp_path / "tree").summary()
    assert "read_with" not in flat, flat


def test_train_writes_how_the_data_was_read_into_model_json(capsys, tmp_path):
    run_json(capsys, ["train", str(_nested_tree(tmp_path / "tree")), "--out", str(tmp_path / "m"),
                      "--nested", *TRAIN])
    training = json.loads((tmp_path / "m" / "model.json").read_text())["training"]
    assert training["read_with"] == {"nested": True}, "the --nested read must survive into the saved model"


def test_suggest_reads_a_model_without_the_record_the_way_it_did_before(capsys, tmp_path):
    # a model saved before the record: nested False and default columns, as suggest always read it
    data = _nested_tree(tmp_path / "tree")
    run_json(capsys, ["train", str(data), "--out", str(tmp_path / "m"), "--nested", *TRAIN])
    model_json = tmp_path / "m" / "model.json"
    doc = json.loads(model_json.read_text())
    del doc["training"]["read_with"]
    model_json.write_text(json.dumps(doc))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(data / "cool" / "blue" / "0.png", inbox / "a.png")
    make_color_image(inbox / "b.png", COLORS["red"], 999)
    result = run_json(capsys, ["suggest", str(tmp_path / "m"), str(inbox), "--n", "2",
                               "--out", str(tmp_path / "next")])
    reasons = [s["reason"] for s in result["skipped"]]
    # read flat, the top folder is the class: the copy is still found (as before), named by it
    assert any(r.startswith("already labeled as cool (copy of") for r in reasons), reasons
    assert result["notes"] == [], "a read that works needs no note"


def test_suggest_warns_once_when_the_training_data_can_no_longer_be_read(capsys, tmp_path):
    # the training CSV lost its 'body' column since: the copies cannot be looked for, and the user
    # must be told so rather than be shown training texts as new ones without a word
    table = _topic_csv(tmp_path / "t.csv")
    run_json(capsys, ["train", str(table), "--out", str(tmp_path / "m"), *TEXT_TRAIN,
                      "--text-column", "body", "--label-column", "topic"])
    _topic_csv(table, header="note,text,topic")
    (tmp_path / "u.txt").write_text("the team won match 1\nthe weather is nice today\n")
    code = main(["suggest", str(tmp_path / "m"), str(tmp_path / "u.txt"), "--n", "2",
                 "--out", str(tmp_path / "next"), "--json"])
    captured = capsys.readouterr()
    assert code == 0, "a training set that cannot be read again is no reason to refuse the suggestions"
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert len(result["suggestions"]) == 2, result["suggestions"]
    assert len(result["notes"]) == 1 and "copies of training examples were not looked for" in result["notes"][0]
    assert "body" in result["notes"][0], f"the note must say why: {result['notes']}"
    warned = [line for line in captured.err.splitlines() if "copies of training examples" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: "), captured.err
