"""Three CLI slips: an empty name in --classes, kshot's prior reported as ``classes: null``, and a
missing --support folder reported without naming --support."""


import pytest

import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
from conftest import run_json
from handful import Classifier
from handful.cli import main
from handful.errors import DataError
from handful.zeroshot import parse_class_list

FOLDERS = {"blue": "blue", "green": "green", "red": "red"}  # the color_tree labels, named by themselves


def run_error(capsys, argv) -> str:
    """The one-line error of a refused command (exit 2)."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("text, place", [
    ("ant,,bee", "at place 2 (after 'ant')"),
    ("ant, ,bee", "at place 2 (after 'ant')"),
    (",ant,bee", "at place 1 (before the first comma)"),
    # a trailing comma is refused too: "ant,bee,$THIRD" with the variable unset looks the same,
    # and zeroshot would then choose among 2 classes where 3 were meant, without a word
    ("ant,bee,", "at place 3 (after the last comma)"),
    ("ant,bee,,,cat", "at place 3 (after 'bee')"),
])
def test_an_empty_class_name_is_refused_naming_its_place_and_the_fix(text, place):
    # it was dropped without a word: "ant,,bee" ran as "ant,bee"
    with pytest.raises(DataError, match="--classes has an empty name") as err:
        parse_class_list(text)
    assert place in str(err.value) and "Remove the extra comma or add the missing name" in str(err.value)


@pytest.mark.parametrize("text", ["ant, bee", " ant ,bee ,cat "])
def test_spaces_around_the_names_are_still_fine(text):
    assert parse_class_list(text) == [n.strip() for n in text.split(",")]


def test_zeroshot_and_the_prior_refuse_an_empty_class_name_on_one_line(capsys, color_tree, tmp_path,
                                                                      tiny_text_names):
    for argv in (["zeroshot", str(color_tree), "--backbone", "test_imagenet_colors"],
                 ["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone",
                  "test_imagenet_colors", "--zero-shot-prior", "--no-advise"]):
        line = run_error(capsys, argv + ["--classes", "orange,,broccoli,strawberry"])
        assert "empty name at place 2 (after 'orange')" in line, line
    assert not (tmp_path / "m").exists(), "refused before training"


def test_kshot_prior_lists_the_folder_names_it_used_when_no_classes_are_given(capsys, color_splits,
                                                                             tiny_text_names):
    out = run_json(capsys, ["kshot", str(color_splits / "train"), "--test", str(color_splits / "val"),
                            "--shots", "1", "--repeats", "2", "--backbone", "test_imagenet_colors",
                            "--head", "prototype", "--zero-shot-prior"])
    # the prior read each folder name as its class name; the report said null, as if none
    assert out["zero_shot_prior"]["classes"] == FOLDERS


def test_train_prior_lists_the_folder_names_it_used_when_no_classes_are_given(capsys, color_tree,
                                                                             tmp_path, tiny_text_names):
    out = run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone",
                            "test_imagenet_colors", "--head", "prototype", "--zero-shot-prior",
                            "--no-advise"])
    assert out["zero_shot_prior"]["class_names"] == FOLDERS  # was null, as kshot's


def test_train_prior_lists_the_given_names_by_label(capsys, color_tree, tmp_path, tiny_text_names):
    out = run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone",
                            "test_imagenet_colors", "--head", "prototype", "--zero-shot-prior",
                            "--classes", "orange,broccoli,strawberry", "--no-advise"])
    assert out["zero_shot_prior"]["class_names"] == {"blue": "orange", "green": "broccoli",
                                                     "red": "strawberry"}


def test_a_missing_support_folder_is_named_as_the_support_option(capsys, color_tree, tmp_path):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    query = next(color_tree.glob("red/*"))
    line = run_error(capsys, ["predict", str(tmp_path / "m"), str(query), "--support",
                              str(tmp_path / "nowhere")])
    # it said "Data '.../nowhere' does not exist": which of the paths given was that?
    assert f"--support '{tmp_path / 'nowhere'}': no such folder or file" in line, line
    assert "sub-folder per class" in line, line


def test_a_missing_support_folder_is_refused_before_the_model_is_read(capsys, tmp_path):
    # the model does not exist either: the --support check comes first, so a typo there does
    # not wait for a model to load
    line = run_error(capsys, ["predict", str(tmp_path / "no_model"), "q.png", "--support",
                              str(tmp_path / "nowhere")])
    assert "--support" in line, line
