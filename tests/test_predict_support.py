"""predict --support: a nested support tree (--nested), and an --out file held to its support set."""

import json
import shutil
from pathlib import Path

import pytest

from conftest import make_color_image, make_color_tree
from handful import Classifier, load
from handful.cli import main

LEAVES = {"red": "warm", "green": "cool", "blue": "cool"}  # leaf class -> its parent folder


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


@pytest.fixture
def model(color_tree, tmp_path) -> str:
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    return str(tmp_path / "m")


@pytest.fixture
def nested_support(tmp_path) -> Path:
    """support/warm/red, support/cool/green, support/cool/blue: 2 images per leaf, as Omniglot's
    alphabet/character/ tree."""
    flat = make_color_tree(tmp_path / "flat", 2, seed=3)
    root = tmp_path / "support"
    for leaf, parent in LEAVES.items():
        (root / parent).mkdir(parents=True, exist_ok=True)
        (flat / leaf).rename(root / parent / leaf)
    return root


@pytest.fixture
def queries(tmp_path) -> Path:
    return make_color_tree(tmp_path / "queries", 2, seed=4)


def test_predict_reads_a_nested_support_tree_with_leaf_folders_as_classes(capsys, model, nested_support,
                                                                          queries):
    result = run_json(capsys, ["predict", model, str(queries), "--support", str(nested_support), "--nested"])
    labels = {Path(r["input"]).parent.name: r["label"] for r in result["predictions"]}
    # each query is answered by its own leaf (colors are separable), named by its path in the tree
    assert labels == {leaf: f"{parent}/{leaf}" for leaf, parent in LEAVES.items()}


def test_without_nested_the_top_folders_are_the_classes(capsys, model, nested_support, queries):
    result = run_json(capsys, ["predict", model, str(queries), "--support", str(nested_support)])
    assert {r["label"] for r in result["predictions"]} <= {"warm", "cool"}


def test_nested_without_a_support_set_is_refused(capsys, model, queries):
    assert main(["predict", model, str(queries), "--nested"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--nested" in err[0] and "--support" in err[0]


def test_python_fit_support_reads_a_nested_tree(model, nested_support, queries):
    clf = load(model).fit_support(nested_support, nested=True)
    assert list(clf.classes_) == ["cool/blue", "cool/green", "warm/red"]
    assert clf.predict([str(queries / "red" / "red_0.jpg")]) == ["warm/red"]


def test_an_out_file_is_held_to_its_support_set(capsys, model, nested_support, queries, tmp_path):
    # a re-run with another support set resumed: rows over two class lists in one file
    out = tmp_path / "preds.csv"
    nested = ["--support", str(nested_support), "--nested"]
    run_json(capsys, ["predict", model, str(queries), "--out", str(out), *nested])
    for argv in (["--support", str(nested_support)],  # same folder read flat: other classes
                 []):  # no support set: the model's own classes
        assert main(["predict", model, str(queries), "--out", str(out), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "support" in err[0] and "another --out" in err[0], err
    shutil.copytree(nested_support, tmp_path / "copy")  # the same examples elsewhere: same set
    again = run_json(capsys, ["predict", model, str(queries), "--out", str(out), "--support",
                              str(tmp_path / "copy"), "--nested"])
    assert again["n_resumed"] == 6
    make_color_tree(tmp_path / "more", 1, classes=("red",), seed=9)
    shutil.move(tmp_path / "more" / "red" / "red_0.jpg", nested_support / "warm" / "red" / "new.jpg")
    assert main(["predict", model, str(queries), "--out", str(out), *nested]) == 2  # one more example
    assert "changed" in capsys.readouterr().err


@pytest.fixture
def euclidean_model(color_tree, tmp_path) -> str:
    """A prototype model with the euclidean metric: a support set's means can be refined."""
    Classifier("test_tiny_image", head="prototype", head_params={"metric": "euclidean"}).fit(color_tree).save(
        tmp_path / "euclidean")
    return str(tmp_path / "euclidean")


@pytest.fixture
def purple_queries(tmp_path) -> Path:
    """Queries from red to blue through purple: where the refined means fall moves their answers."""
    mix = [(220, 30, 30), (150, 30, 120), (120, 30, 150), (90, 60, 180), (40, 60, 220), (30, 200, 60)]
    for i, color in enumerate(mix):
        make_color_image(tmp_path / "purple" / f"q{i}.png", color, 50 + i)
    return tmp_path / "purple"


def transductive_argv(model, queries: Path, tmp_path: Path, out: Path) -> list[str]:
    """``predict MODEL QUERIES --support S --transductive --out OUT`` with a one-per-class support set."""
    return ["predict", model, str(queries), "--support", str(make_color_tree(tmp_path / "support", 1, seed=3)),
            "--transductive", "--out", str(out)]


def test_a_resumed_transductive_run_writes_the_rows_a_fresh_run_writes(capsys, euclidean_model, purple_queries,
                                                                        tmp_path):
    out = tmp_path / "preds.csv"
    argv = transductive_argv(euclidean_model, purple_queries, tmp_path, out)
    run_json(capsys, argv)
    fresh = out.read_text().splitlines()
    out.write_text("\n".join(fresh[:3]) + "\n")  # killed after the header and two rows
    again = run_json(capsys, argv)
    # the other 4 were refined with those 4 alone, so their probabilities differed from the fresh run's
    assert (again["n_resumed"], again["n"]) == (2, 4)
    assert out.read_text().splitlines() == fresh
    done = run_json(capsys, argv)  # all answered: nothing to refine or write
    assert (done["n_resumed"], done["n"]) == (6, 0) and out.read_text().splitlines() == fresh


def test_a_transductive_out_file_is_not_extended_with_another_batch(capsys, euclidean_model, purple_queries,
                                                                     tmp_path):
    out = tmp_path / "preds.csv"
    argv = transductive_argv(euclidean_model, purple_queries, tmp_path, out)
    run_json(capsys, argv)
    make_color_image(purple_queries / "q9.png", (130, 30, 140), 99)  # one more query: another batch
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another batch of 6 inputs" in err[0] and "--overwrite" in err[0], err
    assert len(out.read_text().splitlines()) == 7  # the file is left as it was
    (tmp_path / "preds.csv.json").unlink()  # a file from before runs were recorded: its batch is unknown
    with pytest.warns(UserWarning, match="no record"):
        assert main(argv) == 2
    assert "another batch of inputs" in capsys.readouterr().err
    assert run_json(capsys, [*argv, "--overwrite"])["n"] == 7
