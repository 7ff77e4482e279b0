"""ONNX export: one graph whose probabilities match handful's, a runtime behind the same API."""

import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from handful import Classifier  # noqa: E402
from handful.cli import main  # noqa: E402
from handful.errors import BundleError, DataError  # noqa: E402
from handful.export import OnnxClassifier, export_onnx, load_predictor  # noqa: E402

TIGHT = 1e-5  # float32 graph vs float64 numpy head: rounding only


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def image_paths(root):
    return sorted(str(p) for p in root.rglob("*") if p.suffix in (".png", ".jpg"))


@pytest.mark.parametrize("head, params, classes", [
    ("logistic", {}, ("red", "green", "blue")),
    ("logistic", {"normalize": "l2"}, ("red", "green", "blue")),
    ("logistic", {}, ("red", "blue")),  # binary: a single logit column in coef_
    ("prototype", {}, ("red", "green", "blue")),
    ("knn", {"n_neighbors": 3}, ("red", "green", "blue")),
    ("mlp", {"max_epochs": 30}, ("red", "green", "blue")),
])
def test_every_head_exports_with_the_same_probabilities(tmp_path, head, params, classes):
    from conftest import make_color_tree

    data = make_color_tree(tmp_path / "data", 5, classes=classes)
    clf = Classifier("test_tiny_image", head=head, head_params=params).fit(data)
    clf.save(tmp_path / "m")
    report = export_onnx(tmp_path / "m", samples=[str(data)])
    assert report.max_abs_diff < TIGHT and report.n_samples == 5 * len(classes)

    onnx_clf = load_predictor(tmp_path / "m", runtime="onnx")
    paths = image_paths(data)
    np.testing.assert_allclose(onnx_clf.predict_proba(paths), clf.predict_proba(paths), atol=TIGHT)
    assert onnx_clf.predict(paths) == clf.predict(paths)
    assert list(onnx_clf.classes_) == sorted(classes)


def test_metadata_documents_classes_and_preprocessing(color_tree, tmp_path):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    export_onnx(tmp_path / "m", tmp_path / "x.onnx")
    model = OnnxClassifier(tmp_path / "x.onnx")
    prep = json.loads(model.metadata["handful.preprocessing"])
    assert json.loads(model.metadata["handful.classes"]) == ["blue", "green", "red"]
    assert prep["dtype"] == "uint8" and prep["layout"] == "NHWC" and prep["input_size"] == 32
    assert prep["in_graph"] == {"scale": "x / 255", "mean": [0.5] * 3, "std": [0.5] * 3}
    # one memory plan per batch shape cost ~300 MiB more RSS at batch 32, and was not faster
    assert model.session.get_session_options().enable_mem_pattern is False
    assert json.loads(model.metadata["handful.parity"])["max_abs_diff"] < TIGHT


def test_a_failed_parity_check_raises_and_writes_nothing(color_tree, tmp_path):
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    # float32 graph vs float64 head never agree to the last bit, so tolerance 0 must fail
    with pytest.raises(BundleError, match="parity check.*--tolerance"):
        export_onnx(tmp_path / "m", tmp_path / "x.onnx", tolerance=0.0)
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".x.onnx*"))


def test_cli_export_then_predict_with_the_onnx_runtime(capsys, color_splits, tmp_path):
    model = str(tmp_path / "m")
    run_json(capsys, ["train", str(color_splits), "--out", model, "--backbone", "test_tiny_image",
                      "--head", "logistic"])
    exported = run_json(capsys, ["export", model, "--format", "onnx"])
    assert exported["path"] == str(tmp_path / "m" / "model.onnx") and exported["max_abs_diff"] < TIGHT
    val = str(color_splits / "val")
    torch_rows = run_json(capsys, ["predict", model, val, "--top", "3"])["predictions"]
    onnx_rows = run_json(capsys, ["predict", model, val, "--top", "3", "--runtime", "onnx"])["predictions"]
    assert [r["label"] for r in onnx_rows] == [r["label"] for r in torch_rows]
    for a, b in zip(onnx_rows, torch_rows):
        assert [t["label"] for t in a["top"]] == [t["label"] for t in b["top"]]
        np.testing.assert_allclose([t["probability"] for t in a["top"]],
                                   [t["probability"] for t in b["top"]], atol=TIGHT)


