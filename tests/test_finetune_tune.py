"""Fine-tuning EfficientNet-Lite0: the result is a normal handful model (save, load, predict)."""

import json
import math

import numpy as np
import pytest
import torch

import handful
from handful.cli import main
from handful.data import scan_folder
from handful.errors import DataError
from handful.finetune.tune import FinetuneConfig, finetune, resolve_unfreeze

FAST = dict(epochs=2, patience=0, batch_size=8)


pytestmark = pytest.mark.slow  # real EfficientNet-Lite0 weights, a few seconds per run


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """One short fine-tuning run on the color images, shared by the tests below."""
    from conftest import make_color_tree

    root = tmp_path_factory.mktemp("tune")
    make_color_tree(root / "train", 6, seed=1)
    make_color_tree(root / "val", 4, seed=2)
    result = finetune(scan_folder(root / "train"), "efficientnet_lite0",
                      FinetuneConfig(unfreeze=1, refit=False, **FAST))
    return root, result


def test_finetune_changes_only_the_unfrozen_blocks_and_marks_the_weights(tuned):
    _, result = tuned
    backbone = result.classifier._backbone
    fresh = handful.create_backbone("efficientnet_lite0")
    assert backbone.info.weights.startswith("tuned-")
    assert backbone.fingerprint != fresh.fingerprint  # cached embeddings of the original never reused
    blocks, fresh_blocks = backbone.model._blocks, fresh.model._blocks
    torch.testing.assert_close(blocks[0].state_dict(), fresh_blocks[0].state_dict())  # frozen
    pairs = zip(blocks[-1].parameters(), fresh_blocks[-1].parameters())
    assert any(not torch.equal(a, b) for a, b in pairs)  # the last block trained


def test_history_has_the_linear_probe_start_and_every_epoch(tuned):
    _, result = tuned
    epochs = [e["epoch"] for e in result.history.epochs]
    assert epochs == [0, 1, 2]  # epoch 0: the logistic-regression start, scored on validation
    assert result.summary["unfreeze"] == 1 and result.summary["n_val"] == 3


def test_refit_trains_again_on_every_image_for_the_best_epoch_count(color_splits):
    result = finetune(scan_folder(color_splits / "train"), "efficientnet_lite0",
                      FinetuneConfig(unfreeze=1, epochs=1, patience=0, batch_size=8))
    refit, summary = result.history.refit, result.summary
    assert summary["n_train"] + summary["n_val"] == 18  # validation held out in the first pass
    assert refit["n_train"] == 18 and refit["epochs"] == result.history.best_epoch
    assert len(refit["history"]) == refit["epochs"]  # no validation left: every epoch runs
    assert summary["refit"]["n_train"] == 18 and "history" not in summary["refit"]


def test_linear_probe_start_on_all_images_is_the_features_classifier(color_splits):
    # A refit with 0 epochs (validation preferred the probe) must be the "features" rung.
    from handful.backbones import create_backbone
    from handful.classifier import Classifier
    from handful.finetune.data import load_image_set
    from handful.finetune.tune import _tune, logistic_from_net

    examples = scan_folder(color_splits / "train")
    backbone = create_backbone("efficientnet_lite0")
    images, _ = load_image_set(examples, backbone.info.resize_size)
    net, history = _tune(backbone, images, images.subset(np.arange(0)), 1, FinetuneConfig(), 0, None)
    assert history.epochs == []
    probe = logistic_from_net(net, images.classes)
    features = Classifier("efficientnet_lite0", head="logistic").fit(examples)
    X_val, _ = features.embed_examples(scan_folder(color_splits / "val"))
    np.testing.assert_allclose(probe.predict_proba(X_val), features.head_.predict_proba(X_val),
                               atol=0.02)


def test_finetuned_model_saves_loads_and_predicts_the_same(tuned, tmp_path):
    root, result = tuned
    clf = result.classifier
    path = clf.save(tmp_path / "model")
    assert (path / "backbone.safetensors").is_file()
    loaded = handful.load(path)
    items = list(scan_folder(root / "val").items)
    np.testing.assert_allclose(loaded.predict_proba(items), clf.predict_proba(items), atol=1e-6)
    report = loaded.evaluate(root / "val")
    assert report["accuracy"] == clf.evaluate(root / "val")["accuracy"]
    # 15 training images of noisy colors: far above chance (1/3), not necessarily perfect.
    assert report["accuracy"] >= 0.75


