"""Edge inputs of predict/embed: empty batches, who reads the inputs, support files hashed once."""

import json
from collections import Counter

import numpy as np
import pytest

from conftest import make_color_tree
from handful import Classifier, create_backbone
from handful.cli import main


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one line, no traceback
    return err[0]


# -- empty batches ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["test_tiny_conv", "test_tiny_conv_gaussian"])
def test_conv4_embeds_an_empty_batch_as_zero_rows(name):
    # np.stack([]) raised "need at least one array to stack"; the other image backbones give (0, dim)
    backbone = create_backbone(name)
    embeddings = backbone.embed([])
    assert embeddings.shape == (0, backbone.dim) and embeddings.dtype == np.float32
    emb, raw = backbone.embed_with_precision([])
    assert emb.shape == (0, backbone.dim) and raw.shape == (0, backbone.extra)


def test_onnx_runtime_answers_an_empty_batch_with_zero_rows(color_tree, tmp_path):
    pytest.importorskip("onnxruntime")
    from handful.export import OnnxClassifier, export_onnx

    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    export_onnx(tmp_path / "m", tmp_path / "x.onnx")
    model = OnnxClassifier(tmp_path / "x.onnx")
    proba = model.predict_proba_batch([])  # np.stack([]) raised before the session ran
    assert proba.shape == (0, 3) and proba.dtype == np.float32
    # the same dtype as a real batch's, so concatenating batches keeps it
    one = model.predict_proba_batch([model.preprocess(str(next(color_tree.rglob("*.png"))))])
    assert one.dtype == proba.dtype


# -- who reads the inputs --------------------------------------------------------------------

def test_embed_with_a_text_backbone_names_the_backbone_not_a_model_for_a_folder(capsys, tmp_path):
    (tmp_path / "docs").mkdir()
    err = error_line(capsys, ["embed", str(tmp_path / "docs"), "--out", str(tmp_path / "e.npy"),
                              "--backbone", "test_tiny_text"])
    # `handful embed` involves no model: the message said "This model classifies texts"
    assert "Backbone 'test_tiny_text' embeds texts" in err and "model" not in err
    assert "is a folder" in err and "CSV/TSV" in err  # what was got, and the fix


def test_embed_with_an_image_backbone_names_the_backbone_for_a_table(capsys, text_csv, tmp_path):
    err = error_line(capsys, ["embed", str(text_csv), "--out", str(tmp_path / "e.npy"),
                              "--backbone", "test_tiny_image"])
    assert "Backbone 'test_tiny_image' embeds images" in err and "model" not in err
    assert "table of texts" in err and "image files or folders" in err


def test_predict_with_a_text_model_still_says_the_model_classifies_texts(capsys, text_csv, tmp_path):
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "t")
    (tmp_path / "docs").mkdir()
    err = error_line(capsys, ["predict", str(tmp_path / "t"), str(tmp_path / "docs")])
    assert "This model classifies texts" in err and "is a folder" in err


# -- predict --support --out reads each support file once ------------------------------------

def test_predict_support_with_out_hashes_each_support_file_once(capsys, color_tree, tmp_path, monkeypatch):
    import handful.cache
    import handful.cache.store as store

    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    support = make_color_tree(tmp_path / "support", 2, seed=5)
    queries = make_color_tree(tmp_path / "queries", 1, seed=6)
    hashed = Counter()
    real = store.content_key

    def counting(item, modality):
        hashed[str(item)] += 1
        return real(item, modality)

    monkeypatch.setattr(store, "content_key", counting)  # the cache's calls
    monkeypatch.setattr(handful.cache, "content_key", counting)  # the CLI's calls
    result = run_json(capsys, ["predict", str(tmp_path / "m"), str(queries), "--support", str(support),
                               "--out", str(tmp_path / "p.csv")])
    assert result["n"] == 3
    support_files = sorted(str(p) for p in support.rglob("*.*"))
    # once to look up the embedding cache; recording the support set's id reused that key
    assert {f: hashed[f] for f in support_files} == {f: 1 for f in support_files}


def test_a_copied_support_set_still_resumes_the_out_file_it_wrote(capsys, color_tree, tmp_path):
    # the reused keys must name the set by content as before: a copy is the same set
    import shutil

    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    support = make_color_tree(tmp_path / "support", 2, seed=5)
    queries = make_color_tree(tmp_path / "queries", 1, seed=6)
    out = str(tmp_path / "p.csv")
    argv = ["predict", str(tmp_path / "m"), str(queries), "--out", out]
    run_json(capsys, argv + ["--support", str(support)])
    shutil.copytree(support, tmp_path / "copy")
    assert run_json(capsys, argv + ["--support", str(tmp_path / "copy")])["n_resumed"] == 3
    (tmp_path / "copy" / "red" / "red_0.jpg").unlink()  # another set: refused
    assert main(argv + ["--support", str(tmp_path / "copy")]) == 2


# -- embed with nothing usable ----------------------------------------------------------------

def test_embed_of_only_broken_images_is_an_error_not_a_silent_success(capsys, tmp_path):
    # it wrote "Wrote 0 embeddings" and exited 0, where predict exits 2: a script read it as done
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"not a png")
    (tmp_path / "bad" / "y.jpg").write_bytes(b"")
    assert main(["embed", str(tmp_path / "bad"), "--out", str(tmp_path / "e.npy"),
                 "--backbone", "test_tiny_image"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: None of the 2 inputs could be used")
    assert "e.npy.skipped.csv" in err[-1] and "image file that opens" in err[-1]  # where listed, the fix


def test_embed_rerun_after_a_run_of_only_broken_images_is_not_refused_as_a_resume(capsys, tmp_path):
    # a run that found nothing usable leaves no OUT.npy behind (s23): the re-run says the same
    # thing again, not "holds 1 rows ... Pass --overwrite"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"not a png")
    argv = ["embed", str(tmp_path / "bad"), "--out", str(tmp_path / "e.npy"), "--backbone", "test_tiny_image"]
    for _ in range(2):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: None of the 1 inputs could be used"), err
        assert not (tmp_path / "e.npy").exists()


def test_embed_of_empty_typed_texts_says_to_give_a_non_empty_text(capsys, tmp_path):
    # it said "No text inputs found in ['', '  ']. Give image files or folders": wrong kind, wrong fix
    assert main(["embed", "", "  ", "--out", str(tmp_path / "e.npy"), "--backbone", "test_tiny_text"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("error: None of the 2 inputs could be used: 2 empty text (listed above). "
                       "Give at least one non-empty text.")
    assert not (tmp_path / "e.npy").exists()


@pytest.mark.parametrize("files", [[], ["notes.txt", "table.csv"]], ids=["empty", "no-images"])
def test_embed_of_a_folder_without_images_names_it_and_the_fix(capsys, tmp_path, files):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("x\n")
    err = error_line(capsys, ["embed", str(folder), "--out", str(tmp_path / "e.npy"),
                              "--backbone", "test_tiny_image"])
    # it printed a Python list (['.../in']) and advised a text backbone to an image backbone's user
    assert err == f"error: Nothing to embed in '{folder}': no image files found. Give image files or folders of them."
