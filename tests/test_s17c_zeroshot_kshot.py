"""``zeroshot`` and ``kshot`` as a new user meets them: class names in any order, a name given
twice, a broken image among good ones, and a k-shot table that says what it measured."""

import json

import pytest

import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
from handful.cli import main
from handful.errors import DataError
from handful.zeroshot import match_class_names, parse_class_list, scorer


@pytest.fixture
def tiny_text_names(monkeypatch):
    monkeypatch.setattr(scorer, "DEFAULT_TEXT_BACKBONE", "test_tiny_text")


@pytest.mark.parametrize("names, labels, expected", [
    # folders ants/bees, names in the other order: by sorted order ants got "honey bee" (4% on
    # hymenoptera where the names right way round give 96%)
    (["honey bee", "army ant"], ["ants", "bees"], {"ants": "army ant", "bees": "honey bee"}),
    (["white", "red"], ["red_wine", "white_wine"], {"red_wine": "red", "white_wine": "white"}),
    (["ant", "honey bee"], ["ants", "bees"], {"ants": "ant", "bees": "honey bee"}),
])
def test_class_names_sharing_a_word_with_a_label_go_to_that_label_in_any_order(names, labels,
                                                                               expected):
    assert match_class_names(names, labels) == expected


def test_names_sharing_a_word_with_every_label_still_fall_back_to_sorted_order():
    # "wine" is in both: no one-to-one match by word, so the documented order rule applies
    assert match_class_names(["wine b", "wine a"], ["red_wine", "white_wine"]) == {
        "red_wine": "wine b", "white_wine": "wine a"}


@pytest.mark.parametrize("text, twice", [("ant,ant,bee", "ant"), ("ant,Ant,bee", "Ant"),
                                         ("bee,honey_bee,honey bee", "honey bee")])
def test_a_class_named_twice_is_refused_naming_the_repeated_name(text, twice):
    # "Ant" and "ant" are one class to the matching and to the text encoder (tied scores)
    with pytest.raises(DataError, match=f"names the class '{twice}' more than once") as err:
        parse_class_list(text)
    assert "give each class once" in str(err.value)


def test_zeroshot_lists_a_broken_image_on_the_terminal(capsys, color_tree, tiny_text_names):
    (color_tree / "red" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    code = main(["zeroshot", str(color_tree), "--classes", "orange,broccoli,strawberry",
                 "--backbone", "test_imagenet_colors"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # it was only in the --json output; predict and suggest name such files on the terminal
    assert "broken.jpg" in captured.err and "Skipped 1 bad input" in captured.err


def test_kshot_table_names_the_backbone_and_head_and_the_prior_weight(capsys, color_splits,
                                                                      tiny_text_names):
    code = main(["kshot", str(color_splits / "train"), "--test", str(color_splits / "val"),
                 "--shots", "1,2", "--repeats", "3", "--backbone", "test_imagenet_colors",
                 "--head", "logistic", "--zero-shot-prior", "--classes", "orange,broccoli,strawberry",
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out.strip().splitlines()[-1])
    # a table copied from the terminal must say what it measured: it only said "K-shot accuracy"
    assert "backbone test_imagenet_colors" in captured.err and "head logistic" in captured.err
    assert "prior weight" in captured.err
    weights = out["shots"]["1"]["prior_weights"]
    median = sorted(weights)[1]
    assert f"{median:.3g}" in captured.err, "the column shows the median weight of the draws"


def test_kshot_with_the_auto_head_says_it_was_chosen_per_draw(capsys, color_splits):
    assert main(["kshot", str(color_splits / "train"), "--test", str(color_splits / "val"),
                 "--shots", "1", "--repeats", "2", "--backbone", "test_tiny_image"]) == 0
    captured = capsys.readouterr()
    shown = captured.out + captured.err  # without --json the table goes to stdout
    assert "head chosen by CV in each draw" in shown and "prior weight" not in shown
