"""The few-shot commands under odd input: shapes that cannot be drawn, layouts read the wrong way,
splits that leave too little, and short training budgets."""

import json
import re
import warnings
from pathlib import Path

import pytest

from fewshot_glyphs import character_strokes, draw_glyph, make_glyph_tree
from handful.cli.main import main
from handful.fewshot.encoder import FewShotEncoder
from handful.fewshot.protonet import ProtoNetConfig
from handful.fewshot.sources import scan_many
from handful.fewshot.training import train_model


def make_flat_glyphs(root: Path, n_chars: int = 4, n_drawings: int = 8) -> Path:
    """root/charN/NN.png: one folder per character, no parent folders."""
    for c in range(n_chars):
        folder = root / f"char{c}"
        folder.mkdir(parents=True)
        for d in range(n_drawings):
            draw_glyph(character_strokes(500 + c), d).save(folder / f"{d:02d}.png")
    return root


@pytest.fixture(scope="module")
def nested(tmp_path_factory) -> Path:
    return make_glyph_tree(tmp_path_factory.mktemp("odd") / "nested", n_alphabets=3, n_chars=4, n_drawings=8)


@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> Path:
    return make_flat_glyphs(tmp_path_factory.mktemp("odd") / "flat")


@pytest.fixture
def embed_calls(monkeypatch) -> list[int]:
    """How many items each FewShotEncoder.embed_items / embed_arrays call was given."""
    calls: list[int] = []

    def counting(real):
        def embed(self, items, *args, **kwargs):
            calls.append(len(items))
            return real(self, items, *args, **kwargs)
        return embed

    for name in ("embed_items", "embed_arrays"):
        monkeypatch.setattr(FewShotEncoder, name, counting(getattr(FewShotEncoder, name)))
    return calls


EPISODES = ["--backbone", "test_tiny_conv", "--episodes", "3"]


@pytest.mark.parametrize(("args", "match"), [
    (["--shots", "0"], "--shots and --queries 1 or more"),
    (["--ways", "1"], "--ways 2 or more"),
    (["--ways", "5", "--queries", "3"], "5-way episodes need 5 classes.*found 4"),  # 4 classes only
    (["--ways", "2", "--queries", "15"], "at least 16 examples.*found 0"),  # 8 drawings per class
    (["--ways", "20", "--queries", "3", "--rotations"], "20-way episodes need 20 classes.*found 16"),
])
def test_episodes_that_cannot_be_drawn_fail_before_anything_is_embedded(flat, embed_calls, capsys, args, match):
    # the shape and the class sizes are known from the labels: embedding a large set first (minutes on
    # Omniglot) only to refuse afterwards wastes the user's time
    assert main(["episodes", str(flat), *EPISODES, *args, "--json"]) == 2
    captured = capsys.readouterr()
    assert list(json.loads(captured.out)) == ["error", "exit_code"]  # --json: only the error object
    assert re.search(match, captured.err), captured.err
    assert embed_calls == []


