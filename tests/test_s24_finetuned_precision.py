"""s24: a fine-tuned model predicts in the precision it was trained, validated and calibrated in.

Fine-tuning runs the frozen front under bfloat16 autocast (where the CPU has it) and trains the
last blocks, the head conv and the linear head in float32. A saved tuned model used to run its
whole backbone under autocast at predict time, so its probabilities were not the ones validation
scored and the temperature was fitted on (up to 0.16 apart on hymenoptera). These tests force
bfloat16 on (``precision="auto"`` resolves to it) so that they bite on any CPU.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import handful
from conftest import make_noisy_color_tree
from handful.backbones import efficientnet_lite
from handful.backbones.image_input import resize_and_crop
from handful.data import scan_folder
from handful.evaluate.calibration import fit_temperature
from handful.finetune.data import load_image_set, split_validation
from handful.finetune.tune import FinetuneConfig, finetune
from handful.heads.base import temperature_scaled

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py
N_UNFREEZE = 1
FAST = dict(patience=0, batch_size=8, unfreeze=N_UNFREEZE, refit=False)


@pytest.fixture(scope="module")
def bf16():
    """``precision="auto"`` -> bfloat16 for every EfficientNet-Lite built in this module (finetune's
    and load's): autocast runs in bfloat16 on any CPU, natively or emulated."""
    patch = pytest.MonkeyPatch()
    patch.setattr(efficientnet_lite, "auto_precision", lambda precision: "bfloat16")
    yield
    patch.undo()


def make_noisy_tree(root: Path) -> Path:
    """3 colour classes of 12, one in 6 looking like the next class: answers are not all ~100%
    sure, so precision shows in the probabilities, and a temperature is fitted (21 held out)."""
    return make_noisy_color_tree(root, every=6)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> Path:
    return make_noisy_tree(tmp_path_factory.mktemp("noisy") / "train")


@pytest.fixture(scope="module")
def tuned(bf16, noisy, tmp_path_factory):
    """Fine-tuned without a validation split: always a tuned backbone (nothing to prefer the probe)."""
    result = finetune(scan_folder(noisy), "efficientnet_lite0",
                      FinetuneConfig(epochs=1, validation_fraction=0.0, **FAST))
    assert result.summary["backbone_tuned"], result.summary  # else there is no tuned block to test
    path = result.classifier.save(tmp_path_factory.mktemp("m") / "model")
    return handful.load(path), path


def probabilities_as_validation_scored(clf, crops: list[np.ndarray]) -> np.ndarray:
    """What fine-tuning's validation computed: the stem and frozen blocks under bfloat16 autocast,
    then the tuned blocks and head conv in float32, the linear head (the saved LogisticHead) and
    the saved temperature."""
    backbone = clf._backbone
    model, n_front = backbone.model, len(backbone.model._blocks) - N_UNFREEZE
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
    x = (x - 0.5) / 0.5  # EfficientNet-Lite's mean and std
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            x = model._swish(model._bn0(model._conv_stem(x)))
            for block in list(model._blocks)[:n_front]:
                x = block(x)
        x = x.float()
        for block in list(model._blocks)[n_front:]:
            x = block(x)
        feats = model._swish(model._bn1(model._conv_head(x))).mean(dim=(2, 3))
    return clf.head_.predict_proba(feats.numpy())


def test_a_tuned_model_predicts_what_validation_scored(tuned, noisy):
    clf, _ = tuned
    paths = sorted(str(p) for p in noisy.rglob("*.png"))
    crops = [clf._backbone.preprocess(p) for p in paths]
    expected = probabilities_as_validation_scored(clf, crops)
    got = clf.predict_proba(paths)
    # bfloat16 in the tuned block moves these by ~1e-2; float32 reordering by ~1e-6
    np.testing.assert_allclose(got, expected, atol=1e-4, err_msg="predict ran the tuned block in "
                               "another precision than fine-tuning trained and validated it in")


# lr 1e-3: validation prefers the tuned network (a tuned model); 1e-4: the linear probe (saved as
# a plain model, whose whole backbone runs under autocast): either way predict's answers
@pytest.mark.parametrize("lr", [1e-3, 1e-4])
def test_the_saved_temperature_is_fitted_on_the_answers_predict_gives(bf16, noisy, tmp_path, lr):
    config = FinetuneConfig(epochs=3, validation_fraction=0.6, lr=lr, head_lr=lr, **FAST)
    path = finetune(scan_folder(noisy), "efficientnet_lite0", config).classifier.save(tmp_path / "m")
    clf = handful.load(path)
    temperature = clf.calibration_["temperature"]
    assert clf.calibration_["fitted_on"] == "validation" and temperature != 1.0, clf.calibration_
    images, _ = load_image_set(scan_folder(noisy), clf._backbone.info.resize_size)
    _, val_idx = split_validation(images.labels, config.validation_fraction, config.seed, images.groups)
    crops = [resize_and_crop(Image.fromarray(images.images[i]), clf._backbone.info) for i in val_idx]
    calibrated = clf.head_.predict_proba(clf._backbone.embed(crops))  # predict's answers
    raw = temperature_scaled(calibrated, 1.0 / temperature)  # the temperature undone
    refitted = fit_temperature(raw, images.labels[val_idx])
    # the same fitter on the same numbers gives the same temperature (not one of other numbers)
    assert refitted == pytest.approx(temperature, rel=1e-4), (refitted, temperature)


def test_a_tuned_model_records_its_float32_blocks_and_reloads_them(tuned):
    clf, path = tuned
    assert clf.model_json_["backbone"]["options"] == {"float32_blocks": N_UNFREEZE}
    assert clf._backbone.float32_blocks == N_UNFREEZE  # load applied it: predict runs them in float32


def test_float32_blocks_out_of_range_is_a_user_error_naming_the_range():
    backbone = handful.create_backbone("efficientnet_lite0")
    n_blocks = len(backbone.model._blocks)
    with pytest.raises(handful.HandfulError, match=f"whole number of blocks from 0 to {n_blocks}"):
        backbone.set_embed_options({"float32_blocks": n_blocks + 1})
    with pytest.raises(handful.HandfulError, match="knows float32_blocks"):
        backbone.set_embed_options({"fp32": 1})
