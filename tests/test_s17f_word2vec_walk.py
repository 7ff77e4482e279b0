"""The word2vec text path walked as a new user: what it says about texts it cannot read, and
what `embed`, `kshot` and `train` say about where its vectors come from."""

import json
import warnings

import numpy as np
import pytest

from handful import Classifier, load
from handful.backbones import create_backbone
from handful.cli.main import main
from handful.data import read_table
from handful.text.prepare import prepare_for_kshot

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat"]
TOOLS = ["hammer", "saw", "drill", "wrench", "chisel", "pliers"]
NO_WORD = "no word the word2vec vectors know"


def topic_corpus(n: int = 80, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(ANIMALS if i % 2 else TOOLS, size=6)) for i in range(n)]


@pytest.fixture
def labeled(tmp_path):
    rows = [f"{' '.join(ANIMALS[i:i + 3])},animal" for i in range(3)]
    rows += [f"{' '.join(TOOLS[i:i + 3])},tool" for i in range(3)]
    data = tmp_path / "labeled.csv"
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    return data


@pytest.fixture
def more(tmp_path):
    path = tmp_path / "more.txt"
    path.write_text("\n".join(topic_corpus()) + "\n")
    return path


@pytest.mark.parametrize("text", ["😀😀😀", "!!! ???", "…"])
def test_word2vec_warns_about_a_text_with_no_words_at_all(text):
    # emoji or punctuation alone tokenize to nothing: embedded as zeros like an unknown word,
    # and predicted with a confident-looking probability; it was said only for unknown words
    backbone = create_backbone("word2vec", dim=8, epochs=2)
    backbone.fit_unlabeled(topic_corpus())
    with pytest.warns(UserWarning, match=NO_WORD):
        X = backbone.embed(["cat dog", text])
    assert not X[1].any()


def test_word2vec_still_warns_when_the_same_texts_are_predicted_again(tmp_path, labeled, more):
    # the first predict embedded the texts and warned; the second read them from the embedding
    # cache, so the backbone never ran and the warning vanished: word2vec is not cached
    assert main(["train", str(labeled), "--out", str(tmp_path / "m"), "--backbone", "word2vec",
                 "--unlabeled", str(more), "--head", "prototype", "--no-advise"]) == 0
    model = load(tmp_path / "m")  # with the (per-test) embedding cache on
    for _ in range(2):
        with pytest.warns(UserWarning, match=NO_WORD):
            model.predict(["zzz qqq", "cat dog"])


def test_embed_with_an_untrained_word2vec_names_the_fix_and_writes_nothing(tmp_path, capsys):
    texts = tmp_path / "texts.csv"
    texts.write_text("text\ncat dog\nsaw drill\n")
    out = tmp_path / "X.npy"
    code = main(["embed", str(texts), "--out", str(out), "--backbone", "word2vec", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    message = json.loads(captured.out.strip().splitlines()[-1])["error"]
    assert "--model MODEL" in message and "--unlabeled" in message  # the way to get vectors to embed with
    assert list(tmp_path.iterdir()) == [texts]  # it left an empty X.npy, X.index.csv, X.meta.json


def test_embed_with_a_trained_word2vec_model_works(tmp_path, labeled, more, capsys):
    assert main(["train", str(labeled), "--out", str(tmp_path / "m"), "--backbone", "word2vec",
                 "--unlabeled", str(more), "--head", "prototype", "--no-advise"]) == 0
    out = tmp_path / "X.npy"
    assert main(["embed", str(labeled), "--out", str(out), "--model", str(tmp_path / "m")]) == 0
    X = np.load(out)
    assert X.shape == (6, 64) and np.isfinite(X).all() and np.abs(X).sum(axis=1).min() > 0


def test_kshot_with_word2vec_and_no_unlabeled_text_says_it_learns_from_the_pool(labeled, more):
    # `train` warned that word2vec learned only from the labeled texts; `kshot` said nothing
    pool = read_table(labeled)
    clf = Classifier(backbone="word2vec", head="prototype", cache=False)
    with pytest.warns(UserWarning, match="only from the pool's 6 texts.*--unlabeled"):
        prepare_for_kshot(clf, pool, False, 0, None)
    clf = Classifier(backbone="word2vec", head="prototype", cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # given unlabeled text: nothing to say
        _, report = prepare_for_kshot(clf, pool, False, 0, more)
    assert report["n_unlabeled"] == 80


def test_train_says_how_many_of_word2vecs_texts_were_unlabeled_and_labeled(tmp_path, labeled, more,
                                                                           capsys):
    # "80 words from 86 texts" read as if more.txt had 86 lines; the labeled texts join in
    assert main(["train", str(labeled), "--out", str(tmp_path / "m"), "--backbone", "word2vec",
                 "--unlabeled", str(more), "--head", "prototype", "--no-advise"]) == 0
    assert "from 86 texts (80 unlabeled + 6 labeled, their labels unused;" in capsys.readouterr().out
