"""``handful predict`` marks inputs unlike the training examples (``cli.familiar``): ``familiar`` in
--json rows, a last ``familiar`` column in --out/--csv, a note in the table, a count in the summary;
predictions unchanged, and nothing said by a model without familiarity data or by ONNX."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from conftest import make_color_image, make_color_tree, run_json
from handful import Classifier, load
from handful.backbones.testing import TinyImageBackbone
from handful.cli import main

ODD = ("checker", "halves", "stripes")  # patterns: no solid-colour training image points their way


def odd_image(path, kind: str):
    """A black-and-white pattern, far (cosine) from every solid-colour image in the tiny backbone."""
    rows, cols = np.indices((40, 48))
    bits = {"checker": (rows // 8 + cols // 8) % 2, "halves": cols >= 24, "stripes": (rows // 5) % 2}[kind]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.repeat((bits * 255).astype(np.uint8)[..., None], 3, axis=2)).save(path)
    return path


@pytest.fixture(scope="module")
def model_and_inputs(tmp_path_factory):
    """A colour model (21 training images: 20+ to judge familiarity by) and a folder of its training
    images plus 3 patterns."""
    root = tmp_path_factory.mktemp("familiar")
    tree = make_color_tree(root / "inputs", 7)
    Classifier("test_tiny_image", head="logistic", cache=False).fit(tree).save(root / "m")
    for kind in ODD:
        odd_image(root / "inputs" / "odd" / f"{kind}.png", kind)
    return root / "m", root / "inputs"


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_json_rows_say_which_inputs_look_unlike_the_training_examples(capsys, model_and_inputs):
    model, inputs = model_and_inputs
    out = run_json(capsys, ["predict", str(model), str(inputs), "--no-cache"])
    rows = {p["input"].rsplit("/", 1)[-1]: p for p in out["predictions"]}
    assert all(isinstance(p["familiar"], bool) and isinstance(p["familiarity"], float) for p in rows.values())
    assert [rows[f"{k}.png"]["familiar"] for k in ODD] == [False] * 3
    # its own training images are their own nearest neighbours: (nearly) all familiar
    assert sum(p["familiar"] for name, p in rows.items() if name.split(".")[0] not in ODD) >= 19
    assert out["n_unfamiliar"] == sum(not p["familiar"] for p in rows.values())
    assert out["familiarity_threshold"] == pytest.approx(load(model).familiarity_.threshold, abs=1e-4)
    # the mark says "check it"; the answer is the model's all the same
    clf = load(model, cache=False)
    items = [p["input"] for p in out["predictions"]]
    assert [p["label"] for p in out["predictions"]] == clf.predict(items)
    np.testing.assert_allclose([p["familiarity"] for p in out["predictions"]], clf.familiarity(items), atol=1e-4)


def test_the_table_notes_each_unfamiliar_row_and_the_summary_says_to_check_them(capsys, model_and_inputs):
    model, inputs = model_and_inputs
    n_unfamiliar = run_json(capsys, ["predict", str(model), str(inputs)])["n_unfamiliar"]
    assert main(["predict", str(model), str(inputs)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("unlike training data") == n_unfamiliar + 1  # each row, and the summary names it
    assert f"{n_unfamiliar} of 24 inputs look unlike the training examples" in printed and "check them" in printed


def test_out_and_csv_end_with_a_familiar_column_that_a_resumed_run_fills_the_same(capsys, model_and_inputs,
                                                                                  tmp_path):
    model, inputs = model_and_inputs
    preds = tmp_path / "preds.csv"
    argv = ["predict", str(model), str(inputs), "--out", str(preds), "--top", "2"]
    first = run_json(capsys, argv)
    rows = read_rows(preds)
    assert rows[0] == ["input", "label_1", "probability_1", "label_2", "probability_2", "familiar"]
    assert {r[0].rsplit("/", 1)[-1]: r[-1] for r in rows[1:]}["checker.png"] == "false"
    assert sum(r[-1] == "false" for r in rows[1:]) == first["n_unfamiliar"] and {r[-1] for r in rows[1:]} == {
        "true", "false"}
    full = preds.read_text()
    preds.write_text("".join(full.splitlines(keepends=True)[:8]))  # a run killed after 7 rows
    resumed = run_json(capsys, argv)
    assert resumed["n_resumed"] == 7 and preds.read_text() == full  # same columns, same marks
    assert main(["predict", str(model), str(inputs), "--csv", "--top", "2"]) == 0
    assert list(csv.reader(capsys.readouterr().out.splitlines())) == rows


def test_an_out_file_begun_without_the_familiar_column_is_resumed_in_its_own_columns(capsys, model_and_inputs,
                                                                                     tmp_path):
    model, inputs = model_and_inputs
    preds = tmp_path / "preds.csv"
    argv = ["predict", str(model), str(inputs), "--out", str(preds)]
    run_json(capsys, argv)
    legacy = [r[:-1] for r in read_rows(preds)[:4]]  # as a handful before familiarity wrote it, then stopped
    with open(preds, "w", newline="") as f:
        csv.writer(f).writerows(legacy)
    out = run_json(capsys, argv)
    assert out["n_resumed"] == 3 and out["n"] == 21  # resumed, not refused as "another file"
    rows = read_rows(preds)
    assert rows[0] == ["input", "label_1", "probability_1"] and all(len(r) == 3 for r in rows)
    assert "n_unfamiliar" in out  # this run's rows are still counted


def without_familiarity(model, target):
    """A copy of ``model`` as a handful before familiarity saved it."""
    import shutil

    shutil.copytree(model, target)
    doc = json.loads((target / "model.json").read_text())
    del doc["familiarity"]
    (target / "model.json").write_text(json.dumps(doc))
    (target / "familiarity.safetensors").unlink()
    return target


def test_a_model_without_familiarity_data_says_nothing_of_it(capsys, model_and_inputs, tmp_path):
    model, inputs = model_and_inputs
    old = without_familiarity(model, tmp_path / "old")
    out = run_json(capsys, ["predict", str(old), str(inputs)])
    assert all(set(p) == {"input", "label", "top"} for p in out["predictions"]) and "n_unfamiliar" not in out
    assert main(["predict", str(old), str(inputs), "--out", str(tmp_path / "p.csv")]) == 0
    assert read_rows(tmp_path / "p.csv")[0] == ["input", "label_1", "probability_1"]
    assert main(["predict", str(old), str(inputs)]) == 0
    assert "unlike" not in capsys.readouterr().out


def test_onnx_runtime_keeps_no_embeddings_so_says_nothing_of_familiarity(capsys, model_and_inputs, tmp_path):
    pytest.importorskip("onnxruntime")
    model, inputs = model_and_inputs
    copy = tmp_path / "m"
    import shutil

    shutil.copytree(model, copy)
    assert main(["export", str(copy)]) == 0
    out = run_json(capsys, ["predict", str(copy), str(inputs), "--runtime", "onnx"])
    assert all("familiar" not in p for p in out["predictions"]) and "n_unfamiliar" not in out
    assert main(["predict", str(copy), str(inputs), "--runtime", "onnx", "--csv"]) == 0
    assert "familiar" not in capsys.readouterr().out.splitlines()[0]


def test_familiarity_through_the_feature_cache_is_that_of_a_fresh_embedding(capsys, model_and_inputs):
    model, inputs = model_and_inputs
    fresh = run_json(capsys, ["predict", str(model), str(inputs), "--no-cache"])["predictions"]
    run_json(capsys, ["predict", str(model), str(inputs)])  # fills the cache
    calls = TinyImageBackbone.n_embed_calls
    cached = run_json(capsys, ["predict", str(model), str(inputs)])["predictions"]
    assert TinyImageBackbone.n_embed_calls == calls  # every embedding came from the cache
    assert [(p["familiar"], p["familiarity"]) for p in cached] == [(p["familiar"], p["familiarity"]) for p in fresh]


def test_a_support_set_is_what_transductive_queries_are_compared_with(capsys, tmp_path):
    Classifier("test_tiny_image", head="prototype", head_params={"metric": "euclidean"}).fit(
        make_color_tree(tmp_path / "train")).save(tmp_path / "model")
    support = make_color_tree(tmp_path / "support", 7, seed=3)  # 21: enough to judge by (MIN_JUDGED)
    for i, color in enumerate([(220, 30, 30), (40, 60, 220)]):
        make_color_image(tmp_path / "queries" / f"q{i}.png", color, 50 + i)
    odd_image(tmp_path / "queries" / "checker.png", "checker")
    argv = ["predict", str(tmp_path / "model"), str(tmp_path / "queries"), "--support", str(support)]
    for extra in ([], ["--transductive"]):
        out = run_json(capsys, argv + extra)
        marks = {p["input"].rsplit("/", 1)[-1]: p["familiar"] for p in out["predictions"]}
        assert marks == {"q0.png": True, "q1.png": True, "checker.png": False}, extra
    assert main(argv + ["--transductive", "--out", str(tmp_path / "p.csv")]) == 0
    assert {r[0].rsplit("/", 1)[-1]: r[-1] for r in read_rows(tmp_path / "p.csv")[1:]}["checker.png"] == "false"
