"""Issue 5's few-shot tools walked as a new user: the messages of the odd turns a user takes
(transductive on a model that is not a ProtoNet, a split that is not the model's, more --ways than
there are classes, a runs folder with a broken run) say what happened and the fix that works."""

import json
import shutil
from pathlib import Path

import pytest

import handful
from fewshot_glyphs import make_glyph_tree, make_runs
from handful.cli.main import main
from handful.errors import DataError
from handful.fewshot.episodes import EpisodeSampler


def train_args(ways: int = 5) -> list[str]:
    return ["--backbone", "test_tiny_conv", "--nested", "--split-by-parent", "--ways", str(ways), "--queries",
            "3", "--episodes", "5", "--minutes", "1", "--val-fraction", "0"]


@pytest.fixture(scope="module")
def glyphs(tmp_path_factory) -> Path:
    """3 alphabets x 4 characters x 8 drawings; --split-by-parent holds out 1 alphabet (4 classes)."""
    return make_glyph_tree(tmp_path_factory.mktemp("walk") / "bg", n_alphabets=3, n_chars=4, n_drawings=8)


@pytest.fixture(scope="module")
def protonet(glyphs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "protonet"
    assert main(["protonet", "train", str(glyphs), "--out", str(out), *train_args()]) == 0
    return out


@pytest.fixture(scope="module")
def support(glyphs, tmp_path_factory) -> tuple[Path, list[str]]:
    """support/<character>/00.png (one drawing each) of the first alphabet, and 2 queries per class."""
    root = tmp_path_factory.mktemp("support")
    queries = []
    for char in sorted((glyphs / "alphabet_A").iterdir()):
        (root / "support" / char.name).mkdir(parents=True)
        shutil.copy(char / "00.png", root / "support" / char.name / "00.png")
        queries += [str(char / "01.png"), str(char / "02.png")]
    return root / "support", queries


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_transductive_on_a_model_that_is_not_a_protonet_says_to_drop_it_not_to_pass_support(
        glyphs, support, tmp_path, capsys):
    # before: "... Pass --support DIR ..." to a user who had passed --support: the model is the
    # problem (a cosine PrototypeHead after fit_support), and no support set can fix that
    model = tmp_path / "plain"
    handful.Classifier("test_tiny_conv", head="logistic").fit(str(glyphs / "alphabet_B")).save(model)
    clf = handful.load(model).fit_support(str(support[0]))
    with pytest.raises(DataError, match="this model compares cosine prototypes") as err:
        clf.predict(support[1], transductive=True)
    assert "Pass --support" not in str(err.value) and "Drop --transductive" in str(err.value)
    assert main(["predict", str(model), *support[1], "--support", str(support[0]), "--transductive"]) == 2
    out = capsys.readouterr().err
    assert "Drop --transductive" in out and "Pass --support" not in out, out


def test_transductive_on_a_protonet_without_a_support_set_still_asks_for_one(protonet, support):
    # the other cause keeps its own fix: the ProtoNet model is right, the support set is missing
    clf = handful.load(protonet)
    with pytest.raises(DataError, match=r"not been fitted on one\. Pass --support DIR"):
        clf.predict(support[1], transductive=True)
    assert len(clf.fit_support(str(support[0])).predict(support[1], transductive=True)) == 8


def test_a_split_that_takes_in_trained_classes_names_how_the_model_was_split(protonet, glyphs, capsys):
    # before: "Use the same --eval-fraction, --split-by-parent and --seed": a user who did so with
    # other DATA (Omniglot's small1 alone) had no way to see what differs; the model records it
    assert main(["episodes", str(glyphs), "--nested", "--split-by-parent", "--eval-fraction", "0.67",
                 "--model", str(protonet), "--ways", "2", "--queries", "3", "--episodes", "2"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    trained = json.loads((protonet / "model.json").read_text())["fewshot"]
    held = sorted({c.split("/")[0] for c in trained["heldout_classes"]})
    assert f"read {glyphs} with --split-by-parent --seed 0 and held out parents {held[0]}" in err, err
    # the other fix that works: the classes of DATA the model never saw (its held-out alphabet)
    assert "drop --split-by-parent and --eval-fraction to draw from the 4 classes" in err, err
    assert main(["episodes", str(glyphs), "--nested", "--model", str(protonet), "--ways", "2",
                 "--queries", "3", "--episodes", "2", "--json"]) == 0
    assert last_json(capsys)["n_classes"] == 4


def test_too_few_held_out_classes_for_a_model_do_not_call_for_a_larger_eval_fraction(protonet, glyphs, capsys):
    # before: "raise --eval-fraction", which then fails: a larger fraction holds out trained classes
    args = ["episodes", str(glyphs), "--nested", "--split-by-parent", "--model", str(protonet), "--queries", "3",
            "--episodes", "2"]
    assert main([*args, "--ways", "5"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "found 4" in err and "lower --ways" in err and "raise --eval-fraction" not in err, err
    assert main([*args, "--ways", "2", "--eval-fraction", "0.67"]) == 2  # the advice it used to give fails
    assert "The model was trained on" in capsys.readouterr().err


@pytest.mark.parametrize(("shots", "queries", "match"), [
    (1, 15, r"\(1 shot \+ 15 queries\); found 0, and 3 with fewer \(at most 8\)\."),
    (2, 1, r"\(2 shots \+ 1 query\); found 3\."),  # enough examples, too few classes: no size to name
])
def test_an_episode_shape_too_big_names_the_class_size_that_bounds_it(shots, queries, match):
    # before: "found 0, 3 more have fewer examples": neither the largest class nor the grammar
    labels = [c for c in "abc" for _ in range(8)]
    with pytest.raises(DataError, match=match):
        EpisodeSampler(labels, 5 if queries == 1 else 2, shots, queries)


def test_omniglot_runs_with_a_broken_run_says_the_error_is_over_fewer_runs(tmp_path, capsys):
    # before: "Overall error ... (2 runs)" beside the published errors over all 20, no word that a run
    # was left out; and "1 runs"
    runs = make_runs(tmp_path / "runs", n_runs=2, n_classes=5)
    (runs / "run02" / "training" / "class03.png").unlink()
    assert main(["omniglot-runs", str(runs), "--backbone", "test_tiny_conv"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "/5, 1 run);" in out and "1 run was skipped (listed below), so this error is over 1 of 2 runs" in out
    assert main(["omniglot-runs", str(runs), "--backbone", "test_tiny_conv", "--json"]) == 0
    result = last_json(capsys)
    assert (result["n_runs"], result["n_runs_skipped"], result["n"]) == (1, 1, 5)


def test_protonet_train_with_more_ways_than_classes_says_how_many_it_trains(glyphs, tmp_path, capsys):
    # before: --ways 100 on 8 training classes trained 32-way episodes without a word
    out = tmp_path / "wide"
    assert main(["protonet", "train", str(glyphs), "--out", str(out), *train_args(ways=100), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    n_ways = 4 * len(result["train_classes"])  # each class in 4 rotations, all with 1 + 3 drawings
    assert result["episode_ways"] == n_ways < 100
    assert f"Training episodes are {n_ways}-way, not --ways 100" in captured.err
