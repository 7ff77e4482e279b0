"""Small CLI defects (s24): --version --json, the model-writer hint, --rotations help, and advise /
suggest outputs that would land in a model folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_color_tree, one_error_line
from handful import __version__
from handful.cli.main import main


def folder_state(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: what a refused command must leave as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- 1. handful --version --json --------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--version", "--json"], ["--json", "--version"]])
def test_version_with_json_prints_one_json_object_and_exits_0(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    # every public command takes --json; it said "No such option: --json" and exited 2
    assert code == 0, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1]) == {"version": __version__}


def test_plain_version_still_prints_the_version_line(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"handful {__version__}\n"  # unchanged by the --json option


def test_json_before_a_command_says_where_it_goes(capsys, color_tree, tmp_path):
    # the group's --json is only for --version: before a command it would be ignored silently
    err = one_error_line(capsys, ["--json", "train", str(color_tree), "--out", str(tmp_path / "m")])
    assert "after the command" in err and "handful train" in err, err
    assert not (tmp_path / "m").exists()


# -- 3. the hint names every command that writes a model ---------------------------------------

WRITERS = ("`handful train`", "`handful finetune`", "`handful protonet train`")


@pytest.mark.parametrize("make", ["missing", "not_a_model"])
def test_model_hint_names_every_command_that_writes_a_model(make, capsys, tmp_path):
    model = tmp_path / "m"
    if make == "not_a_model":
        model.mkdir()
    err = one_error_line(capsys, ["evaluate", str(model), str(tmp_path)])
    # it named `handful train` alone: a finetune or protonet model is a model here too
    assert all(w in err for w in WRITERS), err


# -- 4. --rotations says what it rotates -------------------------------------------------------

def option_help(capsys, monkeypatch, argv: list[str], option: str) -> str:
    """The help text of ``option`` in ``argv --help``, on one line (a wide terminal)."""
    monkeypatch.setenv("COLUMNS", "400")
    main([*argv, "--help"])
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if f" {option} " in line or f" {option}/" in line)
    text = [lines[start]]
    for line in lines[start + 1:]:  # continuation lines have no option name of their own
        if line.strip("│ ").startswith("--") or not line.strip("│ "):
            break
        text.append(line)
    return " ".join(t.strip("│ ") for t in text)


def test_protonet_rotations_help_says_it_turns_training_classes_only(capsys, monkeypatch):
    text = option_help(capsys, monkeypatch, ["protonet", "train"], "--rotations")
    # EpisodeBatcher turns the training classes; validation and the held-out check use them as they are
    assert "training" in text and "held-out" in text and "episodes --rotations" in text, text


def test_episodes_rotations_help_says_it_turns_the_evaluated_classes(capsys, monkeypatch):
    text = option_help(capsys, monkeypatch, ["episodes"], "--rotations")
    # with_rotations turns the classes episodes are drawn from (support and queries alike)
    assert "evaluation class" in text and "protonet train" in text, text


# -- 5. advise / suggest never write into a model folder ---------------------------------------

@pytest.fixture
def model(color_tree, tmp_path, capsys) -> Path:
    out = tmp_path / "model"
    assert main(["train", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image", "--head",
                 "prototype", "--no-advise"]) == 0
    capsys.readouterr()
    return out


@pytest.fixture
def unlabeled(tmp_path) -> Path:
    return make_color_tree(tmp_path / "unlabeled", 2, seed=5)


def refused_out(capsys, argv: list[str], model: Path) -> str:
    before = folder_state(model)
    err = one_error_line(capsys, argv)
    assert folder_state(model) == before  # the model folder is the user's model: nothing added
    return err


@pytest.mark.parametrize("where", [".", "sub"])
def test_advise_refuses_an_out_in_a_model_folder(where, model, color_tree, capsys):
    out = model if where == "." else model / where
    err = refused_out(capsys, ["advise", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image",
                               "--repeats", "2"], model)
    assert str(model) in err and "--out" in err, err  # names the model and the fix
    assert not (model / "sub").exists()


@pytest.mark.parametrize("where", [".", "sub"])
def test_suggest_refuses_an_out_in_a_model_folder(where, model, unlabeled, capsys):
    out = model if where == "." else model / where
    err = refused_out(capsys, ["suggest", str(model), str(unlabeled), "--out", str(out)], model)
    assert str(model) in err and "--out" in err, err
    assert not (model / "sub").exists()


def test_suggest_run_inside_a_model_folder_writes_beside_it(model, unlabeled, capsys, monkeypatch):
    before = folder_state(model)
    monkeypatch.chdir(model)  # the default ./suggestions would be model/suggestions
    assert main(["suggest", ".", str(unlabeled), "--n", "3"]) == 0
    assert folder_state(model) == before
    assert (model.parent / "suggestions" / "suggestions.csv").is_file()


def test_advise_run_inside_a_model_folder_writes_beside_it(model, color_tree, capsys, monkeypatch):
    before = folder_state(model)
    monkeypatch.chdir(model)  # the default ./advice-colors would be model/advice-colors
    assert main(["advise", str(color_tree), "--backbone", "test_tiny_image", "--repeats", "2"]) == 0
    assert folder_state(model) == before
    assert (model.parent / f"advice-{color_tree.name}" / "advice.json").is_file()


def test_advise_and_suggest_keep_the_other_files_of_an_existing_out(model, color_tree, unlabeled, tmp_path,
                                                                    capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["advise", str(color_tree), "--out", str(mine), "--backbone", "test_tiny_image",
                 "--repeats", "2"]) == 0
    assert main(["suggest", str(model), str(unlabeled), "--out", str(mine), "--n", "3"]) == 0
    # the user's own file in the folder is neither replaced nor removed
    assert (mine / "notes.txt").read_text() == "keep"
    assert {"advice.json", "suggestions.csv"} <= {p.name for p in mine.iterdir()}