def test_finetune_cli_writes_a_model_with_curves(capsys, color_splits, tmp_path):
    out = tmp_path / "tuned"
    code = main(["finetune", str(color_splits), "--out", str(out), "--unfreeze", "1",
                 "--epochs", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["metrics"]["heldout_accuracy"] >= 0.75  # chance is 1/3
    assert (out / "curves.png").is_file() and (out / "backbone.safetensors").is_file()
    history = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [0, 1]
    code = main(["predict", str(out), str(color_splits / "val" / "red"), "--json"])
    predictions = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"]
    labels = [p["label"] for p in predictions]
    assert code == 0 and len(labels) == 4 and labels.count("red") >= 3


@pytest.mark.parametrize("flag, value", [("--dropout", "1.5"), ("--label-smoothing", "-0.1")])
def test_finetune_cli_rejects_out_of_range_regularization_in_one_line(capsys, color_splits,
                                                                      tmp_path, flag, value):
    code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), flag, value])
    err = capsys.readouterr().err
    assert code == 2 and "must be in [0, 1)" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("unfreeze, n_train, expected", [
    ("auto", 50, 1), ("auto", 300, 2), ("auto", 1000, 3), ("auto", 5000, 5), (4, 10, 4), ("0", 10, 0)])
def test_resolve_unfreeze(unfreeze, n_train, expected):
    assert resolve_unfreeze(unfreeze, n_train, 16) == expected


def test_bad_unfreeze_and_backbone_are_user_errors(color_tree):
    with pytest.raises(DataError, match="between 0 and 16"):
        resolve_unfreeze(17, 10, 16)
    with pytest.raises(DataError, match="cannot be fine-tuned"):
        finetune(scan_folder(color_tree), "test_tiny_image")


def test_linear_head_maps_onto_logistic_head_exactly():
    # The trained linear layer is saved as a LogisticHead: same probabilities, no new format.
    from types import SimpleNamespace

    from handful.finetune.tune import _Standardize, linear_from_logistic, logistic_from_net
    from handful.heads import LogisticHead

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 6)), np.repeat(["ant", "bee"], 15)
    X[y == "bee"] += 1.5
    head = LogisticHead().fit(X, y)
    weight, bias = linear_from_logistic(head)
    linear = torch.nn.Linear(6, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(weight))
        linear.bias.copy_(torch.from_numpy(bias))
    net = SimpleNamespace(standardize=_Standardize(head.mean_, head.scale_), linear=linear)
    mapped = logistic_from_net(net, ("ant", "bee"))
    np.testing.assert_allclose(mapped.predict_proba(X), head.predict_proba(X), atol=1e-5)
    with torch.no_grad():
        logits = linear(net.standardize(torch.tensor(X, dtype=torch.float32)))
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), head.predict_proba(X), atol=1e-5)


def _no_training(*args, **kwargs):
    raise AssertionError("fine-tuning started")


@pytest.mark.parametrize("case, message", [
    ("unknown held-out class", "has classes ['purple'] that"),  # was found after training, which was lost
    ("rotate 500", "'rotate' augmentation setting"),  # was found after decoding every image
    ("--lr inf", "--lr must be a finite number"),  # was accepted: every trained epoch NaN
])
def test_finetune_cli_checks_its_inputs_before_training(capsys, color_splits, tmp_path, monkeypatch,
                                                        case, message):
    monkeypatch.setattr("handful.finetune.tune.finetune", _no_training)
    args = []
    if case == "unknown held-out class":
        purple = color_splits / "val" / "purple"
        purple.mkdir()
        (purple / "p.png").write_bytes((color_splits / "val" / "red" / "red_1.png").read_bytes())
    elif case == "rotate 500":
        (tmp_path / "aug.json").write_text('{"rotate": 500}')
        args = ["--config", str(tmp_path / "aug.json")]
    else:
        args = ["--lr", "inf"]
    code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_finetune_cli_lists_skipped_files_and_warns_that_early_stopping_is_off(capsys, tmp_path):
    # A class of 2 images leaves no validation split: --patience and --validation-fraction did
    # nothing, silently. Skipped files were only in --json, never in the human output.
    from conftest import make_color_tree

    data = make_color_tree(tmp_path / "data", 6)
    for extra in ("blue_2.jpg", "blue_3.png", "blue_4.jpg", "blue_5.png"):
        (data / "blue" / extra).unlink()
    (data / "red" / "notes.jpg").write_text("not an image")
    with pytest.warns(UserWarning, match="No validation split: the smallest class, 'blue', has 2 image"):
        code = main(["finetune", str(data), "--out", str(tmp_path / "m"), "--unfreeze", "1",
                     "--epochs", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "notes.jpg: not an image" in captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["finetune"]["n_val"] == 0 and len(captured.out.strip().splitlines()) == 1


def test_finetune_cli_that_diverges_without_validation_saves_nothing(capsys, tmp_path):
    from conftest import make_color_tree

    data = make_color_tree(tmp_path / "data", 2)  # 2 per class: no validation split
    code = main(["finetune", str(data), "--out", str(tmp_path / "m"), "--unfreeze", "1",
                 "--epochs", "2", "--lr", "1e30"])
    err = capsys.readouterr().err
    assert code == 2 and "Training diverged" in err and "--lr" in err
    assert not (tmp_path / "m").exists()


def test_finetune_cli_that_keeps_the_linear_probe_says_so(capsys, color_splits, tmp_path):
    # "best epoch 0, then again on all 18 images for 0 epochs" read as if fine-tuning had happened;
    # a diverging run (every epoch NaN) keeps the probe it started from
    code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), "--unfreeze", "1",
                 "--epochs", "1", "--lr", "1e30", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["metrics"]["best_epoch"] == 0
    assert "best epoch 0 (the linear-probe start: no epoch of fine-tuning beat it)" in captured.err
    assert "for 0 epochs" not in captured.err


def strict_json(path):
    """``path`` parsed as strict JSON: NaN and Infinity are not JSON (JSON.parse and jq refuse them)."""
    def refuse(token):
        raise ValueError(f"{path.name} holds {token}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_finetune_that_diverges_with_validation_writes_valid_json_files(capsys, color_splits, tmp_path):
    # history.json held NaN tokens (every trained epoch's loss), which strict parsers refuse
    code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), "--unfreeze", "1",
                 "--epochs", "1", "--lr", "1e30", "--json"])
    assert code == 0, capsys.readouterr().err
    history = strict_json(tmp_path / "m" / "history.json")
    assert history["epochs"][1]["val_loss"] is None  # the diverged epoch's NaN, written as null
    for name in ("report.json", "model.json"):
        strict_json(tmp_path / "m" / name)