def test_a_stale_export_is_refused_after_retraining(capsys, color_tree, tmp_path):
    model = tmp_path / "m"
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(model)
    export_onnx(model)
    onnx_file = (model / "model.onnx").read_bytes()
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(model, force=True)
    (model / "model.onnx").write_bytes(onnx_file)
    with pytest.raises(BundleError, match="older version.*handful export"):
        load_predictor(model, runtime="onnx")


@pytest.mark.parametrize("argv, message", [
    (["predict", "MODEL", "x.jpg", "--runtime", "onnx"], "handful export"),
    (["predict", "MODEL", "x.jpg", "--runtime", "tensorrt"], "Unknown runtime"),
    (["export", "MODEL", "--format", "onx"], "Did you mean 'onnx'"),
])
def test_export_and_runtime_errors_are_one_line(capsys, color_tree, tmp_path, argv, message):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    argv = [str(tmp_path / "m") if a == "MODEL" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_text_models_are_refused_with_a_reason(text_csv, tmp_path):
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "t")
    with pytest.raises(BundleError, match="image models only"):
        export_onnx(tmp_path / "t")


def test_the_onnx_runtime_on_a_text_model_does_not_advise_an_export_that_is_refused(capsys, text_csv,
                                                                                    tmp_path):
    # the error said "Run `handful export MODEL --format onnx` first", which refuses text models
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "t")
    assert main(["predict", str(tmp_path / "t"), "some text", "--runtime", "onnx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "image models only" in err[0] and "--runtime torch" in err[0], err
    assert "handful export" not in err[0]


def test_grayscale_conv4_models_export_with_their_test_time_shifts_inside(color_tree, tmp_path):
    # Conv-4 reads (H, W) grayscale and averages shifted views: both must be in the graph
    clf = Classifier("test_tiny_conv", head="prototype", cache=False)
    backbone = clf.backbone_for("image")
    backbone.set_embed_options({"tta_shift": 2})  # 25 views per image
    backbone.info = replace(backbone.info, precision="float32")  # no bf16 near-ties
    clf.fit(color_tree)
    report = export_onnx(clf, tmp_path / "g.onnx", samples=[str(color_tree)])
    prep = report.metadata["handful.preprocessing"]
    assert (prep["channels"], prep["shape"]) == ("L", [None, 16, 16])
    assert report.max_abs_diff < TIGHT and report.max_abs_diff_embeddings < TIGHT
    paths = image_paths(color_tree)  # files decoded by the runtime's own grayscale path
    np.testing.assert_allclose(OnnxClassifier(tmp_path / "g.onnx").predict_proba(paths),
                               clf.predict_proba(paths), atol=TIGHT)


def test_support_export_needs_an_out_file(capsys, color_tree, tmp_path):
    Classifier("test_tiny_conv", head="prototype").fit(color_tree).save(tmp_path / "g")
    assert main(["export", str(tmp_path / "g"), "--support", str(color_tree)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--support needs --out" in err[0]
    assert not (tmp_path / "g" / "model.onnx").exists()


@pytest.mark.parametrize("where", ["x.onnx", "red/x.onnx"])
def test_support_export_refuses_an_out_inside_the_support_folder(capsys, color_tree, tmp_path, where):
    # the next read of the support set met the export: a stray file, or a class's skipped file
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "g")
    out = color_tree / where
    assert main(["export", str(tmp_path / "g"), "--support", str(color_tree), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "inside the support folder" in err[0] and "outside it" in err[0], err
    assert not out.exists()
    with pytest.raises(DataError, match="inside the support folder"):  # the Python API too
        export_onnx(tmp_path / "g", out, support=color_tree)


def test_support_export_reads_a_nested_tree_with_nested(capsys, tmp_path):
    from conftest import make_color_tree

    data = make_color_tree(tmp_path / "data", 3)
    Classifier("test_tiny_image", head="prototype").fit(data).save(tmp_path / "g")
    for leaf, parent in (("red", "warm"), ("green", "cool"), ("blue", "cool")):
        (tmp_path / "support" / parent).mkdir(parents=True, exist_ok=True)
        (data / leaf).rename(tmp_path / "support" / parent / leaf)
    result = run_json(capsys, ["export", str(tmp_path / "g"), "--support", str(tmp_path / "support"),
                               "--nested", "--out", str(tmp_path / "n.onnx")])
    assert result["metadata"]["handful.classes"] == ["cool/blue", "cool/green", "warm/red"]


def test_predictions_of_the_two_runtimes_do_not_share_an_out_file(capsys, color_tree, tmp_path):
    # bfloat16 torch and float32 ONNX answers differ in the last digits: one file, one runtime
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    export_onnx(tmp_path / "m")
    out = tmp_path / "preds.csv"
    run_json(capsys, ["predict", str(tmp_path / "m"), str(color_tree), "--out", str(out)])
    assert main(["predict", str(tmp_path / "m"), str(color_tree), "--out", str(out), "--runtime", "onnx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--runtime torch" in err[0] and "--runtime onnx" in err[0], err


@pytest.mark.slow
def test_efficientnet_lite0_export_matches_float32_pytorch(color_tree, tmp_path):
    """The real backbone: parity on real images, against the float32 PyTorch path."""
    Classifier("efficientnet_lite0", head="logistic").fit(color_tree).save(tmp_path / "m")
    report = export_onnx(tmp_path / "m", samples=[str(color_tree / "red")])
    assert report.max_abs_diff < 1e-4  # ~1e-7 measured; 1280-d conv net in float32
    assert report.max_abs_diff_embeddings < 1e-3


def test_two_exports_at_once_leave_the_process_warning_filters_as_they_were(tmp_path, monkeypatch):
    # each export swapped the process-wide filter list (warnings.catch_warnings): the export that
    # started second saved the first one's "ignore every warning" and put it back when it ended,
    # for the rest of the process; and an export hid every warning, not only torch's notes
    import threading
    import warnings

    import torch

    from handful.export import onnx as onnx_export

    inside = {"a": threading.Event(), "b": threading.Event()}
    a_done = threading.Event()

    def export(graph, args, path, **kwargs):  # torch.onnx.export; a is inside when b starts, ends first
        name = threading.current_thread().name
        inside[name].set()
        (inside["b"] if name == "a" else a_done).wait(30)
        warnings.warn("a note of the exporter's that matters", UserWarning, stacklevel=2)

    monkeypatch.setattr(torch.onnx, "export", export)
    threads = {name: threading.Thread(target=onnx_export._export_graph, name=name,
                                      args=(None, None, tmp_path / f"{name}.onnx", 17)) for name in "ab"}
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        threads["a"].start()
        inside["a"].wait(30)
        threads["b"].start()
        threads["a"].join()
        a_done.set()
        threads["b"].join()
        after = list(warnings.filters)
    assert after == before
    assert [str(w.message) for w in log] == ["a note of the exporter's that matters"] * 2


def test_torchs_notes_on_its_own_exporter_are_not_shown(color_tree, tmp_path):
    # "legacy TorchScript-based ONNX export", "The feature will be removed" and, for the conv
    # net's strided slices, "Constant folding - Only steps=1 ...": nothing the user can act on
    import warnings

    from handful.export.onnx import EXPORTER_NOTES

    clf = Classifier("test_tiny_conv", head="prototype", cache=False)
    backbone = clf.backbone_for("image")
    backbone.set_embed_options({"tta_shift": 2})
    backbone.info = replace(backbone.info, precision="float32")
    clf.fit(color_tree)
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")  # as `handful` shows warnings: each export puts its filters in front
        export_onnx(clf, tmp_path / "g.onnx")
    shown = [str(w.message) for w in log]
    assert not [m for m in shown if any(m.startswith(text) for _, text, _ in EXPORTER_NOTES)], shown
