"""What the commands print and take, the same for every kind of model: the core --json keys of every
command that writes a model, evaluate's fix for classes a few-shot model never saw, kshot's --fill
and --config, and one list of the commands that write models."""

import json
from pathlib import Path

import pytest

from conftest import make_color_tree, one_error_line, run_json
from fewshot_glyphs import make_glyph_tree
from handful import Classifier
from handful.cli.main import main

CORE_KEYS = ("model", "backbone", "head", "classes", "n_train", "skipped")
PROTONET_ARGS = ["--backbone", "test_tiny_conv", "--nested", "--ways", "4", "--queries", "2",
                 "--episodes", "5", "--minutes", "1", "--val-fraction", "0"]


@pytest.fixture(scope="module")
def glyphs(tmp_path_factory) -> Path:
    return make_glyph_tree(tmp_path_factory.mktemp("glyphs") / "bg", n_alphabets=2, n_chars=4, n_drawings=6)


@pytest.fixture(scope="module")
def protonet_model(glyphs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "proto"
    assert main(["protonet", "train", str(glyphs), "--out", str(out), *PROTONET_ARGS]) == 0
    return out


def assert_core_keys_as_saved(result: dict) -> None:
    """Every command that writes a model names it the way `handful train --json` does, and each key
    means what model.json says (a script reading one command's output can read the others')."""
    missing = [k for k in CORE_KEYS if k not in result]
    assert not missing, f"--json lacks {missing} (has {sorted(result)})"
    doc = json.loads((Path(result["model"]) / "model.json").read_text())
    assert result["backbone"] == doc["backbone"].get("created_as", doc["backbone"]["name"])
    # the head as train gives it: the registry name (as --head and model.json spell it) and its params
    assert result["head"] == {"type": doc["head"]["type"], "params": doc["head"]["params"]}
    assert result["classes"] == doc["classes"]
    assert result["n_train"] == doc["training"]["n"] and isinstance(result["n_train"], int)
    assert isinstance(result["skipped"], list)


def test_train_json_has_the_core_keys_of_the_model_it_saved(capsys, color_tree, tmp_path):
    result = run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone",
                               "test_tiny_image", "--head", "logistic", "--no-advise"])
    assert_core_keys_as_saved(result)


def test_protonet_train_json_has_backbone_head_classes_and_n_train_like_train(capsys, glyphs, tmp_path):
    result = run_json(capsys, ["protonet", "train", str(glyphs), "--out", str(tmp_path / "m"), *PROTONET_ARGS])
    assert_core_keys_as_saved(result)
    assert result["backbone"] == "test_tiny_conv" and result["head"]["type"] == "prototype"
    assert "history" in result and "train_classes" in result  # its own keys stay


def _fake_finetune(examples, backbone, config, on_epoch_end=None, progress=None):
    """finetune() standing in for the real one (which needs EfficientNet weights): a tiny-backbone
    model with a plausible summary, so the CLI's --json is tested in seconds."""
    from handful.finetune.loop import History
    from handful.finetune.tune import FinetuneResult

    clf = Classifier("test_tiny_image", head="logistic").fit(examples)
    summary = {"unfreeze": 1, "n_train": len(examples), "n_val": 0, "backbone_tuned": True,
               "config": config.to_json(), "prepare_seconds": 0.1, "seconds_per_epoch": 0.1, "seconds": 0.2,
               "best_epoch": 1, "stopped_early": False, "refit": None}
    clf.training_ = {**clf.training_, "finetune": summary}
    history = History([{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.9, "seconds": 0.1}], best_epoch=1)
    return FinetuneResult(clf, history, summary)


