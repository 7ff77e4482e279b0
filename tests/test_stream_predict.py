"""Streaming batch prediction and embedding: rows on disk as they finish, resumable, bad files listed."""

import csv
import json

import numpy as np
import pytest

from handful import Classifier
from handful.backbones import create_backbone
from handful.backbones.testing import TinyImageBackbone
from handful.cli import main
from handful.data import folder as folder_module
from handful.errors import DataError
from handful.scale import EmbeddingStore, iter_embedding_results, iter_predictions, list_inputs
from handful.scale import batch as batch_module


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture
def model_and_images(color_tree, tmp_path):
    """A trained tiny model, and a folder of its 18 images plus 2 bad files."""
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    (color_tree / "red" / "empty.png").write_bytes(b"")
    (color_tree / "blue" / "junk.jpg").write_bytes(b"not a jpeg")
    return str(tmp_path / "m"), color_tree


def test_predict_out_writes_every_good_file_and_lists_the_bad_ones(capsys, model_and_images, tmp_path):
    model, images = model_and_images
    out = tmp_path / "preds.csv"
    result = run_json(capsys, ["predict", model, str(images), "--out", str(out), "--top", "2"])
    rows = read_rows(out)
    # no familiar column: 18 training images are too few to judge familiarity by (MIN_JUDGED)
    assert rows[0] == ["input", "label_1", "probability_1", "label_2", "probability_2"]
    assert len(rows) == 1 + 18 and result["n"] == 18 and "predictions" not in result
    assert all(r[1] in r[0].rsplit("/", 1)[-1] for r in rows[1:])  # colors are separable
    assert result["skipped_summary"] == {"empty file": 1, "not an image": 1}
    assert [r[0].rsplit("/", 1)[-1] for r in read_rows(result["skipped_file"])[1:]] == \
        ["junk.jpg", "empty.png"]


def test_a_rerun_resumes_after_an_interruption_and_appends_only_the_rest(
        capsys, model_and_images, tmp_path):
    model, images = model_and_images
    out = tmp_path / "preds.csv"
    run_json(capsys, ["predict", model, str(images), "--out", str(out), "--no-cache"])
    full = read_rows(out)
    # simulate a kill: keep the header, 5 rows and half of the 6th row
    text = out.read_text().splitlines(keepends=True)
    out.write_text("".join(text[:6]) + text[6][:10])
    calls = TinyImageBackbone.n_embed_calls
    again = run_json(capsys, ["predict", model, str(images), "--out", str(out), "--no-cache",
                              "--batch-size", "4"])
    assert again["n_resumed"] == 5 and again["n"] == 13
    assert TinyImageBackbone.n_embed_calls - calls == 4  # 15 files left (13 good) / 4 per batch
    rows = read_rows(out)
    assert sorted(map(tuple, rows[1:])) == sorted(map(tuple, full[1:]))  # no duplicate, none lost


