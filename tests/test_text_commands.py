"""A text table goes through every command the images go through: train, predict, evaluate,
kshot, advise and zeroshot, with awkward input (latin-1, BOM, labels with spaces/accents)."""

import json

import numpy as np
import pytest

from handful.cli import main
from handful.data import read_table

SPORTS = ["the team won the match", "a great goal in the final game", "the player scored twice",
          "the coach praised the team", "fans cheered the winning goal", "match ended in a draw",
          "the striker missed a penalty", "the referee stopped the game"]
COOKING = ["bake the bread in the oven", "add salt to the soup", "the recipe needs fresh basil",
           "stir the sauce slowly", "the cake needs sugar and flour", "chop onions for the soup",
           "roast the garlic in butter", "simmer the stew for an hour"]
# labels with a space and non-ASCII characters; the file is latin-1 with a BOM-free header
LABELS = ("équipe sportive", "cuisine française")


def run_json(capsys, argv) -> dict:
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


@pytest.fixture
def latin1_tsv(tmp_path):
    path = tmp_path / "topics.tsv"
    rows = [f"{t}\t{LABELS[0]}" for t in SPORTS] + [f"{t}\t{LABELS[1]}" for t in COOKING]
    path.write_bytes(("text\tlabel\n" + "\n".join(rows) + "\n").encode("latin-1"))
    return path


def test_latin1_table_is_read_with_a_warning_and_accents_kept(latin1_tsv):
    with pytest.warns(UserWarning, match="not valid UTF-8; read it as latin-1"):
        examples = read_table(latin1_tsv)
    assert examples.classes == tuple(sorted(LABELS))  # é and ç decoded, spaces kept
    assert len(examples) == 16


def test_bom_csv_with_quoted_and_unquoted_rows_reads_the_same_texts(tmp_path):
    # the BOM must not turn the header into "\ufefftext" (then no text column is found)
    path = tmp_path / "mixed.csv"
    path.write_bytes('text,label\n"quoted, with comma",a\nplain,b\n'.encode("utf-8-sig"))
    examples = read_table(path)
    assert examples.items == ("quoted, with comma", "plain") and examples.labels == ("a", "b")


def test_text_table_through_train_evaluate_predict(capsys, latin1_tsv, tmp_path):
    model = tmp_path / "m"
    with pytest.warns(UserWarning, match="read it as latin-1"):  # the CLI prints it on stderr
        trained = run_json(capsys, ["train", str(latin1_tsv), "--out", str(model),
                                    "--backbone", "test_tiny_text", "--head", "logistic"])
    assert trained["classes"] == sorted(LABELS)
    # the two topics share no content word: a bag-of-words backbone separates them
    report = run_json(capsys, ["evaluate", str(model), str(latin1_tsv)])
    assert report["accuracy"] == 1.0 and report["n"] == 16
    assert set(report["per_class"]) == set(LABELS)
    predicted = run_json(capsys, ["predict", str(model), "the goal won the game",
                                  "salt the soup and the stew"])
    assert [p["label"] for p in predicted["predictions"]] == list(LABELS)


def test_text_table_through_kshot(capsys, latin1_tsv):
    out = run_json(capsys, ["kshot", str(latin1_tsv), "--test", str(latin1_tsv), "--shots", "1,3",
                            "--repeats", "3", "--backbone", "test_tiny_text", "--head", "prototype"])
    assert set(out["shots"]) == {"1", "3"}
    assert out["n_test"] == 16
    assert out["shots"]["3"]["mean"] >= 0.75  # 3 per class of separable topics: mostly right


def test_text_table_through_advise(capsys, latin1_tsv, tmp_path):
    out = run_json(capsys, ["advise", str(latin1_tsv), "--out", str(tmp_path / "adv"),
                            "--backbone", "test_tiny_text", "--repeats", "2"])
    assert out["sentence"]  # advice in words, as for images
    assert (tmp_path / "adv" / "advice.json").is_file()


def test_text_table_through_zeroshot_with_labels_as_class_names(capsys, tmp_path):
    path = tmp_path / "zs.csv"
    rows = ["text,label"] + [f"{t},sports" for t in SPORTS[:3]] + [f"{t},cooking" for t in COOKING[:3]]
    path.write_text("\n".join(rows) + "\n")
    out = run_json(capsys, ["zeroshot", str(path), "--backbone", "test_tiny_text"])
    assert out["n"] == 6 and 0.0 <= out["accuracy"] <= 1.0


