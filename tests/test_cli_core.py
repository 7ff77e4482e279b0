"""The CLI as a user runs it: exit codes, the final --json line, errors as one line."""

import json
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest

from conftest import make_color_tree
from handful.backbones.efficientnet_lite import EfficientNetLiteBackbone
from handful.backbones.testing import TinyImageBackbone
from handful.cli import main


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0, out
    return json.loads(out[-1])


def test_train_predict_evaluate_round_trip(capsys, color_splits, tmp_path):
    model = tmp_path / "model"
    trained = run_json(capsys, ["train", str(color_splits), "--out", str(model), "--backbone",
                                "test_tiny_image"])
    assert trained["classes"] == ["blue", "green", "red"]
    assert trained["metrics"]["heldout_accuracy"] == 1.0  # colors are trivially separable
    assert trained["leaderboard"]["rows"][0]["mean"] == 1.0
    assert (model / "report.json").is_file() and (model / "confusion_matrix.png").is_file()
    # the data-need estimate runs after the training time is taken: its own time is reported
    # (it was left out, so "Model saved (205 s)" followed a 305 s run on flowers5)
    assert trained["advice"] and trained["advice_seconds"] >= 0
    assert json.loads((model / "report.json").read_text())["advice_seconds"] == trained["advice_seconds"]

    predicted = run_json(capsys, ["predict", str(model), str(color_splits / "val"), "--top", "2"])
    assert len(predicted["predictions"]) == 12
    for row in predicted["predictions"]:
        assert row["label"] in row["input"]  # file names start with their class
        assert len(row["top"]) == 2

    report = run_json(capsys, ["evaluate", str(model), str(color_splits / "val")])
    assert report["accuracy"] == 1.0 and report["n"] == 12
    assert report["per_class"]["red"]["recall"] == 1.0


def test_rerunning_train_does_zero_forward_passes(capsys, color_tree, tmp_path):
    run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "a"), "--backbone", "test_tiny_image"])
    calls = TinyImageBackbone.n_embed_calls
    run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "b"), "--backbone", "test_tiny_image"])
    assert TinyImageBackbone.n_embed_calls == calls


def test_rerunning_train_with_the_real_default_backbone_does_zero_forward_passes(
        capsys, color_tree, tmp_path, monkeypatch):
    calls = []
    original = EfficientNetLiteBackbone.embed
    monkeypatch.setattr(EfficientNetLiteBackbone, "embed",
                        lambda self, batch: calls.append(len(batch)) or original(self, batch))
    run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "a"), "--head", "prototype"])
    assert sum(calls) == 36  # --backbone auto embeds with efficientnet_lite0 and _lite2
    run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "b"), "--head", "prototype"])
    assert sum(calls) == 36  # second run: every embedding came from the cache


def test_bad_files_are_skipped_listed_and_the_run_goes_on(capsys, color_tree, tmp_path):
    (color_tree / "red" / "zero.jpg").write_bytes(b"")
    good = (color_tree / "red" / "red_0.jpg").read_bytes()
    (color_tree / "red" / "cut.jpg").write_bytes(good[: len(good) // 2])
    out = run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "m"),
                            "--backbone", "test_tiny_image"])
    skipped = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in out["skipped"]}
    assert set(skipped) == {"zero.jpg", "cut.jpg"} and "truncated" in skipped["cut.jpg"]
    assert out["n_train"] == 18


