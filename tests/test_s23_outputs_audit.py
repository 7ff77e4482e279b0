"""s23 acceptance audit of prediction and embedding outputs: bugs found, each as a strict xfail.

Each test states the promise it checks; the lead engineer removes the xfail mark with the fix.
"""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from conftest import make_color_tree
from handful import Classifier
from handful.cli import main

DIM = 32  # test_tiny_image's embedding size


def _embed(out, *inputs: str, backbone: str = "test_tiny_image") -> int:
    return main(["embed", *map(str, inputs), "--backbone", backbone, "--out", str(out), "--no-cache"])


def _npy_data_offset(path) -> int:
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(f)
        return f.tell()


def test_embed_resume_over_a_cut_short_npy_never_leaves_zero_rows_marked_complete(tmp_path, capsys):
    tree = make_color_tree(tmp_path / "imgs", 3)  # 9 images
    out = tmp_path / "e" / "emb.npy"
    assert _embed(out, tree) == 0
    full = np.load(out)
    index = out.with_suffix(".index.csv")
    lines = index.read_text().splitlines(keepends=True)
    # an interruption after 6 rows, on a file that a bad copy (or a full disk) cut after 2 rows:
    # the index claims rows 2..5 that the .npy no longer holds
    index.write_text("".join(lines[:7]))
    os.truncate(out, _npy_data_offset(out) + 2 * DIM * 4 + 5)
    with pytest.warns(UserWarning, match="cut short"):  # said, not silent: rows are embedded again
        code = _embed(out, tree)
    capsys.readouterr()
    # fixed by embedding again the rows the .npy no longer holds (a refusal would also keep the promise)
    assert code == 0
    assert json.loads(out.with_suffix(".meta.json").read_text())["complete"] is True
    again = np.load(out)
    # the resumed file must hold what an uninterrupted run writes, not rows of zeros for 2..5
    assert np.allclose(again, full, atol=1e-6), np.flatnonzero(~np.isclose(again, full).all(axis=1))


def test_embed_of_other_typed_texts_onto_an_existing_out_does_not_keep_the_old_embeddings(tmp_path, capsys):
    out, fresh = tmp_path / "t.npy", tmp_path / "fresh.npy"
    assert _embed(out, "the team won the match", "hot soup", backbone="test_tiny_text") == 0
    first = np.load(out)
    code = _embed(out, "bake the bread", "fans cheered", backbone="test_tiny_text")
    assert _embed(fresh, "bake the bread", "fans cheered", backbone="test_tiny_text") == 0
    err = capsys.readouterr().err
    # fixed by keying typed texts by their text: other texts are refused, naming the fix, file untouched
    if code == 2:  # refused (other texts than the file holds): the file must be left as it was
        assert "--overwrite" in err and "the team won the match" in err, err
        assert np.array_equal(np.load(out), first)
        return
    assert code == 0
    # the run reports success for "bake the bread" and "fans cheered": OUT.npy must hold their
    # vectors, not the first run's ("text 1", "text 2" are not the texts, so they match any run)
    assert np.allclose(np.load(out), np.load(fresh)), out.with_suffix(".index.csv").read_text()


def _write_broken(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.jpg").write_bytes(b"not an image")
    return folder / "broken.jpg"


def test_embed_beside_a_predictions_file_keeps_its_skipped_list(tmp_path, color_tree, capsys):
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    bad_dir = tmp_path / "batch1"
    make_color_tree(bad_dir, 1)
    broken = _write_broken(bad_dir / "red")
    out_dir = tmp_path / "results"
    assert main(["predict", str(tmp_path / "m"), str(bad_dir), "--out", str(out_dir / "a.csv")]) == 0
    listed = (out_dir / "a.csv.skipped.csv").read_text()  # named after the whole file name
    assert str(broken) in listed
    clean = make_color_tree(tmp_path / "batch2", 1)
    code = _embed(out_dir / "a.npy", clean)  # another command, another output: a.npy
    capsys.readouterr()
    # a.csv's rows without a broken.jpg row are explained only by a.csv.skipped.csv: the embed run
    # (which skipped nothing) must not delete it (fixed by naming lists after the whole file name)
    assert code == 0 and (out_dir / "a.csv.skipped.csv").read_text() == listed, sorted(
        p.name for p in out_dir.iterdir())


def test_two_prediction_files_with_one_stem_keep_their_own_skipped_lists(tmp_path, color_tree, capsys):
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    first, second = tmp_path / "one", tmp_path / "two"
    make_color_tree(first, 1)
    make_color_tree(second, 1)
    broken_1 = _write_broken(first / "red")
    broken_2 = _write_broken(second / "blue")
    out_dir = tmp_path / "results"
    assert main(["predict", str(tmp_path / "m"), str(first), "--out", str(out_dir / "a.csv")]) == 0
    code = main(["predict", str(tmp_path / "m"), str(second), "--out", str(out_dir / "a.txt")])
    err = capsys.readouterr().err
    if code == 2:  # refused (predictions are .csv only): a.csv's list must be left as it was
        assert ".csv" in err and str(broken_1) in (out_dir / "a.csv.skipped.csv").read_text(), err
        assert not (out_dir / "a.txt").exists()
        return
    lists = "".join(p.read_text() for p in out_dir.glob("*skipped*"))
    # each output's bad file must still be listed somewhere beside it
    assert str(broken_1) in lists and str(broken_2) in lists, lists


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".parquet"])
def test_predict_out_with_a_non_csv_extension_is_refused_or_written_in_that_format(
        tmp_path, color_tree, capsys, suffix):
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    out = tmp_path / f"preds{suffix}"
    code = main(["predict", str(tmp_path / "m"), str(color_tree), "--out", str(out)])
    err = capsys.readouterr().err
    if code == 2:  # a one-line refusal naming .csv is the simplest fix
        assert not out.exists(), "a refused run must not leave the file"
        assert ".csv" in err, err
        return
    assert code == 0
    # a file named .json must be JSON (a .jsonl one JSON per line; .parquet: a parquet file), not CSV
    text = out.read_bytes()
    if suffix == ".json":
        json.loads(text)
    elif suffix == ".jsonl":
        [json.loads(line) for line in text.decode().splitlines()]
    else:
        assert text[:4] == b"PAR1", text[:40]


def test_resume_after_a_row_torn_inside_a_multi_line_text_predicts_that_row_again(tmp_path, text_csv, capsys):
    Classifier("test_tiny_text", head="logistic").fit(text_csv).save(tmp_path / "m")
    table = tmp_path / "reviews.csv"  # quoted texts spanning two lines, as exported reviews often are
    table.write_text('text\n"the team won\nthe match"\n"hot soup\nwith bread"\n"fans cheered\nthe goal"\n')
    out = tmp_path / "p.csv"
    argv = ["predict", str(tmp_path / "m"), str(table), "--out", str(out)]
    assert main(argv) == 0
    whole = out.read_bytes()
    # killed while writing the last row, after the newline inside its quoted text
    cut = whole.index(b"fans cheered\n") + len(b"fans cheered\n")
    out.write_bytes(whole[:cut])
    assert main(argv) == 0
    capsys.readouterr()
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    with open(tmp_path / "whole.csv", "wb") as f:
        f.write(whole)
    with open(tmp_path / "whole.csv", newline="") as f:
        expected = list(csv.reader(f))
    # the resumed file must read as the uninterrupted one: every row with its label and probability
    assert sorted(rows) == sorted(expected), rows