def test_finetune_json_has_the_head_and_n_train_like_train(capsys, color_tree, tmp_path, monkeypatch):
    monkeypatch.setattr("handful.finetune.tune.finetune", _fake_finetune)
    with pytest.warns(UserWarning, match="No validation split"):  # the fake holds none out
        result = run_json(capsys, ["finetune", str(color_tree), "--out", str(tmp_path / "m"),
                                   "--epochs", "1", "--validation-fraction", "0.15"])
    assert_core_keys_as_saved(result)
    assert "finetune" in result and "backbone_tuned" in result  # its own keys stay


def test_evaluate_on_new_classes_tells_a_fewshot_model_to_use_a_support_set(capsys, protonet_model, glyphs,
                                                                             tmp_path):
    new = tmp_path / "new"  # two characters of an alphabet the model never saw
    for char in ("character01", "character02"):
        for path in (glyphs / "alphabet_A" / char).iterdir():
            (new / "alphabet_Z" / char).mkdir(parents=True, exist_ok=True)
            (new / "alphabet_Z" / char / path.name).write_bytes(path.read_bytes())
    line = one_error_line(capsys, ["evaluate", str(protonet_model), str(new), "--nested",
                                   "--out", str(tmp_path / "report")])
    # a meta-trained model is made for classes it never saw: re-training is the wrong fix
    assert "re-train" not in line, line
    assert f"handful predict {protonet_model} ITEMS --support SUPPORT_DIR --nested" in line, line
    assert f"handful episodes {new} --model {protonet_model} --nested --ways 2" in line, line


def test_evaluate_on_new_classes_still_tells_a_trained_model_to_retrain(capsys, color_tree, tmp_path):
    model = tmp_path / "m"
    assert main(["train", str(color_tree), "--out", str(model), "--backbone", "test_tiny_image",
                 "--head", "logistic", "--no-advise"]) == 0
    capsys.readouterr()
    test = make_color_tree(tmp_path / "test", 2, classes=("red", "green"))
    (test / "green").rename(test / "violet")  # a class the model does not know
    line = one_error_line(capsys, ["evaluate", str(model), str(test), "--out", str(tmp_path / "report")])
    assert "re-train with examples of them" in line and "--support" not in line, line


def test_kshot_fill_and_config_make_the_augmented_views(capsys, color_splits, tmp_path, monkeypatch):
    from handful.augment import views

    seen = []
    real = views.embed_views

    def spy(backbone, items, augment, *args, **kwargs):
        seen.append(augment.config)
        return real(backbone, items, augment, *args, **kwargs)

    monkeypatch.setattr(views, "embed_views", spy)
    config = tmp_path / "aug.json"
    config.write_text(json.dumps({"rotate": 7, "hflip": 0}))
    result = run_json(capsys, ["kshot", str(color_splits), "--backbone", "test_tiny_image", "--head", "logistic",
                               "--shots", "1", "--repeats", "1", "--augment-views", "1", "--fill", "constant",
                               "--config", str(config)])
    # the views kshot scores are made as `handful augment --fill constant --config aug.json` would make them
    assert seen and all(c.fill == "constant" and c.rotate == 7 and c.hflip == 0 for c in seen), seen
    assert result["augment"]["config_file"] == str(config) and result["augment"]["fill"] == "constant"


def test_kshot_refuses_a_bad_augmentation_config_in_one_line_naming_it(capsys, color_splits, tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"rotate": "lots"}))
    line = one_error_line(capsys, ["kshot", str(color_splits), "--backbone", "test_tiny_image",
                                   "--augment-views", "2", "--config", str(config)])
    assert str(config) in line and "rotate" in line, line


def test_missing_model_messages_name_the_same_commands_that_write_models(tmp_path):
    from handful.bundle.store import MODEL_WRITERS, read_model_json
    from handful.errors import DataNotFoundError
    from handful.export.runtime import check_model_exists

    # the runtime's hint and the bundle's come from one list, so a new command cannot be missing in one
    for check in (check_model_exists, read_model_json):
        with pytest.raises(DataNotFoundError) as err:
            check(tmp_path / "nope")
        assert MODEL_WRITERS in str(err.value), (check.__name__, str(err.value))
