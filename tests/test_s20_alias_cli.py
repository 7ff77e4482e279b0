"""``handful train`` and ``handful protonet train`` with a registered alias (a name whose backbone
has another ``.name``) save a model that loads, and predicts with, the alias's backbone."""

import json
import warnings
from pathlib import Path

import pytest

from fewshot_glyphs import make_glyph_tree
from handful import load
from handful.backbones import registry
from handful.cli.main import main
from handful.fewshot.conv4 import Conv4Backbone
from test_s20_alias_load import ALIAS, negated_tiny_image

CONV_ALIAS = "test_s20_conv_alias"


@pytest.fixture
def aliases(monkeypatch):
    """Registered for this test only (the registry is global): test_tiny_image with negated
    weights, and a 4-channel Conv-4 named test_tiny_conv (which has 8 channels)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_backbone(ALIAS, "image", hidden=True)(negated_tiny_image)
    registry.register_backbone(CONV_ALIAS, "image", hidden=True)(
        lambda **kw: Conv4Backbone("test_tiny_conv", widths=(4,) * 4, input_size=16, **kw))


def last_json(capsys) -> dict:
    captured = capsys.readouterr()
    return json.loads(captured.out.strip().splitlines()[-1])


def test_cli_train_with_an_alias_saves_a_model_that_predicts_with_the_aliass_backbone(
        aliases, capsys, color_tree, tmp_path):
    model = tmp_path / "m"
    assert main(["train", str(color_tree), "--out", str(model), "--backbone", ALIAS, "--head",
                 "logistic", "--no-advise", "--json"]) == 0
    # the name the user gave, as model.json's created_as (it said the base backbone's own name)
    assert last_json(capsys)["backbone"] == ALIAS
    record = json.loads((model / "model.json").read_text())["backbone"]
    assert record["created_as"] == ALIAS and record["info"]["weights"] == "negated"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was: a fingerprint warning, then test_tiny_image loaded
        assert load(model)._backbone.fingerprint == record["fingerprint"]
    assert main(["predict", str(model), str(color_tree), "--json"]) == 0
    rows = last_json(capsys)["predictions"]
    assert len(rows) == 18  # 3 colors x 6 images
    # colors are separable; on test_tiny_image's embeddings (the negatives) the head answered wrongly
    assert all(Path(row["input"]).parent.name == row["label"] for row in rows)


@pytest.mark.filterwarnings("ignore:No held-out accuracy")  # too few drawings to score: not the point
def test_protonet_train_with_an_alias_saves_a_model_that_loads_the_aliass_encoder(
        aliases, capsys, tmp_path):
    glyphs = make_glyph_tree(tmp_path / "bg", n_alphabets=3, n_chars=4, n_drawings=6)
    model = tmp_path / "protonet"
    assert main(["protonet", "train", str(glyphs), "--out", str(model), "--backbone", CONV_ALIAS,
                 "--nested", "--split-by-parent", "--eval-fraction", "0.34", "--ways", "4",
                 "--queries", "2", "--episodes", "4", "--minutes", "1", "--json"]) == 0
    record = json.loads((model / "model.json").read_text())["backbone"]
    assert record["created_as"] == CONV_ALIAS and record["info"]["dim"] == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(model)  # was: test_tiny_conv (8 channels), whose layers do not take the weights
    assert loaded._backbone.dim == 4 and loaded._backbone.fingerprint == record["fingerprint"]