@pytest.mark.parametrize("argv, message", [
    (["train", "no/such/dir", "--out", "m"], "does not exist"),
    (["predict", "no/such/model", "x.jpg"], "does not exist"),
    (["kshot", "no/such/dir", "--test", "t", "--shots", "1,x"], "comma-separated"),
    (["train", "DATA", "--out", "m", "--backbone", "efficientnet_lit0"], "Did you mean"),
    (["train", "DATA", "--out", "m", "--head", "logistc"], "Did you mean 'logistic'"),
])
def test_user_errors_print_one_line_and_exit_2(capsys, color_tree, argv, message):
    argv = [str(color_tree) if a == "DATA" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_kshot_is_reproducible_and_reports_mean_std_ci(capsys, color_splits):
    argv = ["kshot", str(color_splits / "train"), "--test", str(color_splits / "val"), "--shots",
            "1,3", "--repeats", "4", "--backbone", "test_tiny_image", "--head", "prototype", "--seed", "7"]
    first = run_json(capsys, argv)
    second = run_json(capsys, argv)
    assert first == second
    assert set(first["shots"]) == {"1", "3"}
    one = first["shots"]["1"]
    assert len(one["runs"]) == 4 and one["ci95"][0] <= one["mean"] <= one["ci95"][1]
    assert first["shots"]["3"]["mean"] == 1.0


def test_predict_csv_output_has_a_header_and_a_row_per_image(capsys, color_splits, tmp_path):
    run_json(capsys, ["train", str(color_splits), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image"])
    assert main(["predict", str(tmp_path / "m"), str(color_splits / "val"), "--csv", "--top", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # no familiar column: 18 training images are too few to judge familiarity by (MIN_JUDGED)
    assert lines[0] == "input,label_1,probability_1,label_2,probability_2" and len(lines) == 13


def test_text_table_trains_and_predicts(capsys, text_csv, tmp_path):
    run_json(capsys, ["train", str(text_csv), "--out", str(tmp_path / "t"), "--backbone", "test_tiny_text"])
    out = run_json(capsys, ["predict", str(tmp_path / "t"), "the team scored a goal", "add basil to the soup"])
    assert [p["label"] for p in out["predictions"]] == ["sports", "cooking"]
    # typed texts are named by position, and each row carries its text (it was only "text 1")
    assert [(p["input"], p["text"]) for p in out["predictions"]] == [
        ("text 1", "the team scored a goal"), ("text 2", "add basil to the soup")]
    assert main(["predict", str(tmp_path / "t"), "the team scored a goal"]) == 0
    assert "the team scored a goal" in capsys.readouterr().out  # the table shows the text
    table = run_json(capsys, ["predict", str(tmp_path / "t"), str(text_csv)])
    # a table's rows are named by their line, and carry their text too (the line alone says nothing)
    assert table["predictions"][0]["input"].endswith(":2") and table["predictions"][0]["text"]


def test_backbones_lists_the_offline_ones(capsys):
    out = run_json(capsys, ["backbones"])
    names = {b["name"] for b in out["backbones"]}
    assert {"efficientnet_lite0", "efficientnet_lite2", "minilm", "e5_small"} <= names


@pytest.mark.parametrize("argv", [["train", "data"], ["predict", "m", "x", "--top", "abc"], ["nosuchcmd"]])
def test_usage_errors_are_one_line_with_exit_2_not_a_traceback(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--help" in err[0], err
    assert captured.out == ""


def test_ctrl_c_exits_130_and_says_so(capsys, color_tree, tmp_path, monkeypatch):
    import handful.cli.core as core

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "load_train_and_eval", interrupted)
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--json"]) == 130
    assert "interrupted" in capsys.readouterr().err  # a script must not read it as a success
    assert not (tmp_path / "m").exists()


def test_sigterm_while_the_model_is_written_leaves_no_temporary_folder(capsys, color_tree, tmp_path,
                                                                       monkeypatch):
    # `kill` or `timeout` ended the process on the spot: .m.tmp-* folders piled up beside --out
    import os
    import signal
    import time

    import handful.bundle.store as store

    def killed_midway(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # the signal arrives here

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(store, "save_file", killed_midway)
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--head", "prototype", "--no-advise"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["colors"]  # no model, no temporary folder
    assert signal.getsignal(signal.SIGTERM) is before  # the caller's handler is back


@pytest.mark.parametrize("filename, named", [
    ("/data/out/.m.tmp-x1y2z3", "the folder '/data/out'"),  # a temporary name the user never gave
    ("/data/out/.preds.csv.json.tmp-ab12", "the folder '/data/out'"),
    ("/data/out/m", "'/data/out/m'"),
])
def test_a_file_system_error_names_what_the_user_gave(capsys, color_tree, tmp_path, monkeypatch, filename, named):
    import errno

    import handful.cli.core as core

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", filename)

    monkeypatch.setattr(core, "load_train_and_eval", read_only)
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: cannot use {named}: Read-only file system. Check the path and its permissions, "
                   "or choose another."]


def test_out_files_the_user_made_are_never_overwritten_and_ours_are(capsys, color_splits, tmp_path):
    model = tmp_path / "model"
    assert main(["train", str(color_splits), "--out", str(model), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    mine = {"kshot.json": b'{"my": "notes"}', "zs.csv": b"name,phone\nann,123\n", "m.onnx": b"my bytes"}
    for name, content in mine.items():
        (tmp_path / name).write_bytes(content)
    pool = str(color_splits / "train")
    commands = {"kshot.json": ["kshot", str(color_splits), "--shots", "1", "--repeats", "2", "--backbone",
                               "test_tiny_image"],
                "zs.csv": ["zeroshot", pool, "--backbone", "test_tiny_image"],
                "m.onnx": ["export", str(model)]}
    capsys.readouterr()
    for name, argv in commands.items():
        assert main([*argv, "--out", str(tmp_path / name)]) == 2, name
        assert "was not written by handful" in capsys.readouterr().err
        assert (tmp_path / name).read_bytes() == mine[name]  # untouched
    # the same commands replace a file they wrote themselves (re-runs work)
    for argv in (commands["kshot.json"], commands["kshot.json"]):
        assert main([*argv, "--out", str(tmp_path / "k2.json")]) == 0
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.json").write_text('{"mine": 1}')
    assert main(["evaluate", str(model), str(color_splits / "val"), "--out", str(tmp_path / "report")]) == 2
    assert json.loads((tmp_path / "report" / "report.json").read_text()) == {"mine": 1}


def test_train_refuses_an_out_inside_its_data_and_a_path_through_a_file(capsys, color_tree, tmp_path):
    assert main(["train", str(color_tree), "--out", str(color_tree / "red" / "model")]) == 2
    assert "inside the data folder" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["train", str(color_tree), "--out", str(tmp_path / "afile" / "model")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert not (color_tree / "red" / "model").exists()


@pytest.mark.parametrize("argv", [
    ["advise", "DATA", "--repeats", "2", "--backbone", "test_tiny_image"],
    ["suggest", "MODEL", "DATA/red"],
    ["evaluate", "MODEL", "DATA"],
    ["ladder", "DATA", "--test", "DATA", "--rungs", "features", "--backbone", "test_tiny_image"],
])
def test_folder_outputs_inside_the_data_are_refused_before_writing_a_picture_there(argv, capsys, color_tree,
                                                                                  tmp_path):
    # advise's learning_curve.png became a class 'advice'; suggest then suggested its own contact sheet
    model = tmp_path / "m"
    assert main(["train", str(color_tree), "--out", str(model), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    before = sorted(color_tree.rglob("*"))
    argv = [str(model) if a == "MODEL" else a.replace("DATA", str(color_tree)) for a in argv]
    capsys.readouterr()
    assert main([*argv, "--out", str(color_tree / "red" / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "inside the data folder" in err[0] and "outside" in err[0], err
    assert sorted(color_tree.rglob("*")) == before


def test_train_refuses_an_out_inside_a_class_folder_that_is_a_symlink(capsys, color_tree, tmp_path):
    # data/red links to a folder elsewhere: resolving the out path hid that it lies in the data
    linked = tmp_path / "linked"
    linked.mkdir()
    for color in ("red", "green"):
        (linked / color).symlink_to(color_tree / color, target_is_directory=True)
    assert main(["train", str(linked), "--out", str(linked / "red" / "model"), "--backbone",
                 "test_tiny_image"]) == 2
    assert "inside the data folder" in capsys.readouterr().err
    assert not (color_tree / "red" / "model").exists()


def test_a_held_out_class_missing_from_train_is_refused_before_any_training(capsys, color_splits, tmp_path,
                                                                           monkeypatch):
    # it was found only after embedding and fitting (minutes with the default backbone search)
    from conftest import make_color_image
    from handful.classifier import Classifier

    make_color_image(color_splits / "val" / "purple" / "p.png", (120, 0, 120), 0)

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the held-out classes")

    monkeypatch.setattr(Classifier, "select_backbone", no_training)
    assert main(["train", str(color_splits), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'purple'" in err[0] and "train" in err[0], err
    assert "Add" in err[0] or "remove" in err[0], err
    assert not (tmp_path / "m").exists()


def test_the_reports_plot_path_is_where_the_plot_is(capsys, color_tree, tmp_path):
    result = run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone",
                               "test_tiny_image"])
    assert result["advice"]["plot"] == str(tmp_path / "m" / "learning_curve.png")
    assert (tmp_path / "m" / "learning_curve.png").is_file()


@pytest.mark.parametrize("damage", ["head as a string", "one class fewer", "one class more", "no class"])
def test_a_damaged_model_json_is_a_one_line_error(damage, capsys, color_tree, tmp_path):
    model = tmp_path / "m"
    assert main(["train", str(color_tree), "--out", str(model), "--backbone", "test_tiny_image",
                 "--head", "prototype", "--no-advise"]) == 0
    doc = json.loads((model / "model.json").read_text())
    if damage == "head as a string":
        doc["head"] = "prototype"  # a string where an object belongs
    else:  # the class list no longer matches the head's arrays (3 classes)
        doc["classes"] = {"one class fewer": ["blue", "green"], "one class more": ["a", "b", "c", "d"],
                          "no class": []}[damage]
    (model / "model.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["predict", str(model), str(color_tree)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is damaged" in err[0] and "Re-train" in err[0], err


@pytest.mark.parametrize("argv,option", [
    (["ladder", "DATA", "--rungs", "features+aug", "--augment-views", "0"], "--augment-views"),
    (["ladder", "DATA", "--scratch-epochs", "0"], "--scratch-epochs"),
    (["ladder", "DATA", "--scratch-size", "0"], "--scratch-size"),
    (["finetune", "DATA", "--out", "OUT", "--lr", "-1"], "--lr"),
    (["predict", "DATA", "DATA", "--batch-size", "0"], "--batch-size"),
    # each of these was a traceback or was quietly changed into another value
    (["train", "DATA", "--out", "OUT", "--seed", "-5"], "--seed"),
    (["kshot", "DATA", "--seed", "4294967296"], "--seed"),
    (["serve", "--port", "70000"], "--port"),
    (["serve", "--max-upload-mb", "0"], "--max-upload-mb"),
    (["episodes", "DATA", "--backbone", "test_tiny_image", "--eval-fraction", "0"], "--eval-fraction"),
    (["omniglot-runs", "DATA", "--backbone", "test_tiny_conv", "--finetune-steps", "1", "--finetune-lr", "-1"],
     "--finetune-lr"),
    (["protonet", "train", "DATA", "--out", "OUT", "--threads", "0"], "--threads"),
    (["protonet", "train", "DATA", "--out", "OUT", "--val-fraction", "-1"], "--val-fraction"),
    (["ladder", "DATA", "--finetune-epochs", "0"], "--finetune-epochs"),
    (["finetune", "DATA", "--out", "OUT", "--patience", "-1"], "--patience"),
    (["export", "DATA", "--tolerance", "-1"], "--tolerance"),
    # a misspelled preset was accepted whenever no augmented view was asked for
    (["train", "DATA", "--out", "OUT", "--augment", "nosuch"], "Unknown augmentation preset 'nosuch'"),
    (["kshot", "DATA", "--augment", "nosuch"], "Unknown augmentation preset 'nosuch'"),
    (["augment", "DATA", "--out", "OUT", "--augment", "nosuch"], "Unknown augmentation preset 'nosuch'"),
    (["ladder", "DATA", "--augment-views", "65"], "--augment-views"),
    (["embed", "DATA", "--model", "DATA", "--backbone", "test_tiny_image", "--out", "OUT"], "not both"),
    # the zero-shot prior's head, asked for without the prior, trained a plain prototype head
    (["train", "DATA", "--out", "OUT", "--head", "zeroshot_prior"], "--zero-shot-prior"),
    (["kshot", "DATA", "--head", "zeroshot_prior"], "--zero-shot-prior"),
])
def test_number_options_that_cannot_work_are_refused_up_front(argv, option, capsys, color_splits, tmp_path):
    argv = [str(color_splits) if a == "DATA" else str(tmp_path / "out") if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0], err


@pytest.mark.parametrize("argv,name", [(["suggest", "MODEL", "DATA"], "suggestions.csv"),
                                       (["ladder", "DATA"], "ladder.json")])
def test_folder_outputs_keep_a_users_file_of_the_same_name(argv, name, capsys, color_tree, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text("id,phone\n1,555\n")
    argv = [str(tmp_path / "m") if a == "MODEL" else str(color_tree) if a == "DATA" else a for a in argv]
    assert main([*argv, "--out", str(out)]) == 2  # refused before the model or the data is read
    assert "was not written by handful" in capsys.readouterr().err
    assert (out / name).read_text() == "id,phone\n1,555\n"


@pytest.mark.parametrize("argv,main_file,picture", [
    (["evaluate", "MODEL", "VAL"], "report.json", "confusion_matrix.png"),
    (["advise", "DATA", "--repeats", "2", "--backbone", "test_tiny_image"], "advice.json", "learning_curve.png"),
    (["suggest", "MODEL", "VAL"], "suggestions.csv", "contact_sheet.png"),
    (["suggest", "MODEL", "VAL"], "suggestions.csv", "suggestions.json"),
    (["ladder", "DATA", "--rungs", "features"], "ladder.json", "ladder.png"),
])
def test_a_users_picture_in_an_out_folder_is_kept_and_ours_is_replaced(argv, main_file, picture, capsys,
                                                                        color_splits, tmp_path):
    from PIL import Image

    model = tmp_path / "m"
    assert main(["train", str(color_splits), "--out", str(model), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    argv = [str(model) if a == "MODEL" else str(color_splits / "val") if a == "VAL"
            else str(color_splits) if a == "DATA" else a for a in argv]
    out = tmp_path / "mine"
    out.mkdir()
    Image.new("RGB", (4, 4), "red").save(out / picture, format="PNG")  # the user's own picture (or file)
    mine = (out / picture).read_bytes()
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 2  # the main file is absent: only the name matched
    assert "was not written by handful" in capsys.readouterr().err
    assert (out / picture).read_bytes() == mine
    (out / picture).unlink()
    assert main([*argv, "--out", str(out)]) == 0
    (out / main_file).unlink()  # what is left must be known as handful's by itself (the PNG's tag)
    assert main([*argv, "--out", str(out)]) == 0, f"a re-run must replace handful's own {picture}"


def image_and_text_models(color_tree, text_csv, tmp_path):
    """Two small trained models: (image model, text model)."""
    models = tmp_path / "img", tmp_path / "txt"
    for data, model, backbone in ((color_tree, models[0], "test_tiny_image"), (text_csv, models[1], "test_tiny_text")):
        assert main(["train", str(data), "--out", str(model), "--backbone", backbone, "--no-advise"]) == 0
    return models


def test_predict_with_nothing_usable_is_an_error_not_a_silent_success(capsys, color_tree, text_csv, tmp_path):
    image_model, text_model = image_and_text_models(color_tree, text_csv, tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"not a png")
    capsys.readouterr()
    assert main(["predict", str(image_model), str(tmp_path / "empty"), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no image files found" in err[0], err
    assert main(["predict", str(image_model), str(tmp_path / "bad")]) == 2  # as the server's 400
    err = capsys.readouterr().err
    assert "x.png" in err and "None of the 1 inputs could be used" in err
    assert main(["predict", str(text_model), "  "]) == 2  # an empty text is skipped, not predicted
    assert "text 1: empty text" in capsys.readouterr().err
    result = run_json(capsys, ["predict", str(text_model), "", "a fine day"])
    assert [r["input"] for r in result["predictions"]] == ["text 2"]
    assert result["skipped"] == [{"path": "text 1", "reason": "empty text"}]


def test_predict_with_every_typed_text_empty_ends_with_an_error_that_says_why(capsys, text_csv, tmp_path):
    # "No usable inputs." came first, on stdout (so after the error when both went to one file),
    # and the error said only that none of the inputs could be used
    from handful import Classifier

    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "txt")
    assert main(["predict", str(tmp_path / "txt"), "", "  "]) == 2
    captured = capsys.readouterr()
    assert "No usable inputs" not in captured.out + captured.err
    err = captured.err.strip().splitlines()
    assert err[:2] == ["skipped text 1: empty text", "skipped text 2: empty text"]
    assert err[-1].startswith("error: ") and "2 empty text" in err[-1] and "non-empty text" in err[-1]


def test_predict_refuses_input_of_the_other_kind(capsys, color_tree, text_csv, tmp_path):
    image_model, text_model = image_and_text_models(color_tree, text_csv, tmp_path)
    capsys.readouterr()
    assert main(["predict", str(image_model), str(text_csv)]) == 2
    assert "classifies images" in capsys.readouterr().err
    assert main(["predict", str(text_model), str(color_tree)]) == 2  # not the folder's name as a text
    assert "classifies texts" in capsys.readouterr().err


def test_predict_takes_a_missing_or_second_table_name_as_an_error_not_as_a_text(capsys, text_csv, tmp_path):
    text_model = tmp_path / "txt"
    assert main(["train", str(text_csv), "--out", str(text_model), "--backbone", "test_tiny_text",
                 "--no-advise"]) == 0
    capsys.readouterr()
    missing = tmp_path / "reviews.csv"  # a typo or a file not there: not the text "reviews.csv"
    assert main(["predict", str(text_model), str(missing), "--json"]) == 2
    captured = capsys.readouterr()
    assert list(json.loads(captured.out)) == ["error", "exit_code"]  # no prediction of the name
    assert str(missing) in captured.err and "does not exist" in captured.err
    other = tmp_path / "more.csv"
    other.write_text("text\nthe team won\n")
    assert main(["predict", str(text_model), str(text_csv), str(other), "--json"]) == 2  # not 2 texts
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "one CSV/TSV" in err[0], err


def test_typed_texts_written_to_an_out_file_are_keyed_by_text_so_a_rerun_predicts_new_ones(
        capsys, text_csv, tmp_path):
    model, preds = tmp_path / "txt", tmp_path / "preds.csv"
    assert main(["train", str(text_csv), "--out", str(model), "--backbone", "test_tiny_text", "--no-advise"]) == 0
    assert main(["predict", str(model), "the team scored a goal", "--out", str(preds)]) == 0
    # other texts, same --out: "text 1" is a new text, not the one already predicted
    result = run_json(capsys, ["predict", str(model), "add basil to the soup", "the team scored a goal",
                               "--out", str(preds)])
    assert (result["n"], result["n_resumed"]) == (1, 1)
    rows = preds.read_text().strip().splitlines()[1:]
    # input (the typed text is its own id here), text, label_1
    assert [r.split(",")[:3] for r in rows] == [["the team scored a goal", "the team scored a goal", "sports"],
                                                ["add basil to the soup", "add basil to the soup", "cooking"]]


def test_a_long_but_legal_out_name_works(capsys, color_tree, tmp_path):
    name = "m" * 240  # the hidden temp folder beside it must fit in 255 bytes as well
    assert main(["train", str(color_tree), "--out", str(tmp_path / name), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    assert (tmp_path / name / "model.json").is_file()


@pytest.fixture
def nested_splits(tmp_path) -> Path:
    """train/ and val/, each parent/leaf: warm/red, cool/green, cool/blue (3 leaf classes)."""
    root = tmp_path / "nested"
    for split, n, seed in (("train", 6, 1), ("val", 4, 2)):
        flat = make_color_tree(tmp_path / f"flat-{split}", n, seed=seed)
        for leaf, parent in (("red", "warm"), ("green", "cool"), ("blue", "cool")):
            (root / split / parent).mkdir(parents=True, exist_ok=True)
            (flat / leaf).rename(root / split / parent / leaf)
    return root


@pytest.mark.parametrize("argv", [
    ["kshot", "DATA", "--shots", "1", "--repeats", "2", "--head", "prototype"],
    ["ladder", "DATA", "--rungs", "features", "--out", "OUT"],
    ["zeroshot", "DATA/val", "--classes", "orange,broccoli,strawberry"],
])
def test_nested_leaf_folders_are_the_classes_in_every_data_command(argv, nested_splits, capsys, tmp_path):
    # --nested was missing from kshot, ladder and zeroshot (train, evaluate, advise, augment,
    # finetune and the few-shot commands had it); each leaf folder is a class, as in train.
    import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
    from handful.zeroshot import scorer

    backbone = "test_imagenet_colors" if argv[0] == "zeroshot" else "test_tiny_image"
    argv = [a.replace("DATA", str(nested_splits)) if a.startswith("DATA") else
            str(tmp_path / "out") if a == "OUT" else a for a in argv]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scorer, "DEFAULT_TEXT_BACKBONE", "test_tiny_text")
        assert main([*argv, "--nested", "--backbone", backbone, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    if argv[0] == "kshot":
        assert result["n_test"] == 12 and result["shots"]["1"]["mean"] == 1.0
    elif argv[0] == "ladder":
        assert result["rows"][0]["n_test"] == 12 and result["rows"][0]["accuracy"] == 1.0
    else:
        assert result["classes"] == {"cool/blue": "orange", "cool/green": "broccoli", "warm/red": "strawberry"}
        assert result["accuracy"] == 1.0 and result["n"] == 12


def test_predict_asks_for_the_text_column_of_a_table_whose_header_it_does_not_know(capsys, text_csv, tmp_path):
    # the header row 'id,phrase' was classified as a text, and each id glued to its text
    text_model = tmp_path / "txt"
    assert main(["train", str(text_csv), "--out", str(text_model), "--backbone", "test_tiny_text",
                 "--no-advise"]) == 0
    table = tmp_path / "queries.csv"
    table.write_text("id,phrase\n1,the team won the final\n2,stir the soup\n")
    capsys.readouterr()
    assert main(["predict", str(text_model), str(table)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--text-column" in err[0] and "'phrase'" in err[0], err
    result = run_json(capsys, ["predict", str(text_model), str(table), "--text-column", "phrase"])
    assert [(r["input"], r["label"]) for r in result["predictions"]] == [
        ("queries.csv:2", "sports"), ("queries.csv:3", "cooking")]


@pytest.mark.parametrize("argv", [
    ["train", "IMAGES", "--out", "OUT", "--backbone", "test_tiny_image", "--text-column", "text"],
    ["evaluate", "IMAGE_MODEL", "IMAGES", "--label-column", "label"],
    ["advise", "IMAGES", "--out", "OUT", "--backbone", "test_tiny_image", "--text-column", "text"],
    ["kshot", "IMAGES", "--test", "IMAGES", "--shots", "1", "--text-column", "text"],
    ["zeroshot", "IMAGES", "--classes", "a,b,c", "--out", "OUT", "--text-column", "text"],
    ["suggest", "IMAGE_MODEL", "IMAGES", "--out", "OUT", "--text-column", "text"],
    ["predict", "IMAGE_MODEL", "IMAGES", "--text-column", "text"],
    ["embed", "IMAGES", "--out", "OUT.npy", "--backbone", "test_tiny_image", "--text-column", "text"],
    ["predict", "TEXT_MODEL", "a typed text", "--text-column", "text"],
])
def test_a_column_option_where_there_is_no_table_is_refused_not_ignored(argv, capsys, color_tree, text_csv,
                                                                        tmp_path):
    image_model, text_model = image_and_text_models(color_tree, text_csv, tmp_path)
    names = {"IMAGES": str(color_tree), "IMAGE_MODEL": str(image_model), "TEXT_MODEL": str(text_model),
             "OUT": str(tmp_path / "out"), "OUT.npy": str(tmp_path / "out.npy")}
    capsys.readouterr()
    assert main([names.get(a, a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    option = next(a for a in argv if a.endswith("-column"))
    assert len(err) == 1 and option in err[0] and "CSV/TSV" in err[0] and "Drop" in err[0], err
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.npy").exists()


def test_evaluate_and_kshot_take_a_test_set_of_one_class(capsys, color_tree, tmp_path):
    # "how many of my new red images does it get right?" was refused: a test set needed 2 classes
    model = tmp_path / "m"
    assert main(["train", str(color_tree), "--out", str(model), "--backbone", "test_tiny_image",
                 "--head", "prototype", "--no-advise"]) == 0
    only_red = make_color_tree(tmp_path / "new", 4, classes=("red",), seed=7)
    capsys.readouterr()
    assert main(["evaluate", str(model), str(only_red), "--out", str(tmp_path / "ev")]) == 0
    captured = capsys.readouterr()
    assert "Accuracy 100.0%" in captured.out and "balanced 100.0%" in captured.out  # = red's recall
    assert "2 of the model's 3 classes are not in this test set (blue, green)" in captured.out
    assert "warning" not in captured.err  # sklearn's "A single label was found" is not the user's
    result = run_json(capsys, ["evaluate", str(model), str(only_red), "--out", str(tmp_path / "ev"), "--json"])
    assert result["n"] == 4 and result["per_class"]["red"]["recall"] == 1.0
    assert result["per_class"]["blue"]["support"] == 0
    result = run_json(capsys, ["kshot", str(color_tree), "--test", str(only_red), "--shots", "1",
                               "--repeats", "2", "--backbone", "test_tiny_image", "--head", "prototype"])
    assert result["n_test"] == 4 and len(result["shots"]["1"]["runs"]) == 2


def test_training_still_needs_two_classes(capsys, tmp_path):
    only_red = make_color_tree(tmp_path / "new", 4, classes=("red",))
    assert main(["train", str(only_red), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image"]) == 2
    assert "needs at least 2 class sub-folders" in capsys.readouterr().err


@pytest.mark.parametrize("seed", range(5))
def test_balanced_accuracy_is_sklearns_mean_recall_over_the_classes_in_the_test_set(seed):
    from sklearn.metrics import balanced_accuracy_score

    from handful.evaluate import classification_report

    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c", "d"]
    y_true = rng.choice(classes[: 2 + seed % 3], 40)  # some seeds leave classes out of the test set
    y_pred = rng.choice(classes, 40)
    report = classification_report(y_true, y_pred, classes)
    with pytest.warns(UserWarning) if len(set(y_true)) < len(set(y_pred) | set(y_true)) else nullcontext():
        expected = balanced_accuracy_score(y_true, y_pred)
    assert report["balanced_accuracy"] == pytest.approx(expected)


@pytest.mark.parametrize("argv", [
    ["train", "TABLE", "--out", "OUT", "--backbone", "test_tiny_text", "--nested"],
    ["evaluate", "TEXT_MODEL", "TABLE", "--out", "OUT", "--nested"],
    ["advise", "TABLE", "--out", "OUT", "--backbone", "test_tiny_text", "--nested"],
    ["kshot", "TABLE", "--test", "TABLE", "--shots", "1", "--backbone", "test_tiny_text", "--nested"],
    ["zeroshot", "TABLE", "--out", "OUT", "--nested"],
])
def test_nested_with_a_table_is_refused_not_ignored(argv, capsys, color_tree, text_csv, tmp_path):
    _, text_model = image_and_text_models(color_tree, text_csv, tmp_path)
    names = {"TABLE": str(text_csv), "TEXT_MODEL": str(text_model), "OUT": str(tmp_path / "out")}
    capsys.readouterr()
    assert main([names.get(a, a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--nested" in err[0] and "Drop --nested" in err[0], err
    assert not (tmp_path / "out").exists()


def test_kshot_with_one_draw_gives_no_interval_rather_than_a_zero_wide_one(capsys, color_splits):
    # one draw said "std 0.0, 95% CI 77.8%-77.8%": certainty it does not have
    argv = ["kshot", str(color_splits), "--shots", "1,2", "--repeats", "1", "--backbone", "test_tiny_image",
            "--head", "prototype"]
    result = run_json(capsys, argv)
    assert all(v["std"] is None and v["ci95"] is None and len(v["runs"]) == 1 for v in result["shots"].values())
    assert main(argv) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│ 1 ")]
    assert table and table[0].count("│ -") == 2  # std and CI shown as '-'
