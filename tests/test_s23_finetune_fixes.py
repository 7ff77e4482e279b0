"""s23 fine-tuning fixes: settings checked up front, words that say what trains, singular at 1,
the validation score named for the model it scored, and every skipped file listed."""

import json
import typing

import numpy as np
import pytest
from torch import nn

from handful.classifier import Classifier
from handful.cli import main
from handful.data import scan_folder
from handful.errors import DataError
from handful.finetune.ladder import LadderConfig, run_ladder
from handful.finetune.loop import History, TrainConfig, _better
from handful.finetune.scratch import ScratchConfig, train_scratch
from handful.finetune.tune import FinetuneConfig, FinetuneResult, TunedNet, finetune
from handful.heads import LogisticHead

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def _refuse(*args, **kwargs):
    raise AssertionError("the work started before the settings were checked")


# -- settings checked before any image is decoded ---------------------------------------------

@pytest.mark.parametrize("setting, value, expected", [
    ("epochs", -1, "an integer >= 1"),  # kept the linear probe silently
    ("epochs", 0, "an integer >= 1"),
    ("epochs", 2.5, "an integer >= 1"),
    ("lr", 0, "a finite number > 0"),  # accepted: nothing trained
    ("lr", float("nan"), "a finite number > 0"),
    ("head_lr", -1e-3, "a finite number > 0"),
    ("batch_size", 0, "an integer >= 1"),  # range() arg 3 must not be zero, after the probe
    ("batch_size", True, "an integer >= 1"),  # a bool is not a count
    ("dropout", 1.5, "a number in [0, 1)"),  # torch's message
    ("label_smoothing", 1.0, "a number in [0, 1)"),
    ("weight_decay", -0.1, "a number in [0, 1]"),
    ("validation_fraction", 0.95, "a number in [0, 0.9)"),
    ("patience", -1, "an integer >= 0"),
    ("seed", "zero", "an integer"),
    ("unfreeze", -1, "a number of blocks >= 0 or 'auto'"),
    ("unfreeze", "two", "a number of blocks >= 0 or 'auto'"),
])
def test_finetune_config_check_names_the_setting_its_range_and_the_value(setting, value, expected):
    with pytest.raises(DataError) as caught:
        FinetuneConfig(**{setting: value}).check()
    message = str(caught.value)
    assert f"'{setting}' setting of FinetuneConfig" in message and expected in message
    assert f"Got {value!r}" in message and "Pass " in message  # what was got, and the fix
    assert len(message.splitlines()) == 1


def test_the_default_configs_and_numpy_integers_pass_the_check():
    # the check must not refuse what handful itself passes (defaults, counts computed with numpy)
    TrainConfig().check()
    ScratchConfig().check()
    FinetuneConfig().check()
    FinetuneConfig(batch_size=np.int64(8), unfreeze=np.int64(0), lr=np.float32(1e-4)).check()


def test_finetune_refuses_a_bad_setting_before_loading_the_backbone_or_decoding(color_tree, monkeypatch):
    monkeypatch.setattr("handful.finetune.tune.create_backbone", _refuse)
    monkeypatch.setattr("handful.finetune.tune.load_image_set", _refuse)
    with pytest.raises(DataError, match="'epochs' setting of FinetuneConfig must be an integer >= 1. Got -1"):
        finetune(scan_folder(color_tree), "efficientnet_lite0", FinetuneConfig(epochs=-1))


def test_train_scratch_refuses_a_size_its_network_cannot_take():
    # the dense layer grows with the square of the size: the CLI's --scratch-size range, for the API
    with pytest.raises(DataError, match=r"'size' setting of ScratchConfig must be an integer in \[16, 512\]"):
        train_scratch(None, ScratchConfig(size=100_000))


def test_run_ladder_checks_both_network_configs_before_the_first_rung(color_tree, monkeypatch):
    monkeypatch.setattr("handful.finetune.ladder.train_scratch", _refuse)
    examples = scan_folder(color_tree)
    config = LadderConfig(rungs=("scratch", "finetune"), finetune=FinetuneConfig(batch_size=0))
    with pytest.raises(DataError, match="'batch_size' setting of FinetuneConfig"):
        run_ladder(examples, examples, config)


# -- --unfreeze 0 trains the head only ----------------------------------------------------------

class _FakeEfficientNet(nn.Module):
    """The parts TunedNet takes from an EfficientNet-Lite: blocks, 1x1 head conv, batch norm."""

    def __init__(self):
        super().__init__()
        self._blocks = nn.ModuleList([nn.Conv2d(4, 4, 1) for _ in range(3)])
        self._conv_head, self._bn1, self._swish = nn.Conv2d(4, 6, 1), nn.BatchNorm2d(6), nn.SiLU()


def _probe_head(dim: int = 6) -> LogisticHead:
    head = LogisticHead()
    head.mean_, head.scale_ = np.zeros(dim), np.ones(dim)
    head.coef_, head.intercept_ = np.zeros((2, dim)), np.zeros(2)
    return head