def test_first_epoch_does_not_wreck_the_linear_probe_start(tuned):
    # The probe's standardization divided nearly dead channels by std ~1e-6, so augmented crops
    # of the training images scored far off and epoch 1's loss was 11.6 on these colors, worse
    # than guessing (ln 3 = 1.10) though the probe it started from was right on validation.
    _, result = tuned
    assert result.history.epochs[1]["train_loss"] < math.log(3)


@pytest.mark.parametrize("refit", ["--refit", "--no-refit"])
def test_a_kept_linear_probe_is_saved_as_a_plain_frozen_backbone_model(capsys, color_splits, tmp_path,
                                                                        refit):
    # It was saved with backbone.safetensors and a "tuned-" weights tag, so its embeddings never
    # came from the cache and the model was 19 MB bigger. --lr 1e30 diverges: the probe is kept.
    from handful.backbones.tuned import _state_hash

    out = tmp_path / "m"
    code = main(["finetune", str(color_splits), "--out", str(out), "--unfreeze", "1", "--epochs", "1",
                 "--lr", "1e30", refit, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["metrics"]["best_epoch"] == 0
    assert result["backbone_tuned"] is False and result["finetune"]["backbone_tuned"] is False
    assert "saved as a plain efficientnet_lite0 model" in captured.err
    assert not (out / "backbone.safetensors").exists()
    meta = json.loads((out / "model.json").read_text())
    assert "weights_file" not in meta["backbone"]
    assert meta["training"]["finetune"]["backbone_tuned"] is False
    loaded, fresh = handful.load(out), handful.create_backbone("efficientnet_lite0")
    backbone = loaded.backbone_for("image")
    assert backbone.fingerprint == fresh.fingerprint  # the cache key of every frozen-backbone model
    assert _state_hash(backbone.model) == _state_hash(fresh.model)
    assert loaded.evaluate(color_splits / "val")["accuracy"] >= 0.75  # the probe: chance is 1/3


def test_a_tuned_backbone_is_said_so_in_the_json(tuned):
    _, result = tuned
    assert result.summary["backbone_tuned"] is True
    assert result.classifier.training_["finetune"]["backbone_tuned"] is True


def test_weight_decay_reaches_the_optimizer_and_the_model_record(capsys, color_splits, tmp_path,
                                                               monkeypatch):
    decays = []

    class RecordingAdamW(torch.optim.AdamW):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            decays.extend(group["weight_decay"] for group in self.param_groups)

    monkeypatch.setattr(torch.optim, "AdamW", RecordingAdamW)
    out = tmp_path / "m"
    code = main(["finetune", str(color_splits), "--out", str(out), "--unfreeze", "1", "--epochs", "1",
                 "--weight-decay", "0.05", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert decays and set(decays) == {0.05}  # backbone blocks and head, first run and refit
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["finetune"]["config"]["weight_decay"] == 0.05
    meta = json.loads((out / "model.json").read_text())
    assert meta["training"]["finetune"]["config"]["weight_decay"] == 0.05


@pytest.mark.parametrize("value", ["-0.01", "2", "nan"])
def test_finetune_cli_rejects_a_bad_weight_decay_in_one_line(capsys, color_splits, tmp_path, monkeypatch,
                                                             value):
    monkeypatch.setattr("handful.finetune.tune.finetune", _no_training)
    code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), "--weight-decay", value])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--weight-decay must be a number between 0 and 1" in err and f"Got {float(value)}" in err
    assert not (tmp_path / "m").exists()
