"""SetFit-style contrastive fine-tuning: pairs, the split encoder, tuning, saving, the CLI."""

import json

import numpy as np
import pytest

from handful import load
from handful.cli.main import main
from handful.text.setfit import SetFitConfig, contrastive_finetune, make_pairs, split_encoder

SPORTS = ["the team won the match", "a great goal in the final game", "the player scored twice",
          "fans cheered the winning goal"]
COOKING = ["bake the bread in the oven", "add salt to the soup", "stir the sauce slowly",
           "chop onions for the soup"]
TEXTS, LABELS = SPORTS + COOKING, ["sports"] * 4 + ["cooking"] * 4


@pytest.mark.parametrize("n_iterations,max_pairs", [(20, 50), (2, 1000), (5, 7)])
def test_make_pairs_is_bounded_and_targets_say_same_or_different(n_iterations, max_pairs):
    labels = ["a"] * 3 + ["b"] * 3 + ["c"]  # "c" has no same-label partner
    a, b, target = make_pairs(labels, n_iterations, max_pairs, np.random.default_rng(0))
    assert len(a) == len(b) == len(target) == min(max_pairs, n_iterations * 13)
    same = np.array([labels[i] == labels[j] for i, j in zip(a, b)])
    assert np.array_equal(target == 1.0, same)
    assert not np.any(a == b)  # a sentence is never paired with itself


def test_make_pairs_gives_one_positive_and_one_negative_per_sentence_per_round():
    labels = ["a", "a", "b", "b"]
    _, _, target = make_pairs(labels, 10, 10_000, np.random.default_rng(0))
    assert target.sum() == len(target) / 2  # balanced, as SetFit's pair generation


def test_make_pairs_is_reproducible_from_the_seed():
    first = make_pairs(LABELS, 5, 30, np.random.default_rng(3))
    second = make_pairs(LABELS, 5, 30, np.random.default_rng(3))
    assert all(np.array_equal(x, y) for x, y in zip(first, second))


@pytest.mark.parametrize("field,value", [("max_pairs", 0), ("batch_pairs", -1), ("learning_rate", 0)])
def test_setfit_config_rejects_bad_settings_with_the_setting_named(field, value):
    from handful.errors import DataError

    with pytest.raises(DataError, match=field):
        SetFitConfig(**{field: value})


@pytest.fixture(scope="module")
def minilm():
    from handful.backbones import create_backbone

    return create_backbone("minilm")


def test_split_forward_equals_the_models_own_encode(minilm):
    encoder = split_encoder(minilm, n_tuned_layers=2)
    ours = encoder.embed(TEXTS)
    theirs = minilm.embed(TEXTS)
    assert np.abs(ours - theirs).max() < 1e-4  # same network, computed in two halves


def test_tuning_pulls_classes_apart_changes_only_the_top_and_restores(minilm):
    encoder = split_encoder(minilm, n_tuned_layers=2)
    snapshot = encoder.snapshot()
    frozen_before = minilm.model[0].auto_model.encoder.layer[0].attention.self.query.weight.clone()
    before = encoder.embed(TEXTS)
    report = contrastive_finetune(encoder, TEXTS, LABELS, SetFitConfig(max_pairs=96,
                                                                      learning_rate=2e-4))
    after = encoder.embed(TEXTS)

    def gap(X):  # mean cosine within a class minus across classes: what the loss optimizes
        same = np.equal.outer(LABELS, LABELS) & ~np.eye(len(LABELS), dtype=bool)
        cos = X @ X.T
        return cos[same].mean() - cos[~np.equal.outer(LABELS, LABELS)].mean()

    assert report.n_pairs == 96 and report.n_steps == 3
    assert gap(after) > gap(before) + 0.05
    bottom_layer = minilm.model[0].auto_model.encoder.layer[0].attention.self.query.weight
    assert bool((bottom_layer == frozen_before).all())  # the frozen bottom did not move
    encoder.restore(snapshot)
    assert np.abs(encoder.embed(TEXTS) - before).max() < 1e-6


