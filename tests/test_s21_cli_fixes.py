"""s21 fixes of the image CLI's smaller faults: messages that name what they count, outputs that
say where they went, and the augment record read by the copy grouping even after it was edited."""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
from conftest import make_color_image, make_color_tree, run_json
from handful.cli import main
from handful.data import scan_folder
from handful.data.duplicates import copies_warning, duplicate_groups, group_members


def _truncate(path: Path) -> Path:
    """Write a JPEG at ``path`` and cut it to a third: its header reads, its pixels do not."""
    rng = np.random.default_rng(3)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path, quality=95)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    return path


def test_train_names_the_class_with_a_single_example_before_it_reports_the_model(capsys, tmp_path):
    data = make_color_tree(tmp_path / "data", 3, classes=("red", "green"))
    make_color_image(data / "blue" / "only.png", (40, 60, 220), 9)
    with warnings.catch_warnings():  # shown on stderr as the CLI shows it (pytest records them otherwise)
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, *args, **kwargs: sys.stderr.write(f"warning: {message}\n")
        code = main(["train", str(data), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                     "--head", "prototype", "--no-advise", "--json"])
    lines = capsys.readouterr().err.splitlines()
    assert code == 0
    [single] = [i for i, line in enumerate(lines) if "single example" in line]
    # "Some classes" sent the user counting folders: the warning names the one-image class
    assert "'blue'" in lines[single] and "'red'" not in lines[single], lines[single]
    saved = next(i for i, line in enumerate(lines) if line.startswith("Model saved"))
    assert single < saved, lines  # said with the data, not after the result


