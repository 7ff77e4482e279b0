"""s22 export fixes: a concatenated backbone exports (one input per part), the metadata's decoding
notes are exact, and a support export cannot take the model's own ``model.onnx``."""

import json
import re

import numpy as np
import pytest
from PIL import Image, ImageOps

pytest.importorskip("onnxruntime")

import handful  # noqa: E402
from handful import Classifier  # noqa: E402
from handful.backbones.base import BackboneInfo  # noqa: E402
from handful.backbones.image_input import preprocess_image  # noqa: E402
from handful.cli import main  # noqa: E402
from handful.errors import DataError  # noqa: E402
from handful.export import OnnxClassifier, export_onnx, load_predictor  # noqa: E402
from handful.export.graph import preprocessing  # noqa: E402

CONCAT = "test_tiny_image+test_tiny_conv"  # RGB 32 px + grayscale 16 px: two different inputs


def _paths(tree):
    return sorted(str(p) for p in tree.rglob("*.png"))


def test_a_concatenated_model_exports_one_input_per_part_and_predicts_as_torch(color_tree, tmp_path):
    Classifier(CONCAT, head="logistic").fit(color_tree).save(tmp_path / "m")
    report = export_onnx(tmp_path / "m", samples=[str(color_tree)])
    assert report.max_abs_diff < 1e-4, "the parity check feeds each input its own preprocessing"
    onnx = OnnxClassifier(tmp_path / "m" / "model.onnx")
    names = [i.name for i in onnx.session.get_inputs()]
    assert names == ["image_test_tiny_image", "image_test_tiny_conv"], "one input per part, in the head's order"
    inputs = json.loads(onnx.metadata["handful.preprocessing"])["inputs"]
    assert [p["shape"][1:] for p in inputs] == [[32, 32, 3], [16, 16]], "each part's own size and channels"
    parts = json.loads(onnx.metadata["handful.backbone"])["parts"]
    assert [p["name"] for p in parts] == ["test_tiny_image", "test_tiny_conv"], "each part's info is recorded"
    paths = _paths(color_tree)
    clf = handful.load(tmp_path / "m")
    torch_proba = clf.predict_proba(paths)
    onnx_proba = load_predictor(tmp_path / "m", "onnx").predict_proba(paths)
    # same pixels (decoded once, then per part) and the same network: equal to float rounding
    np.testing.assert_allclose(onnx_proba, torch_proba, atol=1e-4)
    # the server feeds what the model's backbone preprocesses (a tuple per image) to the ONNX graph
    served = onnx.predict_proba_batch([clf.backbone_for("image").preprocess(p) for p in paths[:3]])
    np.testing.assert_allclose(served, torch_proba[:3], atol=1e-4)


def test_the_cli_exports_a_concatenated_model_and_predicts_with_it(capsys, color_tree, tmp_path):
    Classifier(CONCAT, head="prototype").fit(color_tree).save(tmp_path / "m")
    assert main(["export", str(tmp_path / "m")]) == 0
    printed = capsys.readouterr().out
    assert "'image_test_tiny_image' uint8 (batch, 32, 32, 3)" in printed, printed
    assert "'image_test_tiny_conv' uint8 (batch, 16, 16)" in printed, printed
    assert main(["predict", str(tmp_path / "m"), str(color_tree), "--runtime", "onnx", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 18 and result["runtime"] == "onnx"
    # separable solid colors: every prediction is the folder's class
    assert all(p["input"].split("/")[-2] == p["label"] for p in result["predictions"])


def _large_jpeg(path):
    rng = np.random.default_rng(0)
    small = Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8))
    small.resize((3000, 2250), Image.BICUBIC).save(path, quality=92)
    return path


def _gray16_png(path):
    Image.fromarray(np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)).save(path)
    return path


def _follow_notes(path, prep: dict) -> np.ndarray:
    """What someone without handful does, reading the numbers off 'before_graph' itself."""
    decode = prep["before_graph"][0]
    draft = int(re.search(r"s = (\d+) / min\(w, h\)", decode).group(1))
    img = Image.open(path)
    if img.format == "JPEG":
        w, h = img.size
        s = draft / min(w, h)
        img.draft("RGB", (int(w * s) + 1, int(h * s) + 1))
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I"):
        assert "v / 256" in decode
        img = img.point(lambda v: v / 256).convert("L")
    img = img.convert("RGB")
    width, height = img.size
    scale = prep["resize_size"] / min(width, height)
    size = prep["input_size"]
    img = img.resize((max(size, round(width * scale)), max(size, round(height * scale))), Image.BILINEAR)
    left, top = (img.size[0] - size) // 2, (img.size[1] - size) // 2
    return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


@pytest.mark.parametrize("make", [_large_jpeg, _gray16_png], ids=["large-jpeg", "16-bit-png"])
def test_following_the_metadata_notes_by_hand_gives_handfuls_pixels(tmp_path, make):
    info = BackboneInfo(name="lite0-like", modality="image", dim=8, input_size=224, resize_size=256)
    image = make(tmp_path / ("big.jpg" if make is _large_jpeg else "g16.png"))
    by_hand = _follow_notes(image, preprocessing(info)).astype(int)
    # the notes are exact, not a hint: at most one level apart (PIL's resize rounding)
    assert np.abs(by_hand - preprocess_image(str(image), info).astype(int)).max() <= 1


def test_a_concatenations_notes_name_the_largest_parts_draft_size():
    info = BackboneInfo(name="lite2-like", modality="image", dim=8, input_size=224, resize_size=256)
    # a concatenation decodes once at its largest part's size (297 for lite2), as ConcatBackbone does
    assert "s = 297 / min(w, h)" in preprocessing(info, draft_size=297)["before_graph"][0]


def test_a_support_export_to_the_models_own_file_is_refused_however_spelled(color_tree, tmp_path):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    export_onnx(tmp_path / "m")
    before = (tmp_path / "m" / "model.onnx").read_bytes()
    with pytest.raises(DataError, match="another --out"):
        export_onnx(tmp_path / "m", tmp_path / "m" / "." / "model.onnx", support=color_tree)
    assert (tmp_path / "m" / "model.onnx").read_bytes() == before, "the model's own export was replaced"