def test_episodes_with_rotations_still_draw_when_the_turned_copies_make_the_ways(flat, capsys):
    # 4 classes x 4 rotations = 16: the early check must count the turned copies as --rotations does
    assert main(["episodes", str(flat), *EPISODES, "--ways", "10", "--queries", "3", "--rotations",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["n_classes"] == 16


def test_episodes_with_a_model_trained_on_every_class_says_so(flat, tmp_path, capsys):
    # before: "No readable images in DATA" (with --rotations) or "found 0 ... add classes": both
    # false, the images are fine and the classes are there; the model has simply seen them all
    model = tmp_path / "plain"
    assert main(["train", str(flat), "--backbone", "test_tiny_conv", "--out", str(model)]) == 0
    capsys.readouterr()
    for extra in ([], ["--rotations"]):
        assert main(["episodes", str(flat), "--model", str(model), "--ways", "2", "--queries", "3",
                     "--episodes", "3", *extra]) == 2
        err = capsys.readouterr().err
        assert "All 4 classes of DATA were used to train the model" in err, err
        assert "Give DATA with other classes" in err  # the fix


def test_episodes_on_too_few_held_out_classes_names_eval_fraction(nested, capsys):
    # 12 classes, --eval-fraction 0.01 holds out 1: the fix is a larger fraction, not "add classes"
    assert main(["episodes", str(nested), "--nested", "--eval-fraction", "0.01", *EPISODES, "--ways", "2",
                 "--queries", "3"]) == 2
    err = capsys.readouterr().err
    assert "found 1" in err and "raise --eval-fraction" in err, err
    assert "(1 class)" in err  # not "1 classes"


def test_scan_many_warns_when_a_nested_tree_is_read_without_nested(nested, flat):
    # alphabet/character/*.png without --nested: each alphabet becomes one class, silently
    with pytest.warns(UserWarning, match="pass --nested"):
        examples, _ = scan_many([nested])
    assert len(examples.classes) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a flat tree, or the nested one read with --nested: no warning
        scan_many([flat])
        scan_many([nested], nested=True)


def test_episodes_cli_warns_on_a_nested_tree_read_without_nested(nested):
    with pytest.warns(UserWarning, match="Every class folder .* pass --nested"):
        assert main(["episodes", str(nested), *EPISODES, "--ways", "2", "--queries", "3"]) == 0


def test_class_folders_with_dated_sub_folders_and_loose_images_do_not_warn(tmp_path):
    # photos/cat/2019/x.png beside photos/cat/y.png is a plain class tree, not a nested one
    root = make_flat_glyphs(tmp_path / "mixed", n_chars=2, n_drawings=2)
    for c in range(2):
        (root / f"char{c}" / "2019").mkdir()
        draw_glyph(character_strokes(c), 9).save(root / f"char{c}" / "2019" / "x.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan_many([root])


def test_a_train_val_split_folder_does_not_warn_about_nesting(tmp_path):
    # splits/train/<class>/ and splits/val/<class>/ hold images two levels down too, but --nested
    # is not the fix there (train/blue and val/blue would become two classes)
    for split in ("train", "val"):
        make_flat_glyphs(tmp_path / "splits" / split, n_chars=2, n_drawings=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan_many([tmp_path / "splits"])


def test_a_lone_validation_class_is_trained_on_and_no_validation_score_is_saved(nested, tmp_path):
    # 12 classes x --val-fraction 0.1 sets apart 1 class: too few for validation episodes (they need 2),
    # so it was neither validated nor trained on, and model.json said best_val_accuracy 0.0
    logged: list[str] = []
    config = ProtoNetConfig(n_way=4, n_query=3, max_episodes=3, max_minutes=1.0)
    report = train_model([nested], tmp_path / "m", config, backbone="test_tiny_conv", nested=True,
                         log=logged.append)
    assert report["val_classes"] == [] and len(report["train_classes"]) == 12
    assert any("trained on instead" in line and "--val-fraction" in line for line in logged), logged
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert "best_val_accuracy" not in doc["metrics"]  # no validation ran: no score, not a 0% one


def test_protonet_train_cut_short_by_minutes_saves_a_usable_model_and_says_why(nested, tmp_path, capsys):
    out = tmp_path / "short"
    assert main(["protonet", "train", str(nested), "--nested", "--out", str(out), "--backbone", "test_tiny_conv",
                 "--ways", "4", "--queries", "3", "--minutes", "0.002", "--json"]) == 0
    captured = capsys.readouterr()
    assert "stopped by the --minutes budget" in captured.err, captured.err
    assert json.loads(captured.out.splitlines()[-1])["history"]["stopped_by"] == "time"
    # the model it saved answers from a support set
    support = tmp_path / "support"
    for char in ("character01", "character02"):
        (support / char).mkdir(parents=True)
        (support / char / "a.png").write_bytes((nested / "alphabet_A" / char / "00.png").read_bytes())
    query = nested / "alphabet_A" / "character02" / "05.png"
    assert main(["predict", str(out), str(query), "--support", str(support), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["predictions"][0]["label"] in {
        "character01", "character02"}