def test_unfreeze_0_gives_the_optimizer_no_backbone_weight():
    model = _FakeEfficientNet()
    frozen = TunedNet(model, 0, _probe_head(), 0.0)
    # the 1x1 head conv and the last batch norm trained at 0 though the output said "backbone frozen"
    assert frozen.backbone_parameters() == []
    tuned = {id(p) for p in TunedNet(model, 1, _probe_head(), 0.0).backbone_parameters()}
    assert {id(p) for p in model._conv_head.parameters()} <= tuned  # at 1: the block and the 1x1 conv
    assert {id(p) for p in model._blocks[-1].parameters()} <= tuned
    assert not {id(p) for p in model._blocks[0].parameters()} & tuned


# -- words --------------------------------------------------------------------------------------

def test_patience_help_says_that_an_equal_accuracy_with_a_lower_loss_counts():
    from handful.cli.finetune import finetune_command

    # what the loop does: the same accuracy with a lower loss is a better epoch (it resets patience)
    assert _better({"val_accuracy": 0.5, "val_loss": 0.2}, (0.5, 0.9))
    annotation = typing.get_type_hints(finetune_command, include_extras=True)["patience"]
    help_text = next(m for m in annotation.__metadata__ if hasattr(m, "help")).help
    assert "same accuracy with a lower loss" in help_text, help_text
    assert "better validation accuracy" not in help_text  # the old, narrower claim


@pytest.mark.parametrize("row, expected, wrong", [
    ({"rung": "features+aug", "details": {"head": "LogisticHead", "views_per_image": 1,
                                          "augment": "light"}}, "1 view/image", "1 views"),
    ({"rung": "finetune", "details": {"unfreeze": 1, "best_epoch": 2, "epochs": 3, "seconds_per_epoch": 1.0,
                                      "n_train": 9, "backbone_tuned": True}},
     "last block and the final 1x1 conv, best epoch 2/3,", "1 blocks"),
    ({"rung": "finetune", "details": {"unfreeze": 0, "best_epoch": 1, "epochs": 1, "seconds_per_epoch": 1.0,
                                      "n_train": 9, "backbone_tuned": False}},
     "head only (backbone frozen), best epoch 1/1,", "0 blocks"),  # was "last 0 blocks"
    ({"rung": "finetune", "details": {"unfreeze": 2, "best_epoch": 0, "epochs": 3, "seconds_per_epoch": 1.0,
                                      "n_train": 9, "backbone_tuned": False}},
     "(linear probe kept, backbone frozen)", "kept)"),
])
def test_ladder_notes_say_what_trained_and_are_singular_at_one(row, expected, wrong):
    from handful.cli.ladder import _notes

    notes = _notes(row)
    assert expected in notes and wrong not in notes, notes


def _fake_finetune(refit_epochs: int | None, n_val: int):
    """finetune() standing in for the real one: a tiny-backbone model with a chosen summary, so the
    CLI's words and records are tested in seconds (the real run needs EfficientNet weights)."""
    def fake(examples, backbone, config, on_epoch_end=None, progress=None):
        clf = Classifier("test_tiny_image", head="logistic").fit(examples)
        epochs = [{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.9, "seconds": 0.1}]
        if n_val:
            epochs = [{"epoch": 0, "val_loss": 0.6, "val_accuracy": 0.8, "seconds": 0.1},
                      {**epochs[0], "val_loss": 0.4, "val_accuracy": 0.9, "lr": 1e-4}]
        history = History(epochs, best_epoch=1)
        refit = None
        if refit_epochs is not None:
            refit = {"n_train": len(examples), "epochs": refit_epochs, "seconds": 0.1, "seconds_per_epoch": 0.1}
            history.refit = {**refit, "history": []}
        summary = {"unfreeze": 1, "n_train": len(examples) - n_val, "n_val": n_val, "backbone_tuned": True,
                   "config": config.to_json(), "prepare_seconds": 0.1, "seconds_per_epoch": 0.1,
                   "seconds": 0.2, "best_epoch": 1, "stopped_early": False, "refit": refit}
        clf.training_ = {**clf.training_, "finetune": summary}
        return FinetuneResult(clf, history, summary)
    return fake


