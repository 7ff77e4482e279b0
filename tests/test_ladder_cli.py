"""``handful ladder``: every rung trained and scored on the same data, saved as JSON + chart."""

import json
from pathlib import Path

import pytest

from handful.cli import main
from handful.data import scan_folder
from handful.errors import UnknownNameError
from handful.finetune.ladder import RUNGS, cap_per_class, parse_rungs

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def test_ladder_runs_the_chosen_rungs_and_saves_table_and_chart(capsys, color_splits, tmp_path):
    out = tmp_path / "ladder"
    code = main(["ladder", str(color_splits), "--out", str(out), "--json",
                 "--rungs", "scratch,scratch+aug,features,features+aug",
                 "--backbone", "test_tiny_image", "--augment-views", "2", "--augment", "light",
                 "--scratch-epochs", "3", "--scratch-size", "32"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    rows = {r["rung"]: r for r in result["rows"]}
    assert list(rows) == ["scratch", "scratch+aug", "features", "features+aug"]
    assert all(r["n_test"] == 12 and r["train_seconds"] >= 0 for r in rows.values())
    # The tiny backbone's color thumbnails separate the classes perfectly (see test_cli_core).
    assert rows["features"]["accuracy"] == 1.0 and rows["features+aug"]["accuracy"] == 1.0
    assert rows["features+aug"]["details"]["views_per_image"] == 2
    assert rows["scratch"]["details"]["epochs"] <= 3
    saved = json.loads((out / "ladder.json").read_text())
    assert [r["rung"] for r in saved["rows"]] == list(rows)
    assert set(saved["histories"]) == {"scratch", "scratch+aug"}
    assert (out / "ladder.png").is_file() and (out / "curves-scratch-aug.png").is_file()


def test_ladder_with_a_test_folder_whose_classes_are_unknown_fails_in_one_line(capsys, color_splits,
                                                                              tmp_path):
    odd = tmp_path / "odd"
    for name in ("purple", "red"):
        (odd / name).mkdir(parents=True)
        (odd / name / "a.png").write_bytes((color_splits / "val" / "red" / "red_1.png").read_bytes())
    code = main(["ladder", str(color_splits / "train"), "--test", str(odd), "--rungs", "features",
                 "--backbone", "test_tiny_image"])
    assert code == 2 and "['purple'] do not occur" in capsys.readouterr().err


def test_parse_rungs_keeps_ladder_order_and_names_typos():
    assert parse_rungs("finetune,scratch") == ("scratch", "finetune")
    assert parse_rungs(",".join(RUNGS)) == RUNGS
    with pytest.raises(UnknownNameError, match="Did you mean 'finetune'"):
        parse_rungs("fine-tune")


def test_cap_per_class_keeps_at_most_n_of_each_class(color_tree):
    examples = scan_folder(color_tree)
    capped = cap_per_class(examples, 2, seed=0)
    assert capped.counts() == {"blue": 2, "green": 2, "red": 2}
    assert cap_per_class(examples, 2, seed=0).items == capped.items  # reproducible
    assert cap_per_class(examples, None) is examples


@pytest.mark.slow  # real EfficientNet-Lite0 weights
def test_ladder_finetune_rung_scores_the_tuned_model(capsys, color_splits, tmp_path):
    code = main(["ladder", str(color_splits), "--out", str(tmp_path / "l"), "--json",
                 "--rungs", "features,finetune", "--finetune-epochs", "1", "--unfreeze", "1",
                 "--finetune-weight-decay", "0.05"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = {r["rung"]: r for r in json.loads(captured.out.strip().splitlines()[-1])["rows"]}
    assert rows["finetune"]["n_test"] == rows["features"]["n_test"] == 12
    assert rows["finetune"]["details"]["unfreeze"] == 1
    assert isinstance(rows["finetune"]["details"]["backbone_tuned"], bool)
    saved = json.loads((tmp_path / "l" / "ladder.json").read_text())
    assert saved["config"]["finetune"]["weight_decay"] == 0.05  # passed through to fine-tuning
    assert rows["finetune"]["accuracy"] >= 0.75  # chance is 1/3 (see test_finetune_tune)


def _no_training(*args, **kwargs):
    raise AssertionError("a rung started training")


@pytest.mark.parametrize("args, message", [
    # each was found only when its rung came up, after the scratch CNN had trained (ladder.json lost)
    (["--rungs", "scratch,features", "--backbone", "efficientnet_lite00"], "Did you mean 'efficientnet_lite0'"),
    (["--rungs", "scratch,features", "--backbone", "test_tiny_text"], "embeds texts"),
    (["--rungs", "scratch,features", "--head", "logistc"], "Unknown head 'logistc'"),
    (["--rungs", "scratch,finetune", "--backbone", "test_tiny_image"], "cannot be fine-tuned"),
    (["--rungs", "scratch,finetune", "--unfreeze", "99"], "between 0 and 16"),
    (["--rungs", "scratch", "--scratch-size", "100000"], "--scratch-size must be between 16 and 512"),  # a traceback
    (["--rungs", ","], "--rungs names no rung"),  # ran nothing and wrote an empty table
    (["--rungs", "scratch,finetune", "--finetune-weight-decay", "-1"],
     "--finetune-weight-decay must be a number between 0 and 1"),
])
def test_ladder_checks_its_options_before_training_any_rung(capsys, color_splits, tmp_path, monkeypatch,
                                                             args, message):
    monkeypatch.setattr("handful.finetune.ladder.train_scratch", _no_training)
    code = main(["ladder", str(color_splits), "--out", str(tmp_path / "l"), "--scratch-epochs", "1", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "l").exists()


def test_ladder_lists_skipped_files(capsys, color_splits, tmp_path):
    (color_splits / "train" / "red" / "notes.jpg").write_text("not an image")
    (color_splits / "val" / "blue" / "empty.png").write_bytes(b"")
    code = main(["ladder", str(color_splits), "--out", str(tmp_path / "l"), "--rungs", "features",
                 "--backbone", "test_tiny_image", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "notes.jpg: not an image" in captured.err and "empty.png: empty file" in captured.err
    assert len(captured.out.strip().splitlines()) == 1


def test_ladder_feature_rungs_still_take_backbone_auto(capsys, color_splits, tmp_path, monkeypatch):
    from handful.classifier import DEFAULT_BACKBONES

    monkeypatch.setitem(DEFAULT_BACKBONES, "image", "test_tiny_image")
    code = main(["ladder", str(color_splits), "--out", str(tmp_path / "l"), "--rungs", "features",
                 "--backbone", "auto", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["rows"][0]["accuracy"] == 1.0


SCRATCH = ["--backbone", "test_tiny_image", "--scratch-epochs", "1", "--scratch-size", "32"]


def test_a_rerun_with_fewer_rungs_removes_the_curves_of_the_rungs_it_did_not_run(capsys, color_splits,
                                                                                   tmp_path):
    # curves-scratch-aug.png of the first run stayed beside a ladder.json without that rung
    out = tmp_path / "ladder"
    assert main(["ladder", str(color_splits), "--out", str(out), "--rungs", "scratch,scratch+aug", *SCRATCH]) == 0
    (out / "notes.txt").write_text("my notes")
    (out / "curves-finetune.png").write_bytes(b"\x89PNG my own picture")  # not handful's: kept
    assert main(["ladder", str(color_splits), "--out", str(out), "--rungs", "scratch", *SCRATCH]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["curves-finetune.png", "curves-scratch.png",
                                                     "ladder.json", "ladder.png", "notes.txt"]
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "curves-finetune.png").read_bytes() == b"\x89PNG my own picture"


def _interrupted_plot(rows, path, title="Ladder"):
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n half a picture")
    raise KeyboardInterrupt


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_ladder_interrupted_while_writing_leaves_the_folder_as_it_was(capsys, color_splits, tmp_path,
                                                                        monkeypatch):
    # its files were written in place one by one: Ctrl-C left half a ladder.png beside a new
    # ladder.json (or half a ladder.json, which the next run refused as not written by handful)
    import handful.finetune.curves as curves

    out = tmp_path / "ladder"
    argv = ["ladder", str(color_splits), "--out", str(out), "--rungs", "features", "--backbone", "test_tiny_image"]
    real_plot = curves.plot_ladder
    monkeypatch.setattr(curves, "plot_ladder", _interrupted_plot)
    assert main(argv) == 130
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["splits"]  # no temp folder left
    monkeypatch.setattr(curves, "plot_ladder", real_plot)
    assert main(argv) == 0
    before = _snapshot(out)
    monkeypatch.setattr(curves, "plot_ladder", _interrupted_plot)
    assert main(argv + ["--seed", "1"]) == 130
    assert _snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["ladder", "splits"]
    monkeypatch.setattr(curves, "plot_ladder", real_plot)
    assert main(argv) == 0
    capsys.readouterr()


def test_ladder_json_is_strict_json_when_a_rung_has_nan_losses(capsys, color_splits, tmp_path, monkeypatch):
    # a diverged run's NaN losses were written as NaN tokens, which JSON.parse and jq refuse
    import handful.finetune.ladder as ladder_module

    real = ladder_module.run_ladder

    def diverged(*args, **kwargs):
        result = real(*args, **kwargs)
        for epoch in result["histories"]["scratch"]["epochs"]:
            epoch["train_loss"] = float("nan")
        return result

    monkeypatch.setattr(ladder_module, "run_ladder", diverged)
    out = tmp_path / "ladder"
    assert main(["ladder", str(color_splits), "--out", str(out), "--rungs", "scratch", *SCRATCH]) == 0
    capsys.readouterr()

    def refuse(token):
        raise ValueError(f"{token} is not JSON")

    saved = json.loads((out / "ladder.json").read_text(), parse_constant=refuse)
    assert saved["histories"]["scratch"]["epochs"][0]["train_loss"] is None


def test_a_copies_warning_is_said_once_though_two_feature_rungs_fit(capsys, color_splits, tmp_path):
    # the features and features+aug rungs each fit a Classifier: the warning came twice
    red = color_splits / "train" / "red"
    (red / "copy.png").write_bytes((red / "red_1.png").read_bytes())
    with pytest.warns(UserWarning) as record:
        code = main(["ladder", str(color_splits), "--out", str(tmp_path / "l"), "--rungs", "features,features+aug",
                     "--backbone", "test_tiny_image", "--augment-views", "2", "--augment", "light"])
    assert code == 0, capsys.readouterr().err
    copies = [str(w.message) for w in record if "byte-identical" in str(w.message)]
    assert len(copies) == 1, copies
