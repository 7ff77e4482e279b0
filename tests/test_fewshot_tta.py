"""Test-time shifts of a Conv-4 encoder: the average it computes, the fingerprint, the saved option."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import handful
from fewshot_glyphs import make_glyph_tree
from handful.backbones import create_backbone
from handful.backbones.image_input import bf16_supported
from handful.cli.main import main
from handful.errors import DataError
from handful.fewshot.conv4 import shifted_views

TRAIN_ARGS = ["--nested", "--split-by-parent", "--eval-fraction", "0.25", "--ways", "6", "--queries", "2",
              "--episodes", "12", "--minutes", "1", "--backbone", "test_tiny_conv"]


@pytest.fixture(scope="module")
def glyphs(tmp_path_factory) -> Path:
    return make_glyph_tree(tmp_path_factory.mktemp("tta") / "bg", n_alphabets=4, n_chars=5, n_drawings=6)


def shift_uint8(arrays: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The images moved right by dx and down by dy, white (255, the paper background) filling in."""
    out = np.full_like(arrays, 255)
    h, w = arrays.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        arrays[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_shifted_views_are_every_offset_with_background_fill():
    x = torch.arange(16.0).reshape(1, 1, 4, 4) + 1
    views = shifted_views(x, 1)
    assert len(views) == 9
    assert torch.equal(views[4], x)  # the middle of the 3x3 grid is no shift
    # views[0] moves the image down-right by one pixel: first row and column are background
    assert torch.equal(views[0][0, 0, 1:, 1:], x[0, 0, :3, :3])
    assert views[0][0, 0, 0].eq(0).all() and views[0][0, 0, :, 0].eq(0).all()
    assert shifted_views(x, 0) == [x]


def test_tta_embedding_is_the_mean_over_the_shifted_images(glyphs):
    backbone = create_backbone("test_tiny_conv", precision="float32")  # exact arithmetic to compare
    arrays = np.stack([backbone.preprocess(str(p)) for p in sorted(glyphs.rglob("*.png"))[:6]])
    plain = [backbone.embed(list(shift_uint8(arrays, dx, dy))) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    backbone.set_embed_options({"tta_shift": 1})
    averaged = backbone.embed(list(arrays))
    # the same 9 shifted images through the plain encoder, averaged by hand
    np.testing.assert_allclose(averaged, np.mean(plain, axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(averaged, plain[4])  # and it is not the unshifted embedding


def test_shift_changes_the_fingerprint_and_bad_values_are_refused():
    backbone = create_backbone("test_tiny_conv")
    base = backbone.fingerprint
    backbone.set_embed_options({"tta_shift": 2})
    assert backbone.fingerprint != base and backbone.embed_options() == {"tta_shift": 2}
    backbone.set_embed_options({})
    assert backbone.fingerprint == base and backbone.embed_options() == {}
    with pytest.raises(DataError, match="from 0 to 4"):  # 16px input: at most a quarter
        backbone.set_embed_options({"tta_shift": 5})
    with pytest.raises(DataError, match="no option 'zoom'"):
        backbone.set_embed_options({"zoom": 1})


def model_json(path: Path) -> dict:
    return json.loads((path / "model.json").read_text())


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_protonet_train_saves_the_shift_and_load_restores_it(glyphs, tmp_path, capsys):
    default, off = tmp_path / "default", tmp_path / "off"
    assert main(["protonet", "train", str(glyphs), "--out", str(default), *TRAIN_ARGS, "--json"]) == 0
    assert last_json(capsys)["tta_shift"] == 3
    assert main(["protonet", "train", str(glyphs), "--out", str(off), *TRAIN_ARGS, "--tta-shift", "0",
                 "--json"]) == 0
    capsys.readouterr()
    assert model_json(default)["backbone"]["options"] == {"tta_shift": 3}
    assert "options" not in model_json(off)["backbone"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fingerprint mismatch on load would warn
        clf = handful.load(default)
    assert clf.backbone_for("image").tta_shift == 3
    assert handful.load(off).backbone_for("image").tta_shift == 0


def test_episodes_and_runs_take_the_models_shift_or_an_override(glyphs, tmp_path, capsys):
    model = tmp_path / "m"
    assert main(["protonet", "train", str(glyphs), "--out", str(model), *TRAIN_ARGS, "--tta-shift", "1",
                 "--json"]) == 0
    capsys.readouterr()
    common = ["episodes", str(glyphs), "--nested", "--split-by-parent", "--ways", "3", "--queries", "2",
              "--episodes", "20", "--model", str(model), "--json"]
    assert main(common) == 0
    with_shift = last_json(capsys)
    assert main([*common, "--tta-shift", "0"]) == 0
    without = last_json(capsys)
    assert (with_shift["tta_shift"], without["tta_shift"]) == (1, 0)
    assert main([*common, "--tta-shift", "9"]) == 2  # more than a quarter of the 16px input
    assert "--tta-shift must be from 0 to 4" in capsys.readouterr().err


def test_tta_shift_on_a_backbone_that_is_not_conv4_is_a_one_line_error(glyphs, capsys):
    code = main(["episodes", str(glyphs), "--nested", "--ways", "3", "--episodes", "2",
                 "--backbone", "test_tiny_image", "--tta-shift", "1", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "--tta-shift needs a Conv-4 encoder" in err and "Traceback" not in err


def test_fine_tuned_path_with_zero_steps_embeds_like_the_plain_path(glyphs, tmp_path, capsys):
    # --finetune-steps embeds through a tuned copy; with 0 steps that copy is the model itself, so
    # the shifted views must be averaged there too, or fine-tuning would silently drop them
    from handful.fewshot.encoder import FewShotEncoder

    model = tmp_path / "m"
    assert main(["protonet", "train", str(glyphs), "--out", str(model), *TRAIN_ARGS, "--tta-shift", "2",
                 "--json"]) == 0
    capsys.readouterr()
    encoder = FewShotEncoder.from_model(model)
    backbone = encoder.backbone
    arrays = np.stack([backbone.preprocess(str(p)) for p in sorted(glyphs.rglob("*.png"))[:8]])
    support, query = encoder.finetuned_embeddings(arrays[:4], np.arange(4), arrays[4:], 4, steps=0)
    plain = encoder.embed_arrays(arrays)
    np.testing.assert_allclose(np.vstack([support, query]), plain, rtol=1e-5, atol=1e-6)
    encoder.set_tta_shift(0)
    assert not np.allclose(encoder.embed_arrays(arrays), plain)  # the shifts do change the result


@pytest.mark.skipif(not bf16_supported(), reason="this CPU has no native bf16: Conv-4 embeds in float32")
def test_bf16_inference_stays_within_rounding_of_float32(glyphs):
    # "auto" picks bf16 autocast here (3.5x faster); the embeddings must point the same way
    paths = [str(p) for p in sorted(glyphs.rglob("*.png"))[:12]]
    fast, exact = create_backbone("test_tiny_conv"), create_backbone("test_tiny_conv", precision="float32")
    assert fast.info.precision == "bfloat16" and fast.fingerprint != exact.fingerprint
    for b in (fast, exact):
        b.set_embed_options({"tta_shift": 2})
    a = fast.embed([fast.preprocess(p) for p in paths])
    b = exact.embed([exact.preprocess(p) for p in paths])
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert a.dtype == np.float32 and cos.min() > 0.999, cos.min()  # 0.9999+ on Omniglot at 28 px


def test_conv4_widths_set_each_blocks_channels_and_the_embedding_size():
    from torch import nn

    from handful.fewshot.conv4 import Conv4Backbone

    backbone = Conv4Backbone("narrow_first", widths=(4, 8, 16), input_size=16, precision="float32")
    convs = [m for m in backbone.model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 4), (4, 8), (8, 16)]
    assert backbone.dim == 16 * 2 * 2  # three 2x poolings: 16 px -> 2 x 2 cells of 16 channels
    assert backbone.embed([np.zeros((16, 16), np.uint8)] * 2).shape == (2, 64)
    # the registered widenings end in 1 x 1 at 28 px: the embedding is the last block's width
    assert create_backbone("conv4_omniglot_pyramid").dim == 256
    assert create_backbone("conv4_omniglot_slim").dim == 64