def test_finetune_cli_refit_for_1_epoch_is_singular_and_its_score_named_before_refit(capsys, color_splits,
                                                                                     tmp_path, monkeypatch):
    monkeypatch.setattr("handful.finetune.tune.finetune", _fake_finetune(refit_epochs=1, n_val=3))
    out = tmp_path / "m"
    code = main(["finetune", str(color_splits), "--out", str(out), "--epochs", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "then again on all 18 images for 1 epoch;" in captured.err and "1 epochs" not in captured.err
    # the validation score is the first run's best epoch; the saved model was trained again on
    # the validation images too, so the number is not that model's and must not read as if it were
    for metrics in (json.loads(captured.out.strip().splitlines()[-1])["metrics"],
                    json.loads((out / "model.json").read_text())["metrics"]):
        assert metrics["val_accuracy_before_refit"] == 0.9 and "val_accuracy" not in metrics


def test_finetune_cli_without_refit_keeps_val_accuracy_as_the_saved_models_score(capsys, color_splits,
                                                                                  tmp_path, monkeypatch):
    monkeypatch.setattr("handful.finetune.tune.finetune", _fake_finetune(refit_epochs=None, n_val=3))
    code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), "--no-refit", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    metrics = json.loads(captured.out.strip().splitlines()[-1])["metrics"]
    assert metrics["val_accuracy"] == 0.9 and "val_accuracy_before_refit" not in metrics  # the same model


def test_finetune_cli_warning_of_1_epoch_is_singular(capsys, color_splits, tmp_path, monkeypatch):
    monkeypatch.setattr("handful.finetune.tune.finetune", _fake_finetune(refit_epochs=None, n_val=0))
    with pytest.warns(UserWarning, match=r"the model is the last of 1 epoch\. Add images"):
        code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), "--epochs", "1"])
    assert code == 0, capsys.readouterr().err


def test_finetune_cli_lists_a_bad_held_out_file_on_screen_and_in_json(capsys, color_splits, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr("handful.finetune.tune.finetune", _fake_finetune(refit_epochs=1, n_val=3))
    (color_splits / "val" / "blue" / "empty.png").write_bytes(b"")
    (color_splits / "val" / "red" / "cut.png").write_bytes((color_splits / "val" / "red" / "red_1.png")
                                                           .read_bytes()[:60])  # fails to decode
    code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    listed = {item["path"].rsplit("/", 1)[-1] for item in result["heldout_skipped"]}
    assert listed == {"empty.png", "cut.png"}  # was only in report.json
    assert "empty.png: empty file" in captured.err and "cut.png" in captured.err
    assert result["metrics"]["heldout_n"] == 12  # the 12 good ones scored, the 2 bad left out


# -- ladder --json and the backbone auto picked -------------------------------------------------

def test_ladder_json_lists_skipped_files_and_the_backbone_auto_picked(capsys, color_splits, tmp_path,
                                                                      monkeypatch):
    from handful.classifier import DEFAULT_BACKBONES

    monkeypatch.setitem(DEFAULT_BACKBONES, "image", "test_tiny_image")
    (color_splits / "train" / "red" / "notes.jpg").write_text("not an image")
    (color_splits / "val" / "blue" / "empty.png").write_bytes(b"")
    out = tmp_path / "l"
    code = main(["ladder", str(color_splits), "--out", str(out), "--rungs", "features,features+aug",
                 "--backbone", "auto", "--augment-views", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result, saved = json.loads(captured.out.strip().splitlines()[-1]), json.loads((out / "ladder.json").read_text())
    # ladder.json listed them (in its train and test summaries) but --json did not
    assert {s["path"].rsplit("/", 1)[-1] for s in result["skipped"]} == {"notes.jpg", "empty.png"}
    assert result["skipped"] == saved["train"]["skipped"] + saved["test"]["skipped"]
    # "auto" alone did not say which backbone the numbers are of
    assert result["backbone"] == saved["backbone"] == "test_tiny_image"
    assert saved["config"]["backbone"] == "auto"  # what was asked, beside what it became
    for row in saved["rows"]:
        assert row["details"]["backbone"] == "test_tiny_image" and row["details"]["backbone_requested"] == "auto"
    assert "test_tiny_image (auto)" in captured.err and "1 view/image" in captured.err


# -- the real network (slow) ---------------------------------------------------------------------

@pytest.mark.slow  # real EfficientNet-Lite0 weights
def test_finetune_api_at_unfreeze_0_returns_a_plain_model_of_the_pretrained_backbone(color_tree):
    import handful
    from handful.backbones.tuned import _state_hash

    result = finetune(scan_folder(color_tree), "efficientnet_lite0",
                      FinetuneConfig(unfreeze=0, epochs=1, validation_fraction=0, lr=1e-3, batch_size=8))
    assert result.history.best_epoch == 1  # an epoch trained (no validation to keep the probe)...
    fresh, backbone = handful.create_backbone("efficientnet_lite0"), result.classifier._backbone
    assert _state_hash(backbone.model) == _state_hash(fresh.model)  # ...and left the backbone as it was
    assert backbone.fingerprint == fresh.fingerprint  # so cached embeddings are shared
    assert result.summary["backbone_tuned"] is False
    assert not any(p.requires_grad for p in backbone.model.parameters())


@pytest.mark.slow  # real EfficientNet-Lite0 weights (the block count)
def test_finetune_refuses_too_many_blocks_before_decoding(color_tree, monkeypatch):
    monkeypatch.setattr("handful.finetune.tune.load_image_set", _refuse)
    with pytest.raises(DataError, match="between 0 and 16"):
        finetune(scan_folder(color_tree), "efficientnet_lite0", FinetuneConfig(unfreeze=99))

