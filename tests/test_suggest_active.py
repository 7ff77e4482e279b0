"""Which examples to label next: uncertain first, no near-duplicates; ``handful suggest``."""

import csv
import json
import shutil

import numpy as np
import pytest

from conftest import make_color_image
from handful import Classifier
from handful.cli import main
from handful.select.active import margin_uncertainty, rank_for_labeling


def test_margin_uncertainty_is_one_for_a_tie_and_zero_for_certainty():
    proba = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.6, 0.3, 0.1]])
    np.testing.assert_allclose(margin_uncertainty(proba), [1.0, 0.0, 0.7])


def test_ranking_prefers_uncertain_items_and_skips_near_duplicates():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (30, 16))
    X[1] = X[0] + 1e-4  # a near-copy of item 0
    proba = np.tile([0.95, 0.05], (30, 1))
    proba[[0, 1, 2]] = [[0.5, 0.5], [0.5, 0.5], [0.55, 0.45]]  # the three unsure ones
    ranked = rank_for_labeling(X, proba, 3)
    assert ranked[0] in (0, 1) and 2 in ranked
    assert not {0, 1} <= set(ranked)  # never both copies


def test_suggest_writes_the_list_and_a_contact_sheet(capsys, color_tree, tmp_path):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    inbox = tmp_path / "inbox"
    for i in range(4):  # purple sits between red and blue: the model should be unsure
        make_color_image(inbox / f"purple_{i}.png", (130, 30, 130), 100 + i)
        make_color_image(inbox / f"red_{i}.png", (220, 30, 30), 200 + i)
    shutil.copy(inbox / "purple_0.png", inbox / "purple_copy.png")
    (inbox / "broken.jpg").write_bytes(b"not an image")
    # purple is also unlike the training colours, which suggest ranks last by default
    code = main(["suggest", str(tmp_path / "m"), str(inbox), "--n", "3", "--mix-unfamiliar",
                 "--out", str(tmp_path / "s"), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    picked = [r["input"].rsplit("/", 1)[-1] for r in out["suggestions"]]
    assert len(picked) == 3 and picked[0].startswith("purple")
    assert not {"purple_0.png", "purple_copy.png"} <= set(picked)  # identical images
    assert [s["path"].rsplit("/", 1)[-1] for s in out["skipped"]] == ["broken.jpg"]
    for name in ("suggestions.csv", "suggestions.json", "contact_sheet.png"):
        assert (tmp_path / "s" / name).is_file()


def test_suggest_on_texts_ranks_the_ambiguous_sentence_first_and_writes_no_sheet(capsys, text_csv,
                                                                                 tmp_path):
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "m")
    inbox = tmp_path / "inbox.txt"  # one text per line; the mixed one shares both vocabularies
    # (texts not in the training CSV: a copy of a training text is not ranked, its label is known)
    inbox.write_text("the team won the match again\nthe team ate soup in the oven before the match\n"
                     "bake the bread in the oven today\n")
    assert main(["suggest", str(tmp_path / "m"), str(inbox), "--n", "1",
                 "--out", str(tmp_path / "s"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n_unlabeled"] == 3 and len(out["suggestions"]) == 1
    assert out["suggestions"][0]["input"].endswith(":2")  # the mixed sentence, not a clear one
    # the text itself is in the list: a line number alone sends the user back to the file
    assert out["suggestions"][0]["text"] == "the team ate soup in the oven before the match"
    assert "contact_sheet" not in out["files"]  # no pictures to show for texts
    with open(tmp_path / "s" / "suggestions.csv", newline="") as handle:
        assert next(csv.DictReader(handle))["text"] == "the team ate soup in the oven before the match"


def test_suggest_on_texts_shows_the_texts_in_the_table(capsys, text_csv, tmp_path):
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "m")
    inbox = tmp_path / "inbox.txt"
    inbox.write_text("the team ate soup in the oven before the match\n")
    assert main(["suggest", str(tmp_path / "m"), str(inbox), "--out", str(tmp_path / "s")]) == 0
    assert "ate soup in the oven" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--n", "0"], "--n must be >= 1"),
    ([], "give a CSV/TSV or .txt"),
])
def test_suggest_user_errors_are_one_line_that_names_the_fix(capsys, text_csv, color_tree, tmp_path,
                                                            argv, message):
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "m")
    assert main(["suggest", str(tmp_path / "m"), str(color_tree), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_suggest_on_a_missing_table_says_it_does_not_exist(capsys, text_csv, tmp_path):
    Classifier("test_tiny_text", head="prototype").fit(text_csv).save(tmp_path / "m")
    missing = tmp_path / "inbox.csv"
    assert main(["suggest", str(tmp_path / "m"), str(missing), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0] and "does not exist" in err[0], err
