"""The CLI as a new user meets it: --version, outputs that are not models, data of the other kind,
messages that name the fix, and --no-cache wherever a command embeds."""

import json
from pathlib import Path

import pytest

from conftest import make_color_tree
from handful.cli import main


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.fixture
def models(color_tree, text_csv, tmp_path, capsys) -> tuple[Path, Path]:
    """(image model, text model), trained without the cache: the --no-cache tests start from none."""
    pair = tmp_path / "img", tmp_path / "txt"
    for data, model, backbone in ((color_tree, pair[0], "test_tiny_image"), (text_csv, pair[1], "test_tiny_text")):
        assert main(["train", str(data), "--out", str(model), "--backbone", backbone, "--head", "prototype",
                     "--no-advise", "--no-cache"]) == 0
    capsys.readouterr()
    return pair


def test_version_prints_the_version_and_exits_0(capsys):
    from handful import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"handful {__version__}"


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_an_out_that_is_not_a_model_says_so_at_once_rather_than_asking_for_force(force, capsys, color_tree,
                                                                                 tmp_path):
    # "already exists. Pass --force", and then with --force "is not a handful model": a dead end
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    a_file = tmp_path / "a_file"
    a_file.write_text("keep")
    for out in (mine, a_file):
        assert main(["train", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image", *force]) == 2
        err = one_error_line(capsys)
        assert "never replaced" in err and "Pass --force" not in err and "another --out" in err
    assert (mine / "notes.txt").read_text() == "keep" and a_file.read_text() == "keep"


def test_an_empty_folder_made_for_the_model_is_used(capsys, color_tree, tmp_path):
    out = tmp_path / "models" / "colors"
    out.mkdir(parents=True)  # `mkdir -p models/colors` first, as many do
    assert main(["train", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image", "--no-advise"]) == 0
    assert (out / "model.json").is_file()
    assert main(["train", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image", "--no-advise"]) == 2
    assert "already exists" in one_error_line(capsys)  # a model now: --force to replace it


def test_backbones_prints_the_pip_extra_without_a_markup_backslash(capsys):
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "pip install 'handful[hub]'" in out and "\\[" not in out


def test_evaluate_with_data_of_the_other_kind_names_the_kinds(capsys, models, color_tree, text_csv):
    # it said "classes ['cooking', 'sports'] that the model does not know"
    image_model, text_model = models
    assert main(["evaluate", str(image_model), str(text_csv)]) == 2
    err = one_error_line(capsys)
    assert "classifies images" in err and "holds texts" in err and "sub-folder per class" in err
    assert main(["evaluate", str(text_model), str(color_tree)]) == 2
    err = one_error_line(capsys)
    assert "classifies texts" in err and "holds images" in err and "CSV/TSV" in err


def test_kshot_with_a_test_set_of_the_other_kind_names_the_kinds(capsys, color_tree, text_csv):
    assert main(["kshot", str(color_tree), "--test", str(text_csv), "--backbone", "test_tiny_image"]) == 2
    err = one_error_line(capsys)
    assert "holds images" in err and "holds texts" in err and "test set of images" in err


def test_kshot_test_classes_missing_from_the_pool_name_the_fix(capsys, color_tree, tmp_path):
    from conftest import make_color_tree

    pool = make_color_tree(tmp_path / "pool", 3, classes=("red", "green"))
    assert main(["kshot", str(pool), "--test", str(color_tree), "--backbone", "test_tiny_image"]) == 2
    err = one_error_line(capsys)
    assert "['blue']" in err and "Add examples of them to the pool" in err


def test_a_text_model_refuses_an_image_file_instead_of_classifying_its_name(capsys, models, color_tree, tmp_path):
    image = next(color_tree.rglob("*.png"))
    assert main(["predict", str(models[1]), str(image), "--json"]) == 2
    captured = capsys.readouterr()
    # no predictions: stdout is only --json's error object
    assert list(json.loads(captured.out)) == ["error", "exit_code"]
    assert str(image) in captured.err and "is a file" in captured.err
    assert main(["embed", str(image), "--backbone", "test_tiny_text", "--out", str(tmp_path / "e.npy")]) == 2
    assert "embeds texts" in one_error_line(capsys)
    result = main(["predict", str(models[1]), "the team won", "stir the soup", "--json"])  # texts still work
    assert result == 0 and len(json.loads(capsys.readouterr().out.splitlines()[-1])["predictions"]) == 2


@pytest.mark.parametrize("make, phrase", [
    (lambda p: p, "does not exist"),
    (lambda p: p.mkdir() or p, "is a folder"),
])
def test_an_augment_config_that_is_not_a_file_says_so(make, phrase, capsys, color_tree, tmp_path):
    config = make(tmp_path / "settings.json")
    assert main(["augment", str(color_tree), "--out", str(tmp_path / "aug"), "--config", str(config)]) == 2
    err = one_error_line(capsys)
    assert phrase in err and "cannot be read as JSON" not in err and not (tmp_path / "aug").exists()


def test_suggest_on_a_folder_with_nothing_usable_says_what_to_give(capsys, models, tmp_path):
    empty, broken = tmp_path / "empty", tmp_path / "broken"
    empty.mkdir()
    broken.mkdir()
    (broken / "x.png").write_bytes(b"not a png")
    assert main(["suggest", str(models[0]), str(empty), "--out", str(tmp_path / "s")]) == 2
    err = one_error_line(capsys)
    assert "no image files found" in err and "Give a folder of unlabeled images" in err
    assert main(["suggest", str(models[0]), str(broken), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "x.png" in err and "Give a folder of unlabeled images" in err


@pytest.mark.parametrize("content, phrases", [
    ("text,label\n", ["nothing under it", "Add rows"]),
    ("text,label\n,a\n  ,b\n", ["all 2 were skipped", "empty text", "Add rows"]),
    ("text,label\nthe team won,sports\nstir the soup,sports\n", ["1 label(s)", "Add rows of another label"]),
])
def test_a_table_with_too_little_in_it_names_the_fix(content, phrases, capsys, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text(content)
    assert main(["train", str(table), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_text"]) == 2
    err = one_error_line(capsys)
    assert all(p in err for p in phrases), err


def test_a_test_folder_without_classes_asks_for_one_class_folder_not_folders(capsys, models, tmp_path):
    (tmp_path / "flat").mkdir()
    assert main(["evaluate", str(models[0]), str(tmp_path / "flat")]) == 2
    assert "at least 1 class sub-folder with images" in one_error_line(capsys)


@pytest.mark.parametrize("command", ["evaluate", "suggest", "zeroshot"])
def test_no_cache_is_taken_wherever_a_command_embeds_and_writes_no_entry(command, capsys, models, color_tree,
                                                                        text_csv, tmp_path):
    import os

    argv = {"evaluate": ["evaluate", str(models[0]), str(color_tree), "--out", str(tmp_path / "ev")],
            # new pictures: copies of the training ones are not ranked (nothing would be left to suggest)
            "suggest": ["suggest", str(models[0]), str(make_color_tree(tmp_path / "pool", 3, seed=7) / "red"),
                        "--out", str(tmp_path / "s")],
            "zeroshot": ["zeroshot", str(text_csv), "--backbone", "test_tiny_text"]}[command]
    assert main([*argv, "--no-cache", "--json"]) == 0, capsys.readouterr().err
    json.loads(capsys.readouterr().out.splitlines()[-1])
    cache = Path(os.environ["HANDFUL_CACHE"])
    assert not [p for p in cache.rglob("*.npy")]  # nothing read, nothing written


def test_train_json_names_the_head_as_model_json_and_the_head_option_do(capsys, color_tree, tmp_path):
    # it said "PrototypeHead", which --head refuses and model.json does not use
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--head", "prototype", "--no-advise", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert result["head"]["type"] == doc["head"]["type"] == "prototype"
    assert result["head"]["params"] == doc["head"]["params"]


def test_predict_out_that_is_a_folder_is_refused_in_the_words_of_the_other_commands(capsys, models, color_tree,
                                                                                      tmp_path):
    # it was "cannot use 'x': Is a directory", from the OS, after the model had loaded
    blocker = tmp_path / "a_file"
    blocker.write_text("keep")
    for out, phrase in ((color_tree, "it is a folder"), (blocker / "p.csv", "a_file' is a file, not a folder")):
        assert main(["predict", str(models[0]), str(color_tree), "--out", str(out)]) == 2
        assert phrase in one_error_line(capsys)


@pytest.mark.parametrize("weight, shown", [(0.75, True), (0.0, False)])
def test_the_cv_line_says_the_winners_figure_is_the_head_without_the_zero_shot_prior(weight, shown, capsys):
    # "Cross-validated accuracy: 74.7%" for a saved model whose prior made it 76.0% on those folds
    from handful.cli.core import print_cv_accuracy
    from handful.cli.output import Output

    selection = {"cv_accuracy": 0.747, "adjusted_accuracy": 0.727, "candidates": 7, "selection_bias": 0.02}
    prior = {"weight": weight, "cv_accuracy": {"without_prior": 0.747, "with_prior": 0.76 if weight else 0.747}}
    print_cv_accuracy(Output(), selection, prior)
    line = " ".join(capsys.readouterr().out.split())
    assert line.startswith("Cross-validated accuracy: 74.7%")
    assert ("the head alone" in line and "76.0%" in line) is shown


def test_a_fixed_head_on_a_fixed_backbone_still_reports_a_cross_validated_accuracy(capsys, color_tree, tmp_path):
    # --head and --backbone both given and no val/ or test/: the run reported no accuracy at all
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--head", "logistic", "--no-advise", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= out["metrics"]["cv_accuracy"] <= 1.0
    board = out["leaderboard"]
    assert [r["head"] for r in board["rows"]] == ["logistic"] and board["selection"]["candidates"] == 1
    assert out["metrics"]["cv_accuracy_adjusted"] == out["metrics"]["cv_accuracy"]  # nothing chosen
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    assert saved["leaderboard"]["rows"][0]["head"] == "logistic"