def test_split_encoder_refuses_a_backbone_that_is_not_a_sentence_transformer():
    from handful.backbones import create_backbone
    from handful.errors import BackboneUnavailableError

    with pytest.raises(BackboneUnavailableError, match="--backbone minilm"):
        split_encoder(create_backbone("test_tiny_text"), 2)


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_train_finetune_saves_the_tuned_encoder_and_load_restores_it(tmp_path, text_csv, capsys):
    code = main(["train", str(text_csv), "--out", str(tmp_path / "m"), "--finetune",
                 "--max-pairs", "32", "--json"])
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert code == 0
    assert result["finetune"]["n_pairs"] == 32 and result["head"]["type"] == "logistic"
    assert "cv_accuracy" not in result["metrics"]  # the encoder saw every example: no CV claim
    assert result["label_check"] is None  # nor a list of doubtful labels: their answers side with the labels
    # nor a learning curve: measured on the tuned-on texts it forecast ~90% for a 64% model
    assert result["advice"] is None and "Data-need estimate skipped" in captured.err
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["backbone"]["weights_file"] == "backbone.safetensors"
    assert doc["backbone"]["info"]["weights"].startswith("tuned-")
    assert (tmp_path / "m" / "backbone.safetensors").stat().st_size > 10_000_000

    model = load(tmp_path / "m", cache=False)
    assert model._backbone.fingerprint == doc["backbone"]["fingerprint"]
    pretrained = load(tmp_path / "m", cache=False)
    from handful.backbones import create_backbone

    pretrained._backbone = create_backbone("minilm")  # same head on untuned embeddings
    probe = ["the goalkeeper saved a penalty", "simmer the stew"]
    assert not np.allclose(model.predict_proba(probe), pretrained.predict_proba(probe))
    assert model.predict(probe) == ["sports", "cooking"]


def test_kshot_finetune_with_the_auto_head_reports_the_logistic_head_it_used(text_csv, capsys):
    # the table said "head chosen by CV in each draw" and the JSON "auto", but after tuning the
    # encoder on the pool's texts no head is searched: logistic, as in training
    code = main(["kshot", str(text_csv), "--test", str(text_csv), "--shots", "2", "--repeats", "1",
                 "--finetune", "--max-pairs", "8", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out.strip().splitlines()[-1])["head"] == "logistic"
    assert "head logistic" in captured.err and "chosen by CV" not in captured.err


def test_kshot_finetune_reports_pairs_and_seconds_per_draw(tmp_path, text_csv, capsys):
    code = main(["kshot", str(text_csv), "--test", str(text_csv), "--shots", "2,3",
                 "--repeats", "2", "--finetune", "--max-pairs", "16", "--head", "prototype",
                 "--json"])
    result = _last_json(capsys)
    assert code == 0
    for k in ("2", "3"):
        assert result["shots"][k]["n_pairs"] == [16, 16]
        assert len(result["shots"][k]["finetune_seconds"]) == 2
        assert 0.0 <= result["shots"][k]["mean"] <= 1.0
    assert result["finetune"]["max_pairs"] == 16


@pytest.mark.parametrize("argv,phrase", [
    (["--finetune", "--backbone", "e5_small"], "cannot be tuned"),
    (["--unlabeled", "{more}"], "--backbone word2vec"),
    (["--finetune", "--backbone", "word2vec", "--unlabeled", "{more}"], "use one of them"),
])
def test_text_options_fail_with_a_message_that_names_the_fix(tmp_path, text_csv, capsys, argv, phrase):
    more = tmp_path / "more.txt"
    more.write_text("some unlabeled sentence\nanother one\n")
    argv = [a.replace("{more}", str(more)) for a in argv]
    code = main(["train", str(text_csv), "--out", str(tmp_path / "m"), *argv])
    assert code == 2
    assert phrase in capsys.readouterr().err


def test_finetune_on_images_points_to_the_image_command(tmp_path, color_tree, capsys):
    code = main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--finetune",
                 "--backbone", "test_tiny_image"])
    assert code == 2
    assert "handful finetune" in capsys.readouterr().err


def test_finetune_with_word2vec_is_refused_before_any_word_vectors_are_trained(tmp_path, text_csv, capsys):
    code = main(["train", str(text_csv), "--out", str(tmp_path / "m"), "--finetune", "--backbone", "word2vec"])
    captured = capsys.readouterr()
    assert code == 2 and "word2vec:" not in captured.out + captured.err  # no training first
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "'word2vec'" in err[0] and "--backbone minilm" in err[0], err
