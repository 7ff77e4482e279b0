"""``predict --support``: each way a support set can be wrong is one error line that names
--support (not "Data folder '...'", which the user never typed), what was found, and the fix."""

from pathlib import Path

import pytest

from conftest import make_color_image, make_color_tree, one_error_line
from handful import Classifier
from handful.cli import main


@pytest.fixture
def model(color_tree, tmp_path) -> str:
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    return str(tmp_path / "m")


@pytest.fixture
def queries(tmp_path) -> str:
    return str(make_color_tree(tmp_path / "queries", 1, seed=4))


def predict_with(model: str, queries: str, support: Path, *extra: str) -> list[str]:
    return ["predict", model, queries, "--support", str(support), *extra]


def test_an_empty_support_folder_is_named_as_the_support_option(capsys, model, queries, tmp_path):
    (tmp_path / "empty").mkdir()
    line = one_error_line(capsys, predict_with(model, queries, tmp_path / "empty"))
    # it said "Data folder '.../empty' needs at least 2 class sub-folders ...; found 0 (none)"
    assert line.startswith(f"error: --support '{tmp_path / 'empty'}'"), line
    assert "it is empty" in line and "Data folder" not in line, line


def test_a_single_class_support_set_names_support_and_asks_for_another_class(capsys, model, queries, tmp_path):
    one = make_color_tree(tmp_path / "one", 2, classes=("red",))
    line = one_error_line(capsys, predict_with(model, queries, one))
    assert line.startswith(f"error: --support '{one}'"), line
    assert "found 1 ('red')" in line and "Add a sub-folder of images for each other class" in line, line


def test_a_flat_support_folder_of_images_says_to_move_them_into_class_folders(capsys, model, queries, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        make_color_image(flat / f"{i}.png", (200, 0, 0), i)
    line = one_error_line(capsys, predict_with(model, queries, flat))
    # "found 0 (none)" did not say that the 3 images were there, only not in class folders
    assert line.startswith(f"error: --support '{flat}' holds 3 images but no class sub-folders"), line
    assert "Move each class's images into a sub-folder" in line, line


def test_a_single_alphabet_support_tree_without_nested_says_to_pass_nested(capsys, model, queries, tmp_path):
    flat = make_color_tree(tmp_path / "flat", 2, seed=3)
    alphabet = tmp_path / "support" / "warm"
    alphabet.mkdir(parents=True)
    for leaf in ("red", "green"):
        (flat / leaf).rename(alphabet / leaf)
    line = one_error_line(capsys, predict_with(model, queries, tmp_path / "support"))
    # read flat, the alphabet is one class; adding class folders is not the fix, --nested is
    assert "--support" in line and "found 1 ('warm')" in line and "Pass --nested" in line, line
    assert main(predict_with(model, queries, tmp_path / "support", "--nested", "--json")) == 0


def test_a_support_class_with_no_readable_images_names_the_support_option(capsys, model, queries, tmp_path):
    support = make_color_tree(tmp_path / "support", 2)
    for file in (support / "red").iterdir():
        file.write_bytes(b"not an image")
    line = one_error_line(capsys, predict_with(model, queries, support))
    assert line.startswith("error: --support: class folder 'red'"), line
    assert "no readable images" in line and "Add at least 1 image per class" in line, line


def test_a_support_image_file_is_refused_naming_support_before_the_model_loads(capsys, tmp_path):
    image = make_color_image(tmp_path / "cat.png", (200, 0, 0), 0)
    # the model does not exist: the --support check comes first
    line = one_error_line(capsys, ["predict", str(tmp_path / "no_model"), "q.png", "--support", str(image)])
    # it said "Data '.../cat.png' is a file with extension '.png'", after the model had loaded
    assert line.startswith(f"error: --support '{image}' is a file"), line
    assert "Give the folder that holds the class folders" in line, line


def test_a_support_spreadsheet_says_to_save_it_as_csv(capsys, tmp_path):
    sheet = tmp_path / "support.xlsx"
    sheet.write_bytes(b"PK")
    line = one_error_line(capsys, ["predict", str(tmp_path / "no_model"), "some text", "--support", str(sheet)])
    assert line.startswith(f"error: --support '{sheet}' is an Excel workbook"), line
    assert "CSV UTF-8" in line, line


def test_a_single_label_support_table_names_support(capsys, text_csv, tmp_path):
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "tm")
    one = tmp_path / "one.csv"
    one.write_text("text,label\nthe team won,sports\nfans cheered,sports\n")
    line = one_error_line(capsys, ["predict", str(tmp_path / "tm"), "a goal", "--support", str(one)])
    # it said "Text table '...' has 1 label(s)" without saying it was the --support one
    assert line.startswith(f"error: --support '{one}' has 1 label(s) ['sports']"), line
    assert "Add rows of another label" in line, line


def test_a_broken_support_image_is_skipped_and_listed_and_the_run_goes_on(capsys, model, queries, tmp_path):
    support = make_color_tree(tmp_path / "support", 2)
    (support / "red" / "bad.png").write_bytes(b"\x89PNG broken")
    assert main(predict_with(model, queries, support)) == 0
    out = capsys.readouterr().out
    assert f"support file skipped {support / 'red' / 'bad.png'}" in out, out
