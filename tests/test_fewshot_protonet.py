"""Meta-training on synthetic glyphs, the model directory, support-set prediction, the runs."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import handful
from fewshot_glyphs import make_glyph_tree, make_runs
from handful.cli.main import main
from handful.fewshot.episodes import EpisodeSampler, evaluate_episodes
from handful.fewshot.protonet import ProtoNetConfig, jitter
from handful.fewshot.sources import load_arrays, restrict, scan_many
from handful.fewshot.training import train_model

TRAIN_ARGS = ["--nested", "--split-by-parent", "--eval-fraction", "0.25", "--ways", "8", "--queries", "3",
              "--episodes", "80", "--minutes", "2"]


@pytest.fixture(scope="module")
def glyphs(tmp_path_factory) -> Path:
    return make_glyph_tree(tmp_path_factory.mktemp("glyphs") / "bg", n_alphabets=4, n_chars=6,
                           n_drawings=8)


@pytest.fixture(scope="module")
def model(glyphs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "protonet"
    assert main(["protonet", "train", str(glyphs), "--out", str(out), "--backbone", "test_tiny_conv",
                 *TRAIN_ARGS, "--json"]) == 0
    return out


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def heldout_accuracy(encoder_arg: list[str], glyphs: Path, capsys) -> float:
    assert main(["episodes", str(glyphs), "--nested", "--split-by-parent", "--ways", "3", "--queries",
                 "5", "--episodes", "100", *encoder_arg, "--json"]) == 0
    return last_json(capsys)["accuracy"]


def test_meta_training_beats_the_same_encoder_untrained_on_held_out_alphabets(model, glyphs, capsys):
    trained = heldout_accuracy(["--model", str(model)], glyphs, capsys)
    untrained = heldout_accuracy(["--backbone", "test_tiny_conv"], glyphs, capsys)
    # same 100 episodes for both; 80 episodes of meta-training reliably add > 10 points here
    assert trained > untrained + 0.10, (trained, untrained)


def test_model_directory_holds_tuned_weights_and_the_class_split(model):
    doc = json.loads((model / "model.json").read_text())
    assert (model / "backbone.safetensors").is_file()
    assert doc["backbone"]["info"]["weights"].startswith("tuned-")
    fewshot = doc["fewshot"]
    assert {c.split("/")[0] for c in fewshot["heldout_classes"]} == {"alphabet_D"}  # 1 of 4 parents
    assert set(fewshot["seen_classes"]).isdisjoint(fewshot["heldout_classes"])
    assert fewshot["history"]["episodes"] == 80 and fewshot["history"]["validation"]


def test_loaded_model_embeds_exactly_like_the_trained_one(model, glyphs):
    clf = handful.load(model)
    paths = [str(p) for p in sorted(glyphs.rglob("*.png"))[:5]]
    again = handful.load(model)
    np.testing.assert_array_equal(clf.embed(paths, "image")[0], again.embed(paths, "image")[0])
    assert clf.head_.metric == "euclidean"


def support_and_queries(glyphs: Path, tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    """2 support drawings of 3 held-out characters, 3 query drawings each and one broken file."""
    support, queries = tmp_path / "support", tmp_path / "queries"
    chars = sorted((glyphs / "alphabet_D").iterdir())[:3]
    for char in chars:
        (support / char.name).mkdir(parents=True)
        (support / char.name / "a.png").write_bytes((char / "00.png").read_bytes())
        (support / char.name / "b.png").write_bytes((char / "01.png").read_bytes())
    queries.mkdir()
    for char in chars:
        for d in ("05", "06", "07"):
            (queries / f"{char.name}_{d}.png").write_bytes((char / f"{d}.png").read_bytes())
    (queries / "broken.png").write_bytes(b"not an image")
    return support, queries, chars


def test_predict_with_a_support_folder_names_new_classes(model, glyphs, tmp_path, capsys):
    support, queries, chars = support_and_queries(glyphs, tmp_path)
    assert main(["predict", str(model), str(queries), "--support", str(support), "--json"]) == 0
    result = last_json(capsys)
    labels = {Path(p["input"]).name: p["label"] for p in result["predictions"]}
    assert set(labels.values()) <= {c.name for c in chars}  # only the support's classes
    correct = sum(name.startswith(label) for name, label in labels.items())
    assert correct >= 6, labels  # 9 queries, 3 classes (chance 3)
    assert [Path(s["path"]).name for s in result["skipped"]] == ["broken.png"]
    # the same in three lines of Python
    clf = handful.load(model)
    clf.fit_support(support)
    assert clf.predict([str(queries / "character01_05.png")])[0] == labels["character01_05.png"]


def test_unreadable_support_files_are_reported_and_a_class_left_empty_names_its_file(model, glyphs, tmp_path,
                                                                                      capsys):
    support, queries, chars = support_and_queries(glyphs, tmp_path)
    (support / chars[0].name / "zero.png").write_bytes(b"")
    assert main(["predict", str(model), str(queries), "--support", str(support), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert [Path(s["path"]).name for s in result["support_skipped"]] == ["zero.png"]
    assert "support file skipped" in captured.err and "zero.png" in captured.err
    for good in (support / chars[1].name).iterdir():  # now a class with nothing readable left
        good.write_bytes(b"not a png")
    assert main(["predict", str(model), str(queries), "--support", str(support)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and chars[1].name in err[0] and "e.g." in err[0] and "see the report" not in err[0]


def test_a_support_set_of_the_other_modality_is_refused(model, text_csv, capsys):
    assert main(["predict", str(model), str(text_csv), "--support", str(text_csv)]) == 2
    err = capsys.readouterr().err
    assert "embeds images, but the support set" in err and "holds texts" in err


def test_onnx_export_of_a_support_set_predicts_as_the_model_does(model, glyphs, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    support, queries, chars = support_and_queries(glyphs, tmp_path)
    out = tmp_path / "new_characters.onnx"
    assert main(["export", str(model), "--support", str(support), "--out", str(out), "--sample",
                 str(queries), "--json"]) == 0
    report = last_json(capsys)
    assert report["metadata"]["handful.classes"] == [c.name for c in chars]
    assert report["metadata"]["handful.backbone"]["info"]["name"] == "test_tiny_conv"
    assert report["max_abs_diff_embeddings"] < 1e-4  # the model's 3 px shifts run inside the graph
    assert main(["predict", str(out), str(queries), "--runtime", "onnx", "--top", "2", "--json"]) == 0
    exported = last_json(capsys)["predictions"]
    assert main(["predict", str(model), str(queries), "--support", str(support), "--top", "2", "--json"]) == 0
    direct = last_json(capsys)["predictions"]
    assert [p["label"] for p in exported] == [p["label"] for p in direct] and len(direct) == 9
    for a, b in zip(exported, direct):  # euclidean prototypes, softmax at temperature 1
        np.testing.assert_allclose([t["probability"] for t in a["top"]], [t["probability"] for t in b["top"]],
                                   atol=0.02)  # the torch path runs bf16 where the CPU has it (0.007 seen)


def test_transductive_predict_answers_for_the_whole_batch_as_python_does(model, glyphs, tmp_path, capsys):
    support, queries, chars = support_and_queries(glyphs, tmp_path)
    assert main(["predict", str(model), str(queries), "--support", str(support), "--transductive",
                 "--json"]) == 0
    result = last_json(capsys)
    labels = {Path(p["input"]).name: p["label"] for p in result["predictions"]}
    assert result["transductive"] and len(labels) == 9
    assert sum(name.startswith(label) for name, label in labels.items()) >= 6, labels  # chance 3 of 9
    assert [Path(s["path"]).name for s in result["skipped"]] == ["broken.png"]
    clf = handful.load(model).fit_support(support)
    paths = sorted(str(p) for p in queries.glob("character*.png"))
    assert clf.predict(paths, transductive=True) == [labels[Path(p).name] for p in paths]


def test_transductive_predict_moves_its_progress_bar_while_embedding(model, glyphs, tmp_path, monkeypatch):
    from contextlib import contextmanager

    from handful.classifier import Classifier
    from handful.cli.output import Output

    events: list = []

    @contextmanager
    def recording_progress(self, description, total):
        yield lambda n: events.append(n)

    answer = Classifier.embed_and_predict_items  # what the transductive run calls

    def answering(self, *args, **kwargs):
        result = answer(self, *args, **kwargs)
        events.append("answered")
        return result

    monkeypatch.setattr(Output, "progress", recording_progress)
    monkeypatch.setattr(Classifier, "embed_and_predict_items", answering)
    support, queries, _ = support_and_queries(glyphs, tmp_path)
    assert main(["predict", str(model), str(queries), "--support", str(support), "--transductive"]) == 0
    answered = events.index("answered")
    # the bar moves before the one answer for the batch (it used to jump at the end), and ends full
    assert answered > 0 and sum(events[:answered]) == 10 and not events[answered + 1:], events


def test_transductive_needs_a_support_set_and_the_euclidean_metric(model, glyphs, capsys):
    assert main(["predict", str(model), str(glyphs / "alphabet_D"), "--transductive"]) == 2
    assert "pass --support DIR" in capsys.readouterr().err
    assert main(["episodes", str(glyphs), "--nested", "--backbone", "test_tiny_conv", "--transductive",
                 "--episodes", "2"]) == 2  # an as-is backbone scores with cosine
    assert "euclidean metric" in capsys.readouterr().err


def test_transductive_episodes_and_runs_report_it(model, glyphs, tmp_path, capsys):
    args = ["episodes", str(glyphs), "--nested", "--split-by-parent", "--model", str(model), "--ways", "3",
            "--queries", "5", "--episodes", "40", "--json"]
    assert main(args) == 0
    inductive = last_json(capsys)
    assert main([*args, "--transductive"]) == 0
    transductive = last_json(capsys)
    assert transductive["transductive"] and not inductive["transductive"]
    # same 40 episodes; refining with 15 queries should not lose more than noise on this easy set
    assert transductive["accuracy"] >= inductive["accuracy"] - 0.05, (inductive, transductive)
    runs = make_runs(tmp_path / "runs", n_runs=2, n_classes=5)
    assert main(["omniglot-runs", str(runs), "--model", str(model), "--transductive", "--json"]) == 0
    result = last_json(capsys)
    assert result["transductive"] and result["n"] == 10


def test_episodes_with_a_model_leave_out_the_classes_it_was_trained_on(model, glyphs, capsys):
    assert main(["episodes", str(glyphs), "--nested", "--model", str(model), "--ways", "3",
                 "--queries", "5", "--episodes", "5", "--json"]) == 0
    assert last_json(capsys)["n_classes"] == 6  # only alphabet_D's 6 characters


def test_episodes_refuse_a_split_that_overlaps_the_training_classes(model, glyphs, capsys):
    code = main(["episodes", str(glyphs), "--nested", "--split-by-parent", "--seed", "2",
                 "--model", str(model), "--episodes", "5"])
    assert code == 2
    assert "same --eval-fraction" in capsys.readouterr().err


def test_rotations_count_each_quarter_turn_of_a_held_out_class_as_a_class(model, glyphs, capsys):
    args = ["episodes", str(glyphs), "--nested", "--split-by-parent", "--model", str(model), "--ways", "3",
            "--queries", "5", "--episodes", "40", "--json"]
    assert main([*args, "--rotations"]) == 0
    rotated = last_json(capsys)
    assert rotated["rotations"] and rotated["n_classes"] == 24  # alphabet_D's 6 characters x 4
    assert main([*args, "--rotations", "--finetune-steps", "2", "--episodes", "3"]) == 0
    assert last_json(capsys)["n_classes"] == 24


def test_test_time_finetuning_runs_per_episode_and_reports_it(model, glyphs, capsys):
    assert main(["episodes", str(glyphs), "--nested", "--split-by-parent", "--model", str(model),
                 "--ways", "3", "--queries", "5", "--episodes", "5", "--finetune-steps", "3",
                 "--json"]) == 0
    result = last_json(capsys)
    assert result["finetune_steps"] == 3 and result["n_episodes"] == 5


def test_omniglot_runs_report_error_per_run_and_skip_a_broken_test_item(model, tmp_path, capsys):
    runs = make_runs(tmp_path / "runs", n_runs=2, n_classes=5)
    (runs / "run02" / "test" / "item03.png").write_bytes(b"\x89PNG broken")
    assert main(["omniglot-runs", str(runs), "--model", str(model), "--json"]) == 0
    result = last_json(capsys)
    assert [r["run"] for r in result["runs"]] == ["run01", "run02"]
    assert [r["n"] for r in result["runs"]] == [5, 4]
    assert result["error"] == pytest.approx(result["errors"] / 9)
    assert any(r["method"] == "People" and r["error"] == 0.045 for r in result["references"])
    assert result["skipped"][0]["path"].endswith("item03.png")


def test_malformed_runs_are_skipped_and_listed_while_the_good_ones_are_scored(model, tmp_path, capsys):
    runs = make_runs(tmp_path / "runs", n_runs=5, n_classes=3)
    (runs / "run02" / "class_labels.txt").unlink()  # a run without its answers
    (runs / "run03" / "class_labels.txt").write_bytes(b"\xff\xfe not text\n")
    (runs / "run04" / "class_labels.txt").write_text("")
    for item in (runs / "run05" / "test").iterdir():  # answers, but no test drawing to score
        item.unlink()
    assert main(["omniglot-runs", str(runs), "--model", str(model), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["n_runs"] == 1 and [r["run"] for r in result["runs"]] == ["run01"]
    reasons = {Path(s["path"]).name: s["reason"] for s in result["skipped"]}
    assert "no class_labels.txt" in reasons["run02"] and "not UTF-8" in reasons["run03"]
    assert "empty" in reasons["run04"] and "no readable test item" in reasons["run05"]
    assert "skipped" in captured.err and "run03" in captured.err  # and the user is told, not only the JSON
    # the same run alone: nothing left to score is a one-line error, not a division by zero
    assert main(["omniglot-runs", str(runs / "run05"), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "No run could be scored" in err and "Traceback" not in err


def test_runs_folder_without_labels_is_a_one_line_error(tmp_path, model, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["omniglot-runs", str(tmp_path / "empty"), "--model", str(model)]) == 2
    assert "class_labels.txt" in capsys.readouterr().err


def test_gaussian_variant_trains_and_scores_with_its_confidences(glyphs, tmp_path):
    config = ProtoNetConfig(n_way=8, n_query=3, max_episodes=40, max_minutes=1, val_every=20)
    report = train_model([glyphs], tmp_path / "gauss", config, variant="gaussian",
                         backbone="test_tiny_conv_gaussian", nested=True, split_by_parent=True,
                         log=lambda msg: None)
    assert report["metric"] == "gaussian" and report["history"]["episodes"] == 40
    from handful.fewshot.encoder import FewShotEncoder

    encoder = FewShotEncoder.from_model(tmp_path / "gauss")
    assert encoder.scorer()[0] == "gaussian"
    examples = restrict(scan_many([glyphs], nested=True)[0], report["heldout_classes"])
    embeddings, failures = encoder.embed_items(examples.items)
    assert embeddings.shape == (len(examples), encoder.backbone.dim + 1) and not failures
    result = evaluate_episodes(embeddings, EpisodeSampler(examples.labels, 3, 1, 5), 30,
                               encoder.scorer()[1])
    assert result["accuracy"] > 1 / 3 + 0.15  # well above chance after 40 episodes


def test_gaussian_variant_refuses_an_encoder_without_confidence(glyphs, tmp_path):
    with pytest.raises(handful.HandfulError, match="confidence output"):
        train_model([glyphs], tmp_path / "g", ProtoNetConfig(max_episodes=1), variant="gaussian",
                    backbone="test_tiny_conv", nested=True, log=lambda msg: None)


def test_model_and_backbone_together_is_a_user_error(model, glyphs, capsys):
    assert main(["episodes", str(glyphs), "--nested", "--model", str(model), "--backbone",
                 "test_tiny_conv"]) == 2
    assert "not both" in capsys.readouterr().err


def test_unreadable_training_image_is_skipped_and_listed(tmp_path):
    root = make_glyph_tree(tmp_path / "bg", n_alphabets=2, n_chars=3, n_drawings=5)
    (root / "alphabet_A" / "character01" / "99.png").write_bytes(b"\x89PNG truncated")
    examples, _ = scan_many([root], nested=True)
    from handful.backbones import create_backbone

    arrays, kept = load_arrays(create_backbone("test_tiny_conv"), examples)
    assert len(arrays) == len(kept) == 30
    assert any(p.endswith("99.png") for p, _ in kept.skipped)


@pytest.mark.parametrize("command", ["episodes", "omniglot-runs"])
def test_finetune_steps_need_a_conv4_encoder_and_a_non_negative_count(command, glyphs, capsys):
    data = ["--nested"] if command == "episodes" else []
    assert main([command, str(glyphs), *data, "--backbone", "test_tiny_image",
                 "--finetune-steps", "2"]) == 2
    assert "needs a Conv-4 encoder" in capsys.readouterr().err
    assert main([command, str(glyphs), *data, "--backbone", "test_tiny_conv",
                 "--finetune-steps", "-1"]) == 2
    assert "must be >= 0" in capsys.readouterr().err


def test_omniglot_runs_with_test_time_finetuning_classify_every_item(model, tmp_path, capsys):
    runs = make_runs(tmp_path / "runs", n_runs=2, n_classes=4)
    assert main(["omniglot-runs", str(runs), "--model", str(model), "--finetune-steps", "2",
                 "--json"]) == 0
    result = last_json(capsys)
    assert result["finetune_steps"] == 2 and result["n"] == 8  # 2 runs x 4 test items, none lost
    assert 0 <= result["errors"] <= 8


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_both_precisions_learn_and_save_loadable_weights(precision, glyphs, tmp_path):
    config = ProtoNetConfig(n_way=8, n_query=3, max_episodes=60, max_minutes=1, val_every=20,
                            precision=precision)
    report = train_model([glyphs], tmp_path / precision, config, backbone="test_tiny_conv", nested=True,
                         split_by_parent=True, eval_fraction=0.25)
    curve = [v["accuracy"] for v in report["history"]["validation"]]
    # random glyph classes: an untrained encoder scores near 1/n_way on validation episodes; 60
    # episodes lift it well above, in float32 and under bf16 autocast alike
    assert max(curve) > 0.5, curve
    clf = handful.load(tmp_path / precision)  # channels-last weights were saved contiguous
    paths = [str(p) for p in sorted(glyphs.rglob("*.png"))[:3]]
    assert clf.embed(paths, "image")[0].shape == (3, clf._backbone.dim)


def test_unknown_precision_is_a_one_line_error(glyphs, tmp_path, capsys):
    assert main(["protonet", "train", str(glyphs), "--out", str(tmp_path / "m"), "--backbone",
                 "test_tiny_conv", "--precision", "fp8", "--json"]) == 2
    assert "Unknown --precision 'fp8'" in capsys.readouterr().err


def test_flips_make_mirror_images_new_classes_next_to_the_rotations():
    from handful.fewshot.protonet import EpisodeBatcher

    arrays = np.zeros((6, 8, 8), dtype=np.uint8)
    arrays[:, 1, :3] = 255  # an asymmetric mark: every rotation and mirror differs
    labels = np.array(["a", "a", "a", "b", "b", "b"], dtype=object)
    to_tensor = lambda a: torch.from_numpy(np.stack(a)).float().div(255).unsqueeze(1)  # noqa: E731
    config = ProtoNetConfig(n_way=16, n_shot=1, n_query=1, rotations=True, flips=True, jitter=0)
    batcher = EpisodeBatcher(arrays, labels, to_tensor, config)
    assert len(batcher.pool) == 2 * 8  # 2 characters x 4 rotations x 2 mirror images
    x, _, y, pool_y = batcher.sample()
    views = {tuple(x[i, 0].flatten().tolist()) for i in range(len(x))}
    assert len(views) == 8  # both characters look alike here, so 8 distinct views, not 4


def test_augmentation_options_reach_the_saved_training_config(glyphs, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["protonet", "train", str(glyphs), "--out", str(out), "--backbone", "test_tiny_conv",
                 "--nested", "--ways", "8", "--queries", "3", "--episodes", "20", "--flips", "--jitter",
                 "1.5", "--elastic", "2", "--aux-weight", "0.5", "--precision", "fp32", "--json"]) == 0
    config = json.loads((out / "model.json").read_text())["fewshot"]["config"]
    assert (config["flips"], config["jitter"], config["elastic"], config["aux_weight"], config["precision"]) == (
        True, 1.5, 2.0, 0.5, "fp32")


def test_elastic_warp_moves_ink_by_at_most_its_pixels_and_zero_changes_nothing():
    x = torch.zeros(64, 1, 28, 28)
    x[..., 14, 14] = 1.0  # one dot in the middle of every image
    same = jitter(x, torch.Generator().manual_seed(0), 0.0, elastic=0.0)
    torch.testing.assert_close(same, x, atol=1e-6, rtol=0)  # identity grid: the dot stays
    warped = jitter(x, torch.Generator().manual_seed(0), 0.0, elastic=2.0)
    grid = torch.arange(28.0)
    mass = warped.sum((-1, -2))[:, 0]
    cy = (warped[:, 0].sum(-1) * grid).sum(-1) / mass
    cx = (warped[:, 0].sum(-2) * grid).sum(-1) / mass
    shift = torch.sqrt((cx - 14) ** 2 + (cy - 14) ** 2)
    # the field's offsets are at most 2 px per axis (bicubic can overshoot a little): <= 2 * sqrt(2) + 0.5
    assert shift.max() <= 2 * 2 ** 0.5 + 0.5, shift.max()
    assert (shift > 0.3).float().mean() > 0.5  # and most dots did move


def test_extra_training_classes_join_the_episodes_but_not_the_split_or_the_model(glyphs, tmp_path,
                                                                                 monkeypatch):
    import handful.fewshot.training as training

    extra = make_glyph_tree(tmp_path / "extra", n_alphabets=2, n_chars=5, n_drawings=6, seed=1)
    seen_labels = []
    real = training.train_protonet

    def spy(module, encode, to_tensor, train, *args, **kwargs):
        seen_labels.append(set(train[1]))
        return real(module, encode, to_tensor, train, *args, **kwargs)

    monkeypatch.setattr(training, "train_protonet", spy)
    config = ProtoNetConfig(n_way=8, n_query=3, max_episodes=10, precision="fp32")
    kwargs = dict(backbone="test_tiny_conv", nested=True, split_by_parent=True, eval_fraction=0.25,
                  log=lambda _: None)
    plain = train_model([glyphs], tmp_path / "plain", config, **kwargs)
    more = train_model([glyphs], tmp_path / "more", config, extra_train=[extra], **kwargs)
    # the split of DATA is the same with or without the extra folder
    assert (more["heldout_classes"], more["val_classes"]) == (plain["heldout_classes"], plain["val_classes"])
    assert more["extra_train"] == {"data": [str(extra)], "classes": 10, "images": 60}
    added = seen_labels[1] - seen_labels[0]
    assert added == {f"extra:alphabet_{a}/character{c:02d}" for a in "AB" for c in range(1, 6)}
    # the saved model's classes are DATA's training classes only
    classes = [str(c) for c in handful.load(tmp_path / "more").classes_]
    assert classes == [str(c) for c in handful.load(tmp_path / "plain").classes_]
    assert not any(c.startswith("extra:") for c in classes)


@pytest.mark.parametrize("share, expected", [(0.25, 2), (0.0, 0), (1.0, 8)])
def test_extra_share_fixes_how_many_extra_classes_each_episode_draws(share, expected):
    from handful.fewshot.protonet import EXTRA_PREFIX, EpisodeBatcher

    labels = np.array([f"c{i}" for i in range(10) for _ in range(2)]
                      + [f"{EXTRA_PREFIX}g{i}" for i in range(30) for _ in range(2)], dtype=object)
    arrays = np.zeros((len(labels), 4, 4), dtype=np.uint8)
    to_tensor = lambda a: torch.from_numpy(np.stack(a)).float().unsqueeze(1)  # noqa: E731
    config = ProtoNetConfig(n_way=8, n_shot=1, n_query=1, rotations=False, jitter=0, extra_share=share)
    batcher = EpisodeBatcher(arrays, labels, to_tensor, config)
    for _ in range(20):
        picks = batcher.sample()[3].unique().tolist()
        n_extra = sum(batcher.pool[p][0] >= 10 for p in picks)  # classes sort main c* before extra:*
        assert len(picks) == 8 and n_extra == expected
    # without a share, extra classes come in proportion to their number (30 of 40 -> 6 of 8 on average)
    batcher = EpisodeBatcher(arrays, labels, to_tensor, ProtoNetConfig(n_way=8, n_shot=1, n_query=1,
                                                                       rotations=False, jitter=0))
    mean = np.mean([sum(batcher.pool[p][0] >= 10 for p in batcher.sample()[3].unique().tolist())
                    for _ in range(200)])
    assert 5.5 < mean < 6.5


def test_missing_extra_training_folder_is_a_one_line_error_before_any_training(glyphs, tmp_path, capsys):
    code = main(["protonet", "train", str(glyphs), "--out", str(tmp_path / "m"), "--nested",
                 "--extra-train", str(tmp_path / "nope"), "--json"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and str(tmp_path / "nope") in err
    assert not (tmp_path / "m").exists()


def test_patience_waits_for_the_last_learning_rate_step():
    # A frozen encoder (lr 0, no batch norm) never improves on validation. Patience 2 alone would
    # stop at episode 3; it may only act once the lr has taken its last of 3 steps (episode 30 of
    # 40), so a fast encoder still reaches the lower learning rates of its budget.
    from handful.fewshot.protonet import train_protonet

    rng = np.random.default_rng(0)
    arrays = (rng.random((48, 8, 8)) * 255).astype(np.uint8)
    labels = np.repeat([f"c{i}" for i in range(8)], 6).astype(object)
    to_tensor = lambda a: torch.from_numpy(np.stack(a)).float().div(255).unsqueeze(1)  # noqa: E731
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4))
    config = ProtoNetConfig(n_way=4, n_query=2, max_episodes=40, lr=0.0, val_every=1, val_ways=3,
                            val_episodes=5, patience=2, jitter=0, rotations=False, precision="fp32")
    history = train_protonet(module, module, to_tensor, (arrays[:32], labels[:32]),
                             (arrays[32:], labels[32:]), config)
    assert history.stopped_by == "patience"
    assert history.episodes == 31  # step 3 starts at episode 30: 2 validations without a gain
    assert history.best_episode == 1


@pytest.mark.parametrize("option,value", [("--minutes", "0"), ("--shots", "0"), ("--queries", "0"),
                                          ("--episodes", "0"), ("--episodes", "-5"), ("--ways", "1")])
def test_protonet_train_refuses_settings_that_cannot_train_before_reading_data(option, value, glyphs,
                                                                               tmp_path, capsys):
    args = ["protonet", "train", str(glyphs), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_conv",
            *TRAIN_ARGS, option, value, "--json"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].count(option) == 1 and "Traceback" not in err[0], err
    assert not (tmp_path / "m").exists()


def test_an_existing_out_is_refused_before_training_not_after(model, glyphs, capsys, monkeypatch):
    import handful.fewshot.training as training

    def never(*args, **kwargs):  # the refusal must come before any episode is run
        raise AssertionError("trained although --out exists")

    monkeypatch.setattr(training, "train_protonet", never)
    before = (model / "model.json").read_bytes()
    assert main(["protonet", "train", str(glyphs), "--out", str(model), "--backbone", "test_tiny_conv",
                 *TRAIN_ARGS]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (model / "model.json").read_bytes() == before  # and the model there is untouched


def test_protonet_train_with_every_class_smaller_than_an_episode_is_a_one_line_error(glyphs, tmp_path,
                                                                                   capsys):
    # 8 drawings per character: 6 shots + 3 queries leave no class to draw a training episode from
    args = ["protonet", "train", str(glyphs), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_conv",
            *TRAIN_ARGS, "--shots", "6", "--json"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "9 images" in err[0] and "--shots" in err[0], err
    assert not (tmp_path / "m").exists()


def test_extra_training_classes_that_are_held_out_are_refused_before_training(glyphs, tmp_path):
    # the same folder as DATA and --extra-train: the held-out alphabet would be trained on, and
    # its "held-out" accuracy reported as if it had never been seen
    config = ProtoNetConfig(n_way=8, n_query=3, max_episodes=1, precision="fp32")
    with pytest.raises(handful.HandfulError, match=r"alphabet_D/character01.*--extra-train") as info:
        train_model([glyphs], tmp_path / "m", config, backbone="test_tiny_conv", nested=True,
                    split_by_parent=True, eval_fraction=0.25, extra_train=[glyphs], log=lambda _: None)
    assert "held out" in str(info.value)
    assert not (tmp_path / "m").exists()


def test_validation_uses_the_classes_with_enough_images_and_leaves_out_the_others():
    # 3 of the 5 validation classes have 1 image: too few for a 1-shot episode with a query.
    # Validation runs 2-way on the others instead of failing with a --ways message it never took.
    from handful.fewshot.protonet import train_protonet

    rng = np.random.default_rng(0)
    arrays = (rng.random((32 + 7, 8, 8)) * 255).astype(np.uint8)
    labels = np.array([f"t{i}" for i in range(8) for _ in range(4)]
                      + ["v0", "v0", "v1", "v1", "v2", "v3", "v4"], dtype=object)
    to_tensor = lambda a: torch.from_numpy(np.stack(a)).float().div(255).unsqueeze(1)  # noqa: E731
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4))
    config = ProtoNetConfig(n_way=4, n_query=2, max_episodes=2, val_every=1, val_ways=20, val_episodes=5,
                            jitter=0, rotations=False, precision="fp32")
    history = train_protonet(module, module, to_tensor, (arrays[:32], labels[:32]),
                             (arrays[32:], labels[32:]), config)
    assert len(history.validation) == 2  # one per episode, 2-way over v0 and v1


def test_training_classes_too_small_for_an_episode_are_named_in_a_warning(tmp_path):
    from handful.fewshot.training import split_for_training

    root = make_glyph_tree(tmp_path / "bg", n_alphabets=1, n_chars=5, n_drawings=8)
    classes = [f"alphabet_A/character{c:02d}" for c in range(1, 6)]
    small = split_for_training(classes, 0.2, False, 0, 0)["train"][0]  # one of the 4 training classes
    for drawing in sorted((root / small).iterdir())[2:]:
        drawing.unlink()  # 2 drawings left: fewer than 1 shot + 3 queries
    config = ProtoNetConfig(n_way=3, n_query=3, max_episodes=1, precision="fp32")
    with pytest.warns(UserWarning, match=rf"1 of the 4 training classes \({small}\) .*fewer than 4 images"):
        train_model([root], tmp_path / "m", config, backbone="test_tiny_conv", nested=True, val_fraction=0,
                    eval_fraction=0.2, log=lambda _: None)


def test_a_held_out_report_left_out_for_small_classes_is_a_warning_and_in_the_json(glyphs, tmp_path, capsys):
    # 8 drawings per held-out character, fewer than 1 shot + 15 queries: the report was left out
    # without a word, and the JSON's "heldout" was just {}
    args = ["protonet", "train", str(glyphs), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_conv",
            *TRAIN_ARGS, "--episodes", "2", "--json"]
    expected = r"No held-out accuracy.*16 drawings or more.*smallest, 'alphabet_D/character0\d', has 8"
    with pytest.warns(UserWarning, match=expected) as record:
        assert main(args) == 0
    assert len([w for w in record if "held-out" in str(w.message)]) == 1
    result = last_json(capsys)
    assert result["heldout"] == {} and "16 drawings or more" in result["heldout_not_reported"]
    saved = json.loads((tmp_path / "m" / "model.json").read_text())["fewshot"]
    assert saved["heldout_not_reported"] == result["heldout_not_reported"]


def test_predict_without_a_support_set_says_a_fewshot_model_answers_among_its_training_classes(
        model, glyphs, capsys, tmp_path):
    # it answered 'alphabet1/char3, p 0.11' with no hint that new classes need --support
    query = next(glyphs.rglob("*.png"))
    assert main(["predict", str(model), str(query), "--json"]) == 0
    captured = capsys.readouterr()
    assert "is a few-shot model and no --support was given" in captured.err
    assert "--support DIR" in captured.err
    json.loads(captured.out.strip().splitlines()[-1])  # the JSON stays the last stdout line
    assert main(["train", str(glyphs), "--nested", "--out", str(tmp_path / "plain"), "--backbone",
                 "test_tiny_image", "--head", "prototype", "--no-advise"]) == 0
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "plain"), str(query)]) == 0
    plain = capsys.readouterr()
    assert "few-shot" not in plain.out + plain.err  # an ordinary model: no note
