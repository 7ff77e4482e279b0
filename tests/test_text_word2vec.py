"""Skip-gram word2vec on the user's unlabeled text, as a backbone that travels with the model."""

import json

import numpy as np
import pytest

from handful import load
from handful.backbones import create_backbone, list_backbones
from handful.cli.main import main
from handful.errors import DataError, NotFittedError
from handful.text.word2vec import tokenize_words, train_word2vec

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat"]
TOOLS = ["hammer", "saw", "drill", "wrench", "chisel", "pliers"]


def topic_corpus(n: int = 300, seed: int = 0) -> list[str]:
    """Sentences that mix words of one topic only: words of a topic share their contexts."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(ANIMALS if i % 2 else TOOLS, size=6)) for i in range(n)]


@pytest.mark.parametrize("text,words", [
    ("Don't STOP, it's great!", ["don't", "stop", "it's", "great"]),
    ("Çà et là — naïve café_au_lait", ["çà", "et", "là", "naïve", "café", "au", "lait"]),
    ("tokyo 東京 2024", ["tokyo", "東京", "2024"]),
    ("...", []),
])
def test_tokenize_words_keeps_letters_of_any_script_and_inner_apostrophes(text, words):
    assert tokenize_words(text) == words


def test_word2vec_puts_words_that_share_contexts_together():
    # 12 words: no subsampling of "frequent" words (all are), a few passes at a brisk rate
    vocab, vectors, stats = train_word2vec(topic_corpus(), dim=16, epochs=5, subsample=1.0,
                                           learning_rate=0.05)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    index = {w: i for i, w in enumerate(vocab)}
    topic = np.array([w in ANIMALS for w in vocab])
    cos = unit @ unit.T
    within = cos[np.ix_(topic, topic)][~np.eye(topic.sum(), dtype=bool)].mean()
    across = cos[np.ix_(topic, ~topic)].mean()
    assert within > across + 0.3  # the skip-gram objective, on a corpus built to show it
    assert stats["n_words"] == 12 and set(index) == set(ANIMALS + TOOLS)


def test_word2vec_is_reproducible_from_the_seed():
    first = train_word2vec(topic_corpus(60), dim=8, epochs=2, seed=1)[1]
    second = train_word2vec(topic_corpus(60), dim=8, epochs=2, seed=1)[1]
    assert np.array_equal(first, second)


def test_word2vec_needs_some_words():
    with pytest.raises(DataError, match="--unlabeled"):
        train_word2vec(["!!!", "..."])


def test_word2vec_backbone_is_registered_and_empty_until_trained():
    assert "word2vec" in list_backbones(modality="text")
    backbone = create_backbone("word2vec")
    with pytest.raises(NotFittedError, match="--unlabeled"):
        backbone.embed(["anything"])


def test_word2vec_sentence_is_the_mean_of_its_known_words():
    backbone = create_backbone("word2vec", dim=8, epochs=2)
    backbone.fit_unlabeled(topic_corpus(60))
    vectors = backbone.module.vectors.detach().numpy()
    index = {w: i for i, w in enumerate(backbone.vocab)}
    with pytest.warns(UserWarning, match="no word the word2vec vectors know"):
        X = backbone.embed(["cat dog unknownword", "zzz qqq"])  # said: the 2nd answer means nothing
    assert X.dtype == np.float32 and X.shape == (2, 8)
    assert np.allclose(X[0], (vectors[index["cat"]] + vectors[index["dog"]]) / 2)
    assert not X[1].any()  # no known word: a zero vector, not a failure
    assert backbone.info.weights.startswith("tuned-")  # a new fingerprint for the cache


def test_word2vec_is_silent_when_every_text_has_a_known_word(recwarn):
    backbone = create_backbone("word2vec", dim=8, epochs=2)
    backbone.fit_unlabeled(topic_corpus(60))
    backbone.embed(["cat dog unknownword", "saw", ""])  # an empty text is skipped before, not a gap
    assert not [w for w in recwarn if "word2vec" in str(w.message)]


def test_train_word2vec_with_unlabeled_then_predict_from_the_saved_model(tmp_path, capsys):
    more = tmp_path / "more.txt"
    more.write_text("\n".join(topic_corpus(200)) + "\n")
    data = tmp_path / "labeled.csv"
    rows = [f"{' '.join(ANIMALS[i:i + 3])},animal" for i in range(3)]
    rows += [f"{' '.join(TOOLS[i:i + 3])},tool" for i in range(3)]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    code = main(["train", str(data), "--out", str(tmp_path / "m"), "--backbone", "word2vec",
                 "--unlabeled", str(more), "--head", "prototype", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert result["word2vec"]["n_texts"] == 206 and result["n_unlabeled"] == 200
    vocab = json.loads((tmp_path / "m" / "vocab.json").read_text())["vocab"]
    assert set(vocab) == set(ANIMALS + TOOLS)
    assert (tmp_path / "m" / "backbone.safetensors").is_file()

    model = load(tmp_path / "m", cache=False)
    assert model.predict(["goat sheep cow", "pliers drill saw"]) == ["animal", "tool"]
    code = main(["predict", str(tmp_path / "m"), "horse cat", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"][0][
        "label"] == "animal"


def test_damaged_vocabulary_is_reported_as_a_bundle_error(tmp_path):
    from handful import Classifier
    from handful.errors import BundleError

    data = tmp_path / "d.csv"
    data.write_text("text,label\ncat dog,animal\nhammer saw,tool\n")
    clf = Classifier(backbone="word2vec", head="prototype", cache=False)
    clf.backbone_for("text").fit_unlabeled(topic_corpus(40))
    clf.fit(data)
    clf.save(tmp_path / "m")
    (tmp_path / "m" / "vocab.json").write_text("{not json")
    with pytest.raises(BundleError, match="Re-train"):
        load(tmp_path / "m")


@pytest.mark.parametrize("make, said", [
    (lambda p: p.mkdir(), "is a folder"),  # it said the table "does not exist"
    (lambda p: None, "does not exist"),
    (lambda p: p.write_text(""), "has no texts"),  # it asked for "rows of text and label"
    (lambda p: p.write_text("x,y\n1,2\n"), "column named 'text'"),  # it named --text-column,
])                                                                    # which is for the labeled table
def test_a_bad_unlabeled_file_is_one_line_that_says_what_it_needs(tmp_path, capsys, make, said):
    data = tmp_path / "labeled.csv"
    data.write_text("text,label\ncat dog,animal\nhammer saw,tool\n")
    unlabeled = tmp_path / ("more.csv" if said.startswith("column") else "more.txt")
    make(unlabeled)
    code = main(["train", str(data), "--out", str(tmp_path / "m"), "--backbone", "word2vec",
                 "--unlabeled", str(unlabeled)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"--unlabeled '{unlabeled}'" in err[0] and said in err[0]
    assert "one text per line" in err[0] and "and label" not in err[0] and "--text-column" not in err[0]
