"""s23 acceptance audit of `handful finetune` / `handful ladder`: bugs found, each an xfail until fixed."""

import json

import pytest

from handful.cli import main
from handful.data import scan_folder
from handful.errors import HandfulError
from handful.finetune.tune import FinetuneConfig, finetune

pytestmark = pytest.mark.slow  # real EfficientNet-Lite0 weights (the only tunable backbones), seconds


def test_finetune_unfreeze_0_keeps_the_backbone_frozen_as_it_says(capsys, color_tree, tmp_path):
    out = tmp_path / "m"
    # no validation split, so the trained epoch is kept (validation could keep the probe instead)
    code = main(["finetune", str(color_tree), "--out", str(out), "--unfreeze", "0", "--epochs", "1",
                 "--validation-fraction", "0", "--lr", "1e-3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "head only (backbone frozen)" in captured.out  # what the user is told
    # ...so the backbone must keep its pretrained weights: a plain model, as a kept linear probe is
    # (today its 1x1 head conv and last batch norm train, and backbone.safetensors is written)
    doc = json.loads((out / "model.json").read_text())
    assert not doc["backbone"]["info"]["weights"].startswith("tuned-"), "backbone changed though called frozen"
    assert not (out / "backbone.safetensors").exists()


@pytest.mark.parametrize("setting, value", [("batch_size", 0), ("dropout", 1.5)])
def test_finetune_api_refuses_bad_settings_with_a_handful_error(color_tree, setting, value):
    # finetune() is a documented entry point (module example); a bad setting must be a
    # HandfulError naming it (batch_size 0: `range() arg 3 must not be zero` after decoding and
    # fitting the probe; dropout 1.5: torch's message), as the CLI's checks are.
    config = FinetuneConfig(unfreeze=1, epochs=1, refit=False, **{setting: value})
    with pytest.raises(HandfulError, match=setting):
        finetune(scan_folder(color_tree), "efficientnet_lite0", config)
