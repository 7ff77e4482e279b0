"""`handful predict --json` reports the runtime that computes the answers, by model kind: a
word2vec or numpy test backbone runs no torch, so it must not claim "torch"."""

import pytest

from conftest import run_json
from handful.backbones import list_backbones
from handful.export.runtime import BACKBONE_RUNTIMES, RUNTIMES

# (backbone, data fixture, runtime): word2vec averages word vectors in numpy; the tiny test
# backbones are numpy; Conv-4 is a torch network; a concatenation names each runtime once
CASES = [
    ("word2vec", "text_csv", "numpy"),
    ("test_tiny_text", "text_csv", "numpy"),
    ("test_tiny_image", "color_tree", "numpy"),
    ("test_tiny_conv", "color_tree", "torch"),
    ("test_tiny_image+test_tiny_conv", "color_tree", "numpy+torch"),
]


@pytest.mark.parametrize(("backbone", "fixture", "runtime"), CASES)
def test_predict_json_reports_the_runtime_the_models_backbone_runs_on(capsys, request, tmp_path, backbone,
                                                                      fixture, runtime):
    data = request.getfixturevalue(fixture)
    extra = ["--unlabeled", str(data)] if backbone == "word2vec" else []  # its vectors come from text
    run_json(capsys, ["train", str(data), "--out", str(tmp_path / "m"), "--backbone", backbone,
                      "--head", "prototype", *extra])
    inputs = data / "red" if data.is_dir() else data  # images of one class, or the texts again
    out = run_json(capsys, ["predict", str(tmp_path / "m"), str(inputs)])
    assert out["n"] > 0 and out["runtime"] == runtime, out["runtime"]


def test_every_backbone_named_off_torch_is_registered():
    # a misspelt name in the table would silently report "torch" for that backbone's models
    assert set(BACKBONE_RUNTIMES) <= set(list_backbones(include_hidden=True))
    assert {"word2vec", "e5_small"} <= set(BACKBONE_RUNTIMES) and "minilm" not in BACKBONE_RUNTIMES


def test_an_onnx_run_reports_onnx(capsys, color_tree, tmp_path):
    pytest.importorskip("onnxruntime")
    run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                      "--head", "prototype"])
    run_json(capsys, ["export", str(tmp_path / "m")])
    out = run_json(capsys, ["predict", str(tmp_path / "m"), str(color_tree / "red"), "--runtime", "onnx"])
    assert out["runtime"] == "onnx" and "onnx" in RUNTIMES  # ONNX Runtime ran the graph, not numpy
