"""``handful episodes`` DATA and ``handful omniglot-runs`` RUNS_DIR given in the wrong shape: one
error line that says what was found there and the fix (--nested, the runs folder one level down,
the missing class_labels.txt), not a generic "No readable runs" or "found 0 (none)"."""

from pathlib import Path

import pytest

from conftest import one_error_line
from fewshot_glyphs import character_strokes, draw_glyph, make_glyph_tree, make_runs
from handful.errors import DataError, DataNotFoundError
from handful.fewshot.omniglot_runs import read_runs
from handful.fewshot.sources import scan_many

# -- episodes DATA --------------------------------------------------------------------------------

def test_one_alphabet_read_without_nested_says_to_pass_nested(tmp_path, capsys):
    root = make_glyph_tree(tmp_path / "bg", n_alphabets=1, n_chars=3, n_drawings=2)
    # it said "found 1 ('alphabet_A'). Put each class's images in its own sub-folder": they are
    with pytest.raises(DataError, match=r"found 1 \('alphabet_A'\), whose images sit in 3 sub-folders .*Pass --nested"):
        scan_many([root])
    line = one_error_line(capsys, ["episodes", str(root), "--backbone", "test_tiny_conv"])
    assert "Pass --nested" in line, line
    assert len(scan_many([root], nested=True)[0].classes) == 3  # and that fix works


def test_a_flat_folder_of_images_as_data_says_to_move_them_into_class_folders(tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        draw_glyph(character_strokes(i), i).save(flat / f"{i:02d}.png")
    line = one_error_line(capsys, ["episodes", str(flat), "--backbone", "test_tiny_conv"])
    # it said "found 0 (none)", as if the folder were empty
    assert f"Data folder '{flat}' holds 3 images but no class sub-folders" in line, line
    assert "Move each class's images into a sub-folder" in line, line


def test_an_empty_data_folder_is_called_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="needs at least 2 class sub-folders with images; it is empty"):
        scan_many([tmp_path / "empty"])


# -- omniglot-runs RUNS_DIR -----------------------------------------------------------------------

def test_a_file_given_as_the_runs_folder_is_called_a_file(tmp_path):
    labels = make_runs(tmp_path / "runs", n_runs=1, n_classes=2) / "run01" / "class_labels.txt"
    # it said "Runs folder '.../class_labels.txt' does not exist" (a FileNotFoundError) of a file that does
    with pytest.raises(DataError, match="is a file; expected a folder of runs") as err:
        read_runs(labels)
    assert not isinstance(err.value, DataNotFoundError)


def test_a_class_tree_given_as_runs_names_what_it_holds_and_points_to_episodes(tmp_path, capsys):
    root = make_glyph_tree(tmp_path / "bg", n_alphabets=2, n_chars=1, n_drawings=1)
    line = one_error_line(capsys, ["omniglot-runs", str(root), "--backbone", "test_tiny_conv"])
    # it said "No readable runs in ...: expected ...", not what it found nor where to go
    assert "found 2 sub-folders (alphabet_A, alphabet_B), none with training/ or test/" in line, line
    assert "`handful episodes`" in line, line


def test_the_parent_of_the_runs_folder_names_the_folder_to_give(tmp_path):
    make_runs(tmp_path / "omniglot" / "one_shot_runs", n_runs=1, n_classes=2)
    with pytest.raises(DataError, match=f"give {tmp_path / 'omniglot' / 'one_shot_runs'}"):
        read_runs(tmp_path / "omniglot")


def test_a_run_folder_without_class_labels_given_alone_says_that(tmp_path, capsys):
    run = make_runs(tmp_path / "runs", n_runs=1, n_classes=2) / "run01"
    (run / "class_labels.txt").unlink()
    line = one_error_line(capsys, ["omniglot-runs", str(run), "--backbone", "test_tiny_conv"])
    # it said "No readable runs in .../run01: expected sub-folders with ..." of a run folder
    assert f"Run folder {run} has no class_labels.txt" in line and "Restore the run's class_labels.txt" in line, line


def test_runs_that_all_lack_class_labels_are_counted_and_the_fix_named(tmp_path):
    runs = make_runs(tmp_path / "runs", n_runs=2, n_classes=2)
    for run in ("run01", "run02"):
        (runs / run / "class_labels.txt").unlink()
    # it said "(run01: run skipped: no class_labels.txt)", silent on run02 and on the fix
    with pytest.raises(DataError, match=r"None of the 2 run folders .*\(run01: no class_labels.txt; and 1 more\)"
                                        r".*Restore the missing files"):
        read_runs(runs)


def test_a_malformed_class_labels_line_is_quoted(tmp_path):
    run = make_runs(tmp_path / "runs", n_runs=1, n_classes=2) / "run01"
    (run / "class_labels.txt").write_text("run01/test/item01.png run01/training/class01.png\na b c\n")
    with pytest.raises(DataError, match=r"line 2 is 'a b c'\. Restore the run's class_labels.txt"):
        read_runs(run)


def test_class_labels_naming_a_missing_drawing_names_it(tmp_path):
    runs = make_runs(tmp_path / "runs", n_runs=1, n_classes=2)
    (runs / "run01" / "class_labels.txt").write_text("run01/test/item01.png run01/training/class09.png\n")
    # it was scored, then skipped as "support image .../class09.png unreadable": it is not there
    with pytest.raises(DataError, match=r"names 1 training drawing not in .*training/class09\.png"):
        read_runs(runs)


def test_a_broken_support_drawing_says_why_and_the_fix(tmp_path, capsys):
    runs = make_runs(tmp_path / "runs", n_runs=1, n_classes=2)
    (runs / "run01" / "training" / "class01.png").write_bytes(b"not an image")
    line = one_error_line(capsys, ["omniglot-runs", str(runs), "--backbone", "test_tiny_conv"])
    assert "No run could be scored: run01: support image" in line, line
    assert "unreadable: not an image" in line and "replace the broken files" in line, line


def test_a_run_missing_class_labels_among_good_ones_is_skipped_and_listed(tmp_path, capsys):
    runs = make_runs(tmp_path / "runs", n_runs=2, n_classes=2)
    (runs / "run01" / "class_labels.txt").unlink()
    found, skipped = read_runs(runs)
    assert [run.name for run in found] == ["run02"] and skipped == [("run01", "run skipped: no class_labels.txt")]
    assert isinstance(found[0].support, tuple) and Path(found[0].support[0]).is_file()