def test_overwrite_starts_over_and_other_columns_need_it(capsys, model_and_images, tmp_path):
    model, images = model_and_images
    out = str(tmp_path / "preds.csv")
    run_json(capsys, ["predict", model, str(images), "--out", out])
    assert main(["predict", model, str(images), "--out", out, "--top", "2"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    result = run_json(capsys, ["predict", model, str(images), "--out", out, "--overwrite"])
    assert result["n"] == 18 and result["n_resumed"] == 0 and len(read_rows(out)) == 19


@pytest.mark.parametrize("rerun", [["--overwrite"], []])
def test_a_rerun_with_no_bad_input_removes_the_skipped_list_of_the_run_before(capsys, model_and_images, tmp_path,
                                                                            rerun):
    # preds.csv.skipped.csv of the first run stayed after --overwrite (and after a resumed run that
    # retried the bad files once they were fixed), listing files this run never saw or could read
    model, images = model_and_images
    out = tmp_path / "preds.csv"
    first = run_json(capsys, ["predict", model, str(images), "--out", str(out)])
    assert first["skipped_file"] == str(tmp_path / "preds.csv.skipped.csv")
    (images / "red" / "empty.png").unlink()
    (images / "blue" / "junk.jpg").write_bytes((images / "blue" / "blue_1.png").read_bytes())  # fixed
    again = run_json(capsys, ["predict", model, str(images), "--out", str(out), *rerun])
    assert again["skipped"] == [] and again["skipped_file"] is None
    assert not (tmp_path / "preds.csv.skipped.csv").exists()


def test_an_out_file_handful_did_not_write_is_refused_and_left_byte_for_byte(capsys, model_and_images, tmp_path):
    model, images = model_and_images
    notes = {"note.txt": b"my precious one-line note", "user.csv": b"id,value\n1,important\n2,also important",
             "blob.csv": bytes(range(256)) * 4}
    for name, content in notes.items():
        (tmp_path / name).write_bytes(content)
        for overwrite in ([], ["--overwrite"]):  # --overwrite replaces handful's own outputs only
            assert main(["predict", model, str(images), "--out", str(tmp_path / name), *overwrite]) == 2
            err = capsys.readouterr().err
            assert "not written by handful" in err and "--overwrite" not in err  # no advice to destroy it
            assert (tmp_path / name).read_bytes() == content, name  # not even its last line is dropped
    (tmp_path / "p.csv.skipped.csv").write_text("my list\n")  # beside --out p.csv, where skipped files go
    assert main(["predict", model, str(images), "--out", str(tmp_path / "p.csv")]) == 2
    assert (tmp_path / "p.csv.skipped.csv").read_text() == "my list\n" and not (tmp_path / "p.csv").exists()
    theirs = tmp_path / "theirs.npy"
    np.save(theirs, np.arange(12, dtype=np.float32).reshape(3, 4))
    for overwrite in ([], ["--overwrite"]):
        assert main(["embed", str(images), "--out", str(theirs), "--backbone", "test_tiny_image", *overwrite]) == 2
        assert "not written by handful" in capsys.readouterr().err
        np.testing.assert_array_equal(np.load(theirs), np.arange(12, dtype=np.float32).reshape(3, 4))


def test_no_cache_and_cached_paths_give_the_same_predictions(capsys, model_and_images, tmp_path):
    model, images = model_and_images
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    run_json(capsys, ["predict", model, str(images), "--out", str(a), "--top", "3"])
    run_json(capsys, ["predict", model, str(images), "--out", str(b), "--top", "3", "--no-cache"])
    assert read_rows(a) == read_rows(b)


def test_embed_streams_rows_in_listing_order_with_an_index(capsys, model_and_images, tmp_path):
    _, images = model_and_images
    out = tmp_path / "emb.npy"
    result = run_json(capsys, ["embed", str(images), "--out", str(out), "--backbone", "test_tiny_image"])
    paths, _, _ = list_inputs("image", [str(images)])
    embeddings = np.load(out)
    assert embeddings.shape == (20, 32) and result["complete"] and result["n"] == 18
    index = read_rows(tmp_path / "emb.index.csv")
    assert index[0] == ["row", "input", "error"] and [r[1] for r in index[1:]] == paths
    backbone = create_backbone("test_tiny_image")
    for row, path, error in index[1:]:
        if error:
            assert np.isnan(embeddings[int(row)]).all()
        else:  # the stored row is the backbone's embedding of that very file
            np.testing.assert_allclose(embeddings[int(row)],
                                       backbone.embed([backbone.preprocess(path)])[0], atol=1e-6)
    meta = json.loads((tmp_path / "emb.meta.json").read_text())
    assert meta["backbone"]["fingerprint"] == backbone.fingerprint and meta["n_failed"] == 2


def test_embed_resumes_and_refuses_a_changed_listing(capsys, model_and_images, tmp_path):
    _, images = model_and_images
    out = tmp_path / "emb.npy"
    argv = ["embed", str(images), "--out", str(out), "--backbone", "test_tiny_image", "--no-cache"]
    run_json(capsys, argv)
    full = np.load(out)
    index = tmp_path / "emb.index.csv"
    index.write_text("".join(index.read_text().splitlines(keepends=True)[:8]))  # 7 rows survive
    again = run_json(capsys, argv)
    assert again["n_resumed"] == 7 and again["n"] == 12  # 13 rows left, 1 of them bad
    assert len(again["skipped"]) == 2  # the bad rows of the file: the resumed one (blue/junk.jpg) too
    np.testing.assert_array_equal(np.load(out), full)
    (images / "green" / "extra.png").write_bytes((images / "green" / "green_1.png").read_bytes())
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_embedding_streams_batch_by_batch_without_the_cache(color_tree):
    paths, _, _ = list_inputs("image", [str(color_tree)])
    backbone = create_backbone("test_tiny_image")
    seen = []
    for indices, embeddings, _ in iter_embedding_results(backbone, paths, None, batch_size=4):
        seen.append(len(indices))
        assert embeddings.shape == (len(indices), 32)
    assert seen == [4, 4, 4, 4, 2]  # never more than one batch of arrays handed over at once


def test_listing_a_folder_does_not_open_the_files(color_tree, monkeypatch):
    def refuse(path):
        raise AssertionError(f"opened {path}")

    monkeypatch.setattr(folder_module, "check_image_file", refuse)
    items, ids, skipped = list_inputs("image", [str(color_tree)])
    assert len(items) == 18 and items == ids and skipped == []


def test_embedding_store_writes_rows_in_any_order(tmp_path):
    ids = [f"f{i}" for i in range(6)]
    store = EmbeddingStore(tmp_path / "e.npy", ids, 3, {"name": "x", "fingerprint": "x-1"})
    store.write([4, 5], np.ones((2, 3)), {})  # out of order, as Ray delivers them
    store.write([0, 1], np.full((2, 3), 2.0), {2: "bad"})
    store.write([3], np.full((1, 3), 3.0), {})
    store.close()
    out = np.load(tmp_path / "e.npy")
    np.testing.assert_array_equal(out[[0, 1, 3, 4, 5], 0], [2, 2, 3, 1, 1])
    assert np.isnan(out[2]).all()
    assert [r[0] for r in read_rows(tmp_path / "e.index.csv")[1:]] == ["0", "1", "2", "3", "4", "5"]


def test_streaming_gives_freed_memory_back_after_every_batch(color_tree, monkeypatch):
    # glibc keeps the heap holes left by tensors of changing batch sizes unless trimmed: peak
    # RSS grew with the number of images before this; one release per batch keeps it flat
    paths, _, _ = list_inputs("image", [str(color_tree)])
    calls = []
    monkeypatch.setattr(batch_module, "release_freed_memory", lambda: calls.append(1))
    list(iter_embedding_results(create_backbone("test_tiny_image"), paths, None, batch_size=4))
    assert len(calls) == 5  # 18 images / 4 per batch
    model = Classifier("test_tiny_image", head="prototype", cache=False).fit(color_tree)
    calls.clear()
    assert sum(len(i) for i, _, _ in iter_predictions(model, paths, batch_size=8)) == 18
    assert len(calls) == 3


def test_releasing_freed_memory_is_safe_to_call_anywhere():
    batch_module.release_freed_memory()  # a no-op off glibc, malloc_trim(0) on it
    batch_module.release_freed_memory()


def test_ray_without_the_extra_is_a_one_line_error(capsys, model_and_images, monkeypatch):
    import sys

    model, images = model_and_images
    monkeypatch.setitem(sys.modules, "ray", None)  # as if `handful[ray]` were not installed
    assert main(["predict", model, str(images), "--ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'handful[ray]'" in err and "Traceback" not in err


@pytest.mark.parametrize("options, fix", [
    (["--csv", "--out", "OUT"], "Drop --csv"),  # rows went to the file only: stdout stayed empty
    (["--address", "auto"], "Add --ray"),  # ran locally, not on the cluster asked for
    (["--overwrite"], "Add --out"),  # nothing to start over
])
def test_predict_refuses_an_option_it_would_ignore(capsys, model_and_images, tmp_path, options, fix):
    model, images = model_and_images
    out = tmp_path / "preds.csv"
    argv = ["predict", model, str(images), *[str(out) if o == "OUT" else o for o in options]]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and fix in err[0]
    assert captured.out == "" and not out.exists()  # refused before any work


def test_predict_refuses_csv_with_json_as_both_would_print_to_stdout(capsys, model_and_images):
    # stdout held the CSV rows and then the JSON object: neither a CSV nor a JSON reader could take it
    model, images = model_and_images
    assert main(["predict", model, str(images), "--csv", "--json"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Drop --csv" in err[0] and "--out" in err[0]
    assert list(json.loads(captured.out)) == ["error", "exit_code"]  # no CSV row: --json's error only


def test_embed_auto_picks_the_text_backbone_for_a_table(capsys, text_csv, tmp_path, monkeypatch):
    from handful.classifier import DEFAULT_BACKBONES

    monkeypatch.setitem(DEFAULT_BACKBONES, "image", "test_tiny_image")
    monkeypatch.setitem(DEFAULT_BACKBONES, "text", "test_tiny_text")
    result = run_json(capsys, ["embed", str(text_csv), "--out", str(tmp_path / "t.npy")])  # no --backbone
    assert result["backbone"] == "test_tiny_text" and result["n"] > 0  # it was the image default: an error


def test_embed_keeps_a_users_file_where_its_skipped_list_would_go(capsys, model_and_images, tmp_path):
    _, images = model_and_images
    (tmp_path / "e.npy.skipped.csv").write_text("my list\n")
    assert main(["embed", str(images), "--out", str(tmp_path / "e.npy"), "--backbone", "test_tiny_image"]) == 2
    assert (tmp_path / "e.npy.skipped.csv").read_text() == "my list\n" and not (tmp_path / "e.npy").exists()


def one_line_error(capsys, argv):
    """Run ``argv``, expect exit 2, and return the one line of stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def predicted_once_and_another_model(capsys, model_and_images, color_tree, tmp_path):
    """(model, images, another model, preds.csv written by the first model)."""
    model, images = model_and_images
    other = tmp_path / "other"
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(other)
    out = tmp_path / "preds.csv"
    run_json(capsys, ["predict", model, str(images), "--out", str(out)])
    return model, images, other, out


def test_a_rerun_with_another_model_is_refused_and_the_file_kept(capsys, model_and_images, color_tree,
                                                                 tmp_path):
    # it resumed: the rows of the first model stayed and the second one's were appended, one file
    # answering with two models
    model, images, other, out = predicted_once_and_another_model(capsys, model_and_images, color_tree, tmp_path)
    before = out.read_bytes()
    err = one_line_error(capsys, ["predict", str(other), str(images), "--out", str(out)])
    assert model in err and str(other) in err  # which model wrote it, which one this run has
    assert "another --out" in err and "delete" in err  # how to go on
    assert out.read_bytes() == before


def test_a_rerun_with_a_copy_of_the_model_resumes(capsys, model_and_images, tmp_path):
    import shutil

    model, images = model_and_images
    out = tmp_path / "preds.csv"
    run_json(capsys, ["predict", model, str(images), "--out", str(out)])
    shutil.copytree(model, tmp_path / "moved")  # the same model under another name: same answers
    again = run_json(capsys, ["predict", str(tmp_path / "moved"), str(images), "--out", str(out)])
    assert (again["n"], again["n_resumed"]) == (0, 18)


def test_a_model_retrained_in_place_is_another_model(capsys, model_and_images, color_tree, tmp_path):
    model, images = model_and_images
    out = tmp_path / "preds.csv"
    run_json(capsys, ["predict", model, str(images), "--out", str(out)])
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(model, force=True)
    err = one_line_error(capsys, ["predict", model, str(images), "--out", str(out)])
    assert "changed" in err and model in err


def test_a_rerun_with_another_top_k_names_it(capsys, model_and_images, tmp_path):
    model, images = model_and_images
    out = tmp_path / "preds.csv"
    run_json(capsys, ["predict", model, str(images), "--out", str(out)])
    err = one_line_error(capsys, ["predict", model, str(images), "--out", str(out), "--top", "2"])
    assert "--top 1" in err and "--top 2" in err and "--overwrite" in err


def test_deleting_the_file_as_told_lets_another_model_start_it(capsys, model_and_images, color_tree,
                                                               tmp_path):
    # the record beside the file outlives it: a new file must not be held to the old record
    model, images, other, out = predicted_once_and_another_model(capsys, model_and_images, color_tree, tmp_path)
    out.unlink()
    result = run_json(capsys, ["predict", str(other), str(images), "--out", str(out)])
    assert (result["n"], result["n_resumed"]) == (18, 0)
    err = one_line_error(capsys, ["predict", model, str(images), "--out", str(out)])
    assert str(other) in err  # now the file is the other model's


def test_a_file_from_before_the_record_resumes_with_a_warning(capsys, model_and_images, tmp_path):
    from handful.scale.writers import run_record_path

    model, images = model_and_images
    out = tmp_path / "preds.csv"
    run_json(capsys, ["predict", model, str(images), "--out", str(out)])
    run_record_path(out).unlink()  # as an older handful left it
    with pytest.warns(UserWarning, match="no record of the model that wrote it.*--overwrite"):
        again = run_json(capsys, ["predict", model, str(images), "--out", str(out)])
    assert again["n_resumed"] == 18
    assert run_record_path(out).is_file()  # from now on this run's model is known


def test_a_users_file_where_the_record_goes_is_kept(capsys, model_and_images, tmp_path):
    from handful.scale.writers import run_record_path

    model, images = model_and_images
    out = tmp_path / "preds.csv"
    run_record_path(out).write_text('{"mine": 1}')
    err = one_line_error(capsys, ["predict", model, str(images), "--out", str(out)])
    assert "not written by handful" in err
    assert run_record_path(out).read_text() == '{"mine": 1}' and not out.exists()


@pytest.mark.parametrize("key, old, new, shown", [
    ("runtime", "torch", "onnx", "--runtime torch"),
    ("transductive", False, True, "--transductive"),
    ("text_column", None, "review", "--text-column review"),  # other texts of one table, same ids
])
def test_prediction_csv_refuses_a_run_that_differs_in_runtime_or_transduction(tmp_path, key, old, new, shown):
    from handful.errors import DataError
    from handful.scale.writers import PredictionCsv

    run = {"model": "m", "model_id": "abc", "runtime": "torch", "top": 1, "support": None,
           "transductive": False}
    sink = PredictionCsv(tmp_path / "p.csv", 1, run={**run, key: old})
    sink.write(["a.png"], [[("red", 0.9)]])
    sink.close()
    with pytest.raises(DataError, match="another --out") as info:
        PredictionCsv(tmp_path / "p.csv", 1, run={**run, key: new})
    assert shown in str(info.value)
    same = PredictionCsv(tmp_path / "p.csv", 1, run={**run, key: old})
    same.close()
    assert same.done == {"a.png"}


def test_embedding_store_refuses_rows_of_another_width(tmp_path):
    # 2 rows of 6 values into a 3-d file: a reshape to (-1, 3) made 4 scrambled rows of it
    # (a Ray worker that built another backbone wrote such a file with exit code 0)
    store = EmbeddingStore(tmp_path / "e.npy", [f"f{i}" for i in range(4)], 3, {"name": "x", "fingerprint": "x-1"})
    with pytest.raises(DataError, match=r"takes 3-d embeddings.*shape \(2, 6\) for 2 inputs"):
        store.write([0, 1], np.ones((2, 6)), {})
    store.write([], np.zeros((0,)), {2: "unreadable"})  # a batch whose inputs all failed
    store.write([0, 1, 3], np.ones((3, 3)), {})
    store.close()
    out = np.load(tmp_path / "e.npy")
    assert np.isnan(out[2]).all() and (out[[0, 1, 3]] == 1).all()