def test_episodes_refused_for_short_classes_counts_and_lists_the_skipped_files(capsys, tmp_path):
    data = make_color_tree(tmp_path / "data", 4, classes=("red", "green"))
    for name in ("red", "green"):
        _truncate(data / name / "cut.jpg")  # 5 files per class, 4 usable
    code = main(["episodes", str(data), "--ways", "2", "--shots", "1", "--queries", "4",
                 "--backbone", "test_tiny_image"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    error = [line for line in captured.err.splitlines() if line.startswith("error: ")][-1]
    # "found 0, and 2 with fewer (at most 4)" said nothing of the two files left out
    assert "at most 4" in error and "2 were skipped" in error, error
    listed = [line for line in captured.out.splitlines() if "cut.jpg: truncated image" in line]
    assert len(listed) == 2, captured.out  # listed before the error, each with its reason


def test_embed_rerun_splits_the_rows_already_done_into_embeddings_and_skipped_files(capsys, tmp_path):
    data = make_color_tree(tmp_path / "data", 2)  # 6 usable images
    _truncate(data / "red" / "cut.jpg")
    argv = ["embed", str(data), "--out", str(tmp_path / "e.npy"), "--backbone", "test_tiny_image"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    # "Wrote 6 embeddings" then "7 rows were already done": the NaN row of cut.jpg made the 7th
    assert "7 rows already done (6 embeddings, 1 skipped file)" in out, out


def test_export_lists_the_sample_files_it_left_out_of_the_parity_check(capsys, tmp_path):
    data = make_color_tree(tmp_path / "data", 2)
    model = tmp_path / "m"
    assert main(["train", str(data), "--out", str(model), "--backbone", "test_tiny_image", "--head",
                 "prototype", "--no-advise"]) == 0
    samples = tmp_path / "samples"
    shutil.copytree(data / "red", samples)
    _truncate(samples / "cut.jpg")
    capsys.readouterr()
    code = main(["export", str(model), "--sample", str(samples), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    # the 2 good samples were checked and the truncated one dropped without a word
    assert [Path(s["path"]).name for s in result["skipped"]] == ["cut.jpg"], result["skipped"]
    assert "cut.jpg: truncated image" in captured.err and result["n_samples"] == 2


def test_zeroshot_json_names_the_out_file_it_wrote(capsys, tmp_path):
    data = make_color_tree(tmp_path / "data", 2)
    out_file = tmp_path / "zs.csv"
    argv = ["zeroshot", str(data), "--classes", "orange,broccoli,strawberry", "--backbone", "test_imagenet_colors"]
    result = run_json(capsys, [*argv, "--out", str(out_file)])
    assert result["out"] == str(out_file) and out_file.is_file()  # a script finds the CSV from the JSON
    assert run_json(capsys, argv)["out"] is None


def test_augment_writes_into_an_empty_out_folder_and_refuses_a_full_one(capsys, tmp_path):
    data = make_color_tree(tmp_path / "data", 2)
    empty = tmp_path / "aug"
    empty.mkdir()  # made ahead, as train --out accepts
    assert main(["augment", str(data), "--out", str(empty), "--factor", "1"]) == 0, capsys.readouterr().err
    assert len(list(empty.glob("red/*.aug1.*"))) == 2
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "note.txt").write_text("keep me")
    assert main(["augment", str(data), "--out", str(mine), "--factor", "1"]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["note.txt"]


def test_an_out_file_inside_a_model_is_refused_as_the_models_not_as_foreign(capsys, tmp_path):
    data = make_color_tree(tmp_path / "data", 2)
    model = tmp_path / "m"
    assert main(["train", str(data), "--out", str(model), "--backbone", "test_tiny_image", "--head",
                 "prototype", "--no-advise"]) == 0
    before = (model / "model.json").read_bytes()
    for argv in (["predict", str(model), str(data)], ["zeroshot", str(data), "--backbone", "test_tiny_image"]):
        capsys.readouterr()
        assert main([*argv, "--out", str(model / "model.json")]) == 2
        err = capsys.readouterr().err
        # handful wrote model.json: "was not written by handful" was false
        assert "belongs to the handful model" in err and "not written by handful" not in err, err
    assert (model / "model.json").read_bytes() == before


def _augmented(tmp_path: Path, originals: bool = True) -> Path:
    data = make_color_tree(tmp_path / "data", 3, classes=("red", "green"))
    out = tmp_path / ("aug" if originals else "aug-only")
    argv = ["augment", str(data), "--out", str(out), "--factor", "2"]
    assert main(argv if originals else [*argv, "--no-originals"]) == 0
    return out


def _family_sizes(examples) -> list[int]:
    return sorted(len(m) for m in group_members(duplicate_groups(examples)))


def test_augmented_copies_share_their_originals_group_and_are_said_once(capsys, tmp_path):
    out = _augmented(tmp_path)
    examples = scan_folder(out)
    assert _family_sizes(examples) == [3] * 6  # each original with its 2 copies
    message = copies_warning(examples, duplicate_groups(examples))
    assert message.startswith("12 augmented copies") and "kept with their originals" in message, message
    assert "byte-identical" not in message  # copies are not said to be what they are not


def test_copies_without_their_originals_are_kept_with_each_other(capsys, tmp_path):
    examples = scan_folder(_augmented(tmp_path, originals=False))
    assert _family_sizes(examples) == [2] * 6


def test_an_edited_augment_record_groups_what_it_still_names_and_nothing_else(capsys, tmp_path):
    out = _augmented(tmp_path)
    red = sorted(out.glob("red/*.aug*"))
    red[0].unlink()  # a copy deleted
    red[1].rename(red[1].with_name("renamed.png"))  # a copy renamed: no longer named by the record
    record = json.loads((out / "augment.json").read_text())
    record["files"][1:1] = ["junk", {"source": 3, "augmented": "x"}, {}]  # entries of the wrong shape
    (out / "augment.json").write_text(json.dumps(record))
    examples = scan_folder(out)
    # red_0 lost both copies (one gone, one renamed): it and the renamed file stand alone; the
    # 5 untouched families hold, and the malformed entries are passed over
    assert len(examples) == 17 and _family_sizes(examples) == [1, 1, 3, 3, 3, 3, 3]
    (out / "augment.json").write_text("{not json")  # a record that cannot be read: no grouping
    assert _family_sizes(scan_folder(out)) == [1] * 17
