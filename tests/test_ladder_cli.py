"""``handful ladder``: every rung trained and scored on the same data, saved as JSON + chart."""

import json

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
                 "--rungs", "features,finetune", "--finetune-epochs", "1", "--unfreeze", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = {r["rung"]: r for r in json.loads(captured.out.strip().splitlines()[-1])["rows"]}
    assert rows["finetune"]["n_test"] == rows["features"]["n_test"] == 12
    assert rows["finetune"]["details"]["unfreeze"] == 1
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