def test_empty_and_too_long_texts_are_reported_by_train(capsys, tmp_path):
    path = tmp_path / "gaps.csv"
    long_text = "goal " * 5000  # 25,000 characters: cut to 20,000 with a notice
    rows = ["text,label", '"",sports', f"{long_text},sports"] + [f"{t},sports" for t in SPORTS[:3]]
    rows += [f"{t},cooking" for t in COOKING[:4]]
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match="1 text longer than 20000 characters was truncated"):
        out = run_json(capsys, ["train", str(path), "--out", str(tmp_path / "m"),
                                "--backbone", "test_tiny_text", "--head", "logistic"])
    assert out["n_train"] == 8  # the long text is kept (cut), the empty one is not
    assert out["skipped"] == [{"path": "gaps.csv:2", "reason": "empty text"}]


def test_python_predict_gives_none_for_an_empty_text_as_the_cli_skips_it(text_csv):
    from handful import Classifier

    clf = Classifier(backbone="test_tiny_text", head="logistic").fit(text_csv)
    labels = clf.predict(["", "   ", "the team won the match"])
    assert labels[:2] == [None, None] and labels[2] == "sports"  # None: unusable, as for a broken file
    assert np.isnan(clf.predict_proba([""])).all()


def test_kshot_warns_when_the_test_set_repeats_texts_of_the_pool(capsys, latin1_tsv):
    # scoring on the texts a draw was fitted on inflates the accuracy: the user must hear of it
    with pytest.warns(UserWarning, match="16 of the 16 test items are also in the pool"):
        run_json(capsys, ["kshot", str(latin1_tsv), "--test", str(latin1_tsv), "--shots", "1",
                          "--repeats", "1", "--backbone", "test_tiny_text", "--head", "prototype"])


def test_train_warns_when_one_text_is_labeled_two_ways(capsys, tmp_path):
    # the copies cannot be told apart, and cross-validation scores each with the other trained on
    path = tmp_path / "clash.csv"
    rows = ["text,label"] + [f"{t},sports" for t in SPORTS] + [f"{t},cooking" for t in COOKING]
    rows.append("The team  won the match,cooking")  # same text, other case and spacing
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"1 text\(s\) in .*clash.csv appear under more than one label "
                                         r"\(e.g. 'the team won the match': cooking, sports\)"):
        run_json(capsys, ["train", str(path), "--out", str(tmp_path / "m"),
                          "--backbone", "test_tiny_text", "--head", "logistic"])


def test_distinct_texts_train_without_a_label_warning(capsys, recwarn, latin1_tsv, tmp_path):
    run_json(capsys, ["train", str(latin1_tsv), "--out", str(tmp_path / "m"),
                      "--backbone", "test_tiny_text", "--head", "logistic"])
    assert not [w for w in recwarn if "more than one label" in str(w.message)]
    assert any("latin-1" in str(w.message) for w in recwarn)  # the recorder does see warnings


def test_a_typed_text_longer_than_a_file_name_can_be_is_predicted_and_embedded(capsys, latin1_tsv,
                                                                               tmp_path):
    # a review paragraph of ~300 bytes crashed predict and embed: Path(text).is_file() raised
    # 'File name too long' (ENAMETOOLONG) while asking whether the text named a file
    long_text = "the team won the match and the fans cheered the winning goal " * 5
    assert len(long_text.encode()) > 255
    model = tmp_path / "m"
    with pytest.warns(UserWarning, match="read it as latin-1"):
        run_json(capsys, ["train", str(latin1_tsv), "--out", str(model), "--backbone", "test_tiny_text",
                          "--head", "logistic", "--no-advise"])
    predicted = run_json(capsys, ["predict", str(model), long_text, "add salt to the soup"])
    assert [p["label"] for p in predicted["predictions"]] == list(LABELS)
    embedded = run_json(capsys, ["embed", long_text, "--backbone", "test_tiny_text", "--out",
                                 str(tmp_path / "X.npy")])
    assert embedded["n"] == 1 and np.load(tmp_path / "X.npy").shape[0] == 1
