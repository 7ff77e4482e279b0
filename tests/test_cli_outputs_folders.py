"""evaluate, advise, suggest and kshot write their outputs through a temporary folder (or file):
Ctrl-C or an error midway leaves the previous run's outputs as they were, a rerun removes the
pictures it no longer writes, and the --json line names the final paths."""

import json
from pathlib import Path

import pytest

from conftest import make_color_tree
from handful import Classifier
from handful.cli import main

PNG_START = b"\x89PNG\r\n\x1a\n"


def _interrupted(picture_arg: int):
    """A stand-in for a plotting function: half a picture at its path argument, then Ctrl-C."""
    def plot(*args, **kwargs):
        Path(args[picture_arg]).write_bytes(PNG_START + b" half a picture")
        raise KeyboardInterrupt
    return plot


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _temporary(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


# command: its first run, a rerun that writes something else, and its plotting function (module,
# name, index of its path argument)
COMMANDS = {
    "evaluate": (["evaluate", "MODEL", "DATA/val"], ["evaluate", "MODEL", "DATA/train"],
                 ("handful.evaluate", "plot_confusion_matrix", 2)),
    "advise": (["advise", "DATA/train", "--repeats", "2", "--backbone", "test_tiny_image"],
               ["advise", "DATA/val", "--repeats", "2", "--backbone", "test_tiny_image"],
               ("handful.evaluate.data_need", "plot_learning_curve", 4)),
    "suggest": (["suggest", "MODEL", "DATA/val", "--n", "4"], ["suggest", "MODEL", "DATA/val", "--n", "2"],
                ("handful.select.contact_sheet", "contact_sheet", 2)),
}


def _argv(argv: list[str], model: Path, data: Path, out: Path) -> list[str]:
    return [*(str(model) if a == "MODEL" else a.replace("DATA", str(data)) for a in argv), "--out", str(out)]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_output_folder_interrupted_while_written_is_left_as_it_was(command, capsys, color_splits, tmp_path,
                                                                     monkeypatch):
    # the files were written in place one by one: Ctrl-C left half a picture beside a new JSON
    # (or, on a first run, half a folder)
    import importlib

    first, rerun, (module_name, function, picture_arg) = COMMANDS[command]
    module = importlib.import_module(module_name)
    real = getattr(module, function)
    model, out = tmp_path / "m", tmp_path / "out"
    Classifier("test_tiny_image", head="prototype").fit(color_splits / "train").save(model)
    first, rerun = _argv(first, model, color_splits, out), _argv(rerun, model, color_splits, out)
    monkeypatch.setattr(module, function, _interrupted(picture_arg))
    assert main(first) == 130
    assert not out.exists() and _temporary(tmp_path) == []
    monkeypatch.setattr(module, function, real)
    assert main(first) == 0
    before = _snapshot(out)
    monkeypatch.setattr(module, function, _interrupted(picture_arg))
    assert main(rerun) == 130
    assert _snapshot(out) == before and _temporary(tmp_path) == []
    monkeypatch.setattr(module, function, real)
    assert main(rerun) == 0  # what was left is handful's own, to be replaced
    capsys.readouterr()


def test_a_suggest_rerun_without_pictures_removes_the_old_contact_sheet_and_keeps_the_users_files(
        capsys, color_tree, text_csv, tmp_path):
    # suggestions for texts beside the contact sheet of an earlier run on images: the sheet
    # showed other items than the list
    image_model, text_model, out = tmp_path / "img", tmp_path / "txt", tmp_path / "s"
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(image_model)
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(text_model)
    pool = make_color_tree(tmp_path / "pool", 3, seed=7)  # new pictures: copies of training ones are not ranked
    assert main(["suggest", str(image_model), str(pool / "red"), "--n", "3", "--out", str(out)]) == 0
    assert (out / "contact_sheet.png").is_file()
    (out / "notes.txt").write_text("my notes")
    inbox = tmp_path / "inbox.txt"
    inbox.write_text("the team won the cup final\nbake the sourdough bread\n")  # not training texts
    assert main(["suggest", str(text_model), str(inbox), "--n", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "suggestions.csv", "suggestions.json"]
    assert (out / "notes.txt").read_text() == "my notes"


def _run_json(capsys, argv: list[str]) -> tuple[dict, str]:
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    last = captured.out.strip().splitlines()[-1]
    return json.loads(last), last


def test_the_json_line_of_each_folder_command_names_the_final_files(capsys, color_splits, tmp_path):
    model = tmp_path / "m"
    Classifier("test_tiny_image", head="prototype").fit(color_splits / "train").save(model)
    val = str(color_splits / "val")

    result, line = _run_json(capsys, ["evaluate", str(model), val, "--out", str(tmp_path / "ev")])
    assert result["report"] == str(tmp_path / "ev" / "report.json") and Path(result["report"]).is_file()
    assert ".tmp-" not in line

    result, line = _run_json(capsys, ["advise", str(color_splits / "train"), "--repeats", "2", "--backbone",
                                      "test_tiny_image", "--out", str(tmp_path / "adv")])
    assert result["plot"] == str(tmp_path / "adv" / "learning_curve.png") and Path(result["plot"]).is_file()
    assert json.loads((tmp_path / "adv" / "advice.json").read_text())["plot"] == result["plot"]
    assert ".tmp-" not in line

    result, line = _run_json(capsys, ["suggest", str(model), val, "--n", "3", "--out", str(tmp_path / "sg")])
    assert sorted(result["files"]) == ["contact_sheet", "csv", "json"]
    assert all(Path(p).parent == tmp_path / "sg" and Path(p).is_file() for p in result["files"].values())
    assert ".tmp-" not in line

    out_file = tmp_path / "k.json"
    result, line = _run_json(capsys, ["kshot", str(color_splits), "--shots", "1", "--repeats", "2",
                                      "--backbone", "test_tiny_image", "--head", "prototype",
                                      "--out", str(out_file)])
    assert json.loads(out_file.read_text()) == result and _temporary(tmp_path) == []


def test_a_kshot_out_file_whose_write_fails_midway_keeps_the_previous_one(capsys, color_splits, tmp_path,
                                                                          monkeypatch):
    # written in place: a write that failed partway (a full disk) left a truncated file, which the
    # next run then refused as "not written by handful"
    import handful.cli.kshot as kshot_module

    out_file = tmp_path / "k.json"
    argv = ["kshot", str(color_splits), "--shots", "1", "--repeats", "2", "--backbone", "test_tiny_image",
            "--head", "prototype", "--out", str(out_file)]
    assert main(argv) == 0
    before = out_file.read_bytes()
    real = kshot_module.json_text
    # text that cannot be encoded fails the write after the file is opened, as a full disk does
    monkeypatch.setattr(kshot_module, "json_text", lambda *a, **k: real(*a, **k) + "\ud800")
    with pytest.raises(UnicodeEncodeError):
        main(argv + ["--seed", "1"])
    assert out_file.read_bytes() == before and _temporary(tmp_path) == []
    monkeypatch.setattr(kshot_module, "json_text", real)
    assert main(argv + ["--seed", "1"]) == 0
    capsys.readouterr()
